import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { start as startBroker, type BrokerHandle } from '@evmon/broker'
import { ALL_STATIONS_FILTER, decodeMessage, type DecodedMessage } from '@evmon/contracts'
import mqtt, { type MqttClient } from 'mqtt'
import { RPCClient } from 'ocpp-rpc'
import { Chargers } from '../src/chargers.ts'
import type { GatewayConfig } from '../src/config.ts'
import { start, type GatewayHandle } from '../src/index.ts'

type RPCClientOptions = ConstructorParameters<typeof RPCClient>[0]

const brokerConfig = (mqttPort: number) => ({
  host: '127.0.0.1',
  mqttPort,
  wsPort: 0,
  wsPath: '/mqtt',
  log: () => {},
})

/**
 * A real aedes broker, the gateway in front of it, and an MQTT subscriber that decodes everything the
 * gateway publishes with the contract's own decoder: a message that fails it fails the test.
 */
export class Stack {
  readonly messages: DecodedMessage[] = []
  readonly rejected: string[] = []
  private constructor(
    readonly logs: string[],
    readonly dir: string,
    public broker: BrokerHandle,
    readonly subscriber: MqttClient,
    public gateway: GatewayHandle,
    readonly config: GatewayConfig,
  ) {}

  static async start(overrides: Partial<GatewayConfig> = {}): Promise<Stack> {
    const dir = mkdtempSync(join(tmpdir(), 'evmon-gateway-'))
    const broker = await startBroker(brokerConfig(0))
    const subscriber = await mqtt.connectAsync(broker.mqttUrl, { clientId: `test-sub-${Date.now()}` })
    await subscriber.subscribeAsync(ALL_STATIONS_FILTER, { qos: 1 })
    const logs: string[] = []
    const config: GatewayConfig = {
      host: '127.0.0.1',
      port: 0,
      chargersFile: join(dir, 'chargers.json'),
      stateFile: join(dir, 'state.json'),
      mqttUrl: broker.mqttUrl,
      sampleIntervalMs: 200,
      staleAfterMs: 60_000,
      heartbeatIntervalS: 60,
      authorize: { kind: 'accept-all' },
      maxFrameBytes: 64 * 1024,
      callRatePerS: 50,
      callBurst: 100,
      maxAuthFailures: 100,
      log: (line) => logs.push(line),
      ...overrides,
    }
    let gateway: GatewayHandle
    try {
      gateway = await start(config)
    } catch (err) {
      await subscriber.endAsync()
      await broker.close()
      rmSync(dir, { recursive: true, force: true })
      throw err
    }
    const stack = new Stack(logs, dir, broker, subscriber, gateway, config)
    subscriber.on('message', (topic, payload) => {
      const decoded = decodeMessage(topic, payload, Date.now())
      if (decoded.ok) stack.messages.push(decoded.message)
      else stack.rejected.push(`${topic}: ${decoded.reason} ${decoded.detail}`)
    })
    return stack
  }

  /** Stops the broker: the gateway's publishes wait for it (its backlog) and its connection retries. */
  async stopBroker(): Promise<void> {
    await this.broker.close()
  }

  /** Starts a broker again on the stopped one's port, where the gateway and the subscriber reconnect. */
  async restartBroker(): Promise<void> {
    this.broker = await startBroker(brokerConfig(this.broker.mqttPort))
  }

  /** Adds a charger the way `add-charger` does and waits for the gateway to pick the file up. */
  async addCharger(site: string, identity: string, alias?: string): Promise<string> {
    const chargers = Chargers.load(this.config.chargersFile)
    const { password } = await chargers.add(site, identity, alias)
    const reloaded = this.gateway.reloaded()
    await chargers.save(this.config.chargersFile)
    await reloaded
    return password
  }

  async removeCharger(site: string, identity: string): Promise<void> {
    const chargers = Chargers.load(this.config.chargersFile)
    chargers.remove(site, identity)
    const reloaded = this.gateway.reloaded()
    await chargers.save(this.config.chargersFile)
    await reloaded
  }

  /** An ocpp-rpc client as a charger: strict mode, so what it sends is valid OCPP unless a test says otherwise. */
  charger(site: string, identity: string, password: string | undefined, protocol = 'ocpp1.6'): RPCClient {
    // ocpp-rpc's typings mark every option required; the rest have documented defaults.
    const options: Partial<RPCClientOptions> = {
      endpoint: `${this.gateway.ocppUrl}/${site}`,
      identity,
      ...(password !== undefined && { password }),
      protocols: [protocol],
      // Strict wherever ocpp-rpc has the schemas (a test may offer a subprotocol the gateway refuses).
      strictMode: ['ocpp1.6', 'ocpp2.0.1'].includes(protocol),
      reconnect: false,
    }
    return new RPCClient(options as RPCClientOptions)
  }

  of(station: string, kind: DecodedMessage['kind']): DecodedMessage[] {
    return this.messages.filter((m) => m.station === station && m.kind === kind)
  }

  /** Waits until `predicate` holds over the messages received, or fails after `timeoutMs`. */
  async until<T>(what: string, find: () => T | undefined | false, timeoutMs = 5_000): Promise<T> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = find()
      if (found) return found
      if (Date.now() > deadline) {
        throw new Error(
          `timed out waiting for ${what}; log:\n${this.logs.slice(-20).join('\n')}\nrejected: ${this.rejected.join('\n')}`,
        )
      }
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  async close(): Promise<void> {
    await this.gateway.close()
    await this.subscriber.endAsync()
    await this.broker.close()
    rmSync(this.dir, { recursive: true, force: true })
  }
}
