import {
  decodeMessage,
  MESSAGE_KINDS,
  stationTopic,
  type MessageKind,
  type PayloadByKind,
} from '@evmon/contracts'
import type { MqttClient } from 'mqtt'
import type { Metrics } from './metrics.ts'

/**
 * Publishes contract messages on the gateway's broker connection. Each message is checked by the same
 * decoder ingest uses before it leaves: one that would be rejected downstream (a bug here, or a
 * description in the sites file that breaks the contract) is counted and logged, never published.
 */
export class ContractOut {
  constructor(
    private readonly client: MqttClient,
    private readonly metrics: Metrics,
    private readonly log: (line: string) => void,
  ) {}

  publish<K extends MessageKind>(site: string, station: string, kind: K, payload: PayloadByKind[K]): boolean {
    const topic = stationTopic(site, station, kind)
    const body = Buffer.from(JSON.stringify(payload))
    const checked = decodeMessage(topic, body, Date.now())
    if (!checked.ok) {
      this.metrics.inc('evmon_gateway_publish_invalid_total', { kind })
      this.log(`not published: ${topic} ${checked.reason}: ${checked.detail}`)
      return false
    }
    const { qos, retain } = MESSAGE_KINDS[kind]
    this.client.publish(topic, body, { qos, retain }, (err) => {
      if (err) {
        this.metrics.inc('evmon_gateway_publish_failed_total')
        this.log(`publish failed: ${topic}: ${err.message}`)
      }
    })
    this.metrics.inc('evmon_gateway_published_total', { kind })
    return true
  }
}
