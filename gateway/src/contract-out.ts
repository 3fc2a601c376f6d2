import {
  decodeMessage,
  MESSAGE_KINDS,
  stationTopic,
  type MessageKind,
  type PayloadByKind,
} from '@evmon/contracts'
import type { MqttClient } from 'mqtt'
import type { Metrics } from './metrics.ts'

/** Publishes the broker has not acknowledged yet, shared by every publisher on the one connection. */
interface Backlog {
  queued: number
  full: boolean
}

/**
 * Publishes contract messages on the gateway's broker connection. Each message is checked by the same
 * decoder ingest uses before it leaves: one that would be rejected downstream (a bug here, or a
 * description in the sites file that breaks the contract) is counted and logged, never published.
 *
 * While the broker is away, publishes wait in mqtt.js's queue until it acknowledges them; `full` says
 * that `maxQueued` of them are waiting, so the gateway takes in no more (gateway/README.md, "Broker
 * unavailable"). Telemetry samples are then not taken (the readings stay held for the next sample), and
 * a `dropping` publisher — the proxy's, whose chargers the gateway cannot hold back — drops its
 * messages, each counted.
 */
export class ContractOut {
  private dropper?: ContractOut
  constructor(
    private readonly client: MqttClient,
    private readonly metrics: Metrics,
    private readonly log: (line: string) => void,
    readonly maxQueued: number,
    private readonly backlog: Backlog = { queued: 0, full: false },
    private readonly dropWhenFull = false,
  ) {}

  /** Publishes waiting for the broker's acknowledgement. */
  get queued(): number {
    return this.backlog.queued
  }

  /** True while `maxQueued` publishes wait for the broker: chargers are to be held back. */
  get full(): boolean {
    return this.backlog.full
  }

  /** The same publisher, dropping (counted) rather than queueing once the backlog is full. */
  get dropping(): ContractOut {
    this.dropper ??= new ContractOut(this.client, this.metrics, this.log, this.maxQueued, this.backlog, true)
    return this.dropper
  }

  publish<K extends MessageKind>(site: string, station: string, kind: K, payload: PayloadByKind[K]): boolean {
    const topic = stationTopic(site, station, kind)
    if (this.backlog.full && (this.dropWhenFull || kind === 'telemetry')) {
      this.metrics.inc('evmon_gateway_publish_dropped_total', { kind })
      return false
    }
    const body = Buffer.from(JSON.stringify(payload))
    const checked = decodeMessage(topic, body, Date.now())
    if (!checked.ok) {
      this.metrics.inc('evmon_gateway_publish_invalid_total', { kind })
      this.log(`not published: ${topic} ${checked.reason}: ${checked.detail}`)
      return false
    }
    const { qos, retain } = MESSAGE_KINDS[kind]
    this.queue(+1)
    this.client.publish(topic, body, { qos, retain }, (err) => {
      this.queue(-1)
      if (err) {
        this.metrics.inc('evmon_gateway_publish_failed_total')
        this.log(`publish failed: ${topic}: ${err.message}`)
      }
    })
    this.metrics.inc('evmon_gateway_published_total', { kind })
    return true
  }

  private queue(by: 1 | -1): void {
    const b = this.backlog
    b.queued += by
    // Full at the cap, open again once half of it has drained, so chargers are not let in and held
    // back again at every acknowledgement.
    if (!b.full && b.queued >= this.maxQueued) {
      b.full = true
      this.log(`broker backlog full: ${b.queued} publishes wait for the broker; holding chargers back`)
    } else if (b.full && b.queued <= this.maxQueued / 2) {
      b.full = false
      this.log(`broker backlog down to ${b.queued}: taking chargers in again`)
    }
  }
}
