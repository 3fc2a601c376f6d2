// Bench helper, run as several child processes of their own (bench/gateway.ts): ocpp-rpc clients as
// OCPP 1.6J chargers. Each boots, reports its connector Charging, then sends MeterValues every
// `intervalS`, staggered over the interval. The MeterValues time stamp is the moment the frame is sent
// (ms), the register grows by one Wh per frame and the power varies, so the subscriber can tell when
// each reading reaches MQTT and the gateway never sees the same reading twice.
// The spec comes over IPC (an argument is limited to 128 KB: too small for 10,000 passwords). The
// chargers connect in two steps, the first `firstStep` of them, the rest on 'more', so that the
// gateway's memory can be read at two sizes under the same per-charger load.
// Connections come from several 127.0.0.x source addresses: one address has ≈28,000 source ports.
import { RPCClient } from 'ocpp-rpc'

export interface ChargersSpec {
  endpoint: string
  /** identity → password, of this process's chargers. */
  passwords: Record<string, string>
  intervalS: number
  /** Source addresses 127.0.0.1 … 127.0.0.{sources}. */
  sources: number
  /** This process's connection rate. */
  connectsPerSecond: number
  /** How many to connect before the parent says 'more'. */
  firstStep: number
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

const report: ChargersReport = { connected: 0, open: 0, sent: 0, answered: 0, failed: 0, errors: [] }
const noteError = (message: string) => {
  if (report.errors.length < 10 && !report.errors.includes(message)) report.errors.push(message)
}
const clients: RPCClient[] = []
const timers: NodeJS.Timeout[] = []

async function runCharger(spec: ChargersSpec, identity: string, password: string, index: number) {
  const client = new RPCClient({
    endpoint: spec.endpoint,
    identity,
    password,
    protocols: ['ocpp1.6'],
    // The gateway validates every call and its own answers (strict mode); validating them again here
    // would only take CPU from the processes measured, which share the machine with the chargers.
    strictMode: false,
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
              { value: (6 + Math.random() * 5).toFixed(2), measurand: 'Power.Active.Import', unit: 'kW' },
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

let ramp: NodeJS.Timeout | undefined
/** Opens chargers `from`…`to` (indexes into this process's list) at the spec's rate. */
function connect(spec: ChargersSpec, identities: [string, string][], from: number, to: number) {
  let next = from
  const perTick = Math.max(1, Math.round(spec.connectsPerSecond / 10))
  ramp = setInterval(() => {
    for (const [identity, password] of identities.slice(next, Math.min(to, next + perTick))) {
      const index = next++
      runCharger(spec, identity, password, index).catch((err: Error) => {
        report.failed++
        noteError(`${identity}: ${err.message}`)
      })
    }
    if (next >= to) clearInterval(ramp)
  }, 100)
}

let spec: ChargersSpec | undefined
let identities: [string, string][] = []
const tick = setInterval(() => process.send?.(report), 1000)
process.on('message', (m: ChargersSpec | 'more' | 'stop') => {
  if (typeof m === 'object') {
    spec = m
    identities = Object.entries(m.passwords)
    connect(m, identities, 0, Math.min(m.firstStep, identities.length))
  } else if (m === 'more' && spec) {
    connect(spec, identities, spec.firstStep, identities.length)
  } else if (m === 'stop') {
    clearInterval(ramp)
    clearInterval(tick)
    for (const t of timers) clearTimeout(t)
    void Promise.all(clients.map((c) => c.close({ force: true }).catch(() => {}))).then(() => {
      process.send?.(report, () => process.exit(0))
    })
  }
})
