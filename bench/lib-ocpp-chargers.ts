// Bench helper, run in a child process of its own (bench/gateway.ts): N ocpp-rpc clients as OCPP 1.6J
// chargers. Each boots, reports its connector Charging, then sends MeterValues every `intervalS`,
// staggered over the interval. The MeterValues time stamp is the moment the frame is sent (ms), and
// the register grows by one Wh per frame, so the subscriber can tell when each reading reaches MQTT.
// Connections come from several 127.0.0.x source addresses: one address has ≈28,000 source ports.
import { RPCClient } from 'ocpp-rpc'

export interface ChargersSpec {
  endpoint: string
  passwords: Record<string, string>
  intervalS: number
  /** Source addresses 127.0.0.1 … 127.0.0.{sources}. */
  sources: number
  connectsPerSecond: number
}

/** What the parent is told, every second and at the end. */
export interface ChargersReport {
  connected: number
  open: number
  sent: number
  answered: number
  failed: number
  errors: string[]
}

type ClientOptions = ConstructorParameters<typeof RPCClient>[0]

const spec = JSON.parse(process.argv[2] as string) as ChargersSpec
const report: ChargersReport = { connected: 0, open: 0, sent: 0, answered: 0, failed: 0, errors: [] }
const noteError = (message: string) => {
  if (report.errors.length < 10 && !report.errors.includes(message)) report.errors.push(message)
}
const clients: RPCClient[] = []
const timers: NodeJS.Timeout[] = []

async function runCharger(identity: string, password: string, index: number): Promise<void> {
  const client = new RPCClient({
    endpoint: spec.endpoint,
    identity,
    password,
    protocols: ['ocpp1.6'],
    strictMode: true,
    reconnect: false,
    callTimeoutMs: 30_000,
    wsOpts: { localAddress: `127.0.0.${1 + (index % spec.sources)}` },
  } as Partial<ClientOptions> as ClientOptions)
  clients.push(client)
  client.on('close', () => report.open--)
  await client.connect()
  report.connected++
  report.open++
  await client.call('BootNotification', { chargePointVendor: 'evmon', chargePointModel: 'bench' })
  await client.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Charging' })
  let registerWh = 1_000_000
  const send = () => {
    registerWh += 1
    report.sent++
    client
      .call('MeterValues', {
        connectorId: 1,
        meterValue: [
          {
            timestamp: new Date().toISOString(),
            sampledValue: [
              { value: String(registerWh), measurand: 'Energy.Active.Import.Register', unit: 'Wh' },
              { value: '7.2', measurand: 'Power.Active.Import', unit: 'kW' },
            ],
          },
        ],
      })
      .then(
        () => report.answered++,
        (err: Error) => {
          report.failed++
          noteError(err.message)
        },
      )
  }
  // Staggered: chargers do not meter in lockstep.
  const first = setTimeout(
    () => {
      send()
      timers.push(setInterval(send, spec.intervalS * 1000))
    },
    Math.random() * spec.intervalS * 1000,
  )
  timers.push(first)
}

const identities = Object.entries(spec.passwords)
let started = 0
const ramp = setInterval(() => {
  const batch = identities.slice(started, started + Math.max(1, Math.round(spec.connectsPerSecond / 10)))
  for (const [identity, password] of batch) {
    const index = started++
    runCharger(identity, password, index).catch((err: Error) => {
      report.failed++
      noteError(`${identity}: ${err.message}`)
    })
  }
  if (started >= identities.length) clearInterval(ramp)
}, 100)

const tick = setInterval(() => process.send?.(report), 1000)
process.on('message', (m) => {
  if (m !== 'stop') return
  clearInterval(ramp)
  clearInterval(tick)
  for (const t of timers) clearTimeout(t)
  void Promise.all(clients.map((c) => c.close({ force: true }).catch(() => {}))).then(() => {
    process.send?.(report, () => process.exit(0))
  })
})
