// Broker QoS 1 pass-through with authentication + ACL + limits on, against the same broker with them
// off. One publisher (a station account) → broker → one subscriber (the ingest account), loopback only.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { Credentials, start } from '@evmon/broker'

const MESSAGES = 50_000 // per run
const INFLIGHT = 200 // publisher window of unacknowledged QoS 1 messages
const ROUNDS = 3 // alternating runs per mode; the best of each is reported

const payload = JSON.stringify({
  v: 1,
  ts: Date.now(),
  seq: 1,
  meter: { grid_power_w: 471200, grid_energy_wh: 123456789, aux_power_w: 2100, cabinet_temp_c: 41.2 },
  connectors: [1, 2, 3, 4].map((id) => ({
    id,
    status: 'Charging',
    power_w: 452300,
    offered_w: 480000,
    voltage_v: 768.2,
    current_a: 588.8,
    energy_wh: 1234567,
    soc_pct: 43.1,
  })),
})

async function run(secure: boolean, dir: string): Promise<number> {
  const file = join(dir, 'credentials.json')
  const credentials = Credentials.empty()
  const stationSecret = await credentials.issue('beibei/zn-super')
  const ingestSecret = await credentials.issue('ingest')
  credentials.save(file)
  const broker = await start({
    host: '127.0.0.1',
    mqttPort: 0,
    wsPort: 0,
    wsPath: '/mqtt',
    ...(secure
      ? { credentialsFile: file, limits: { stationPublishRatePerS: 1e6, stationPublishBurst: 1e6 } }
      : {}),
    log: () => {},
  })
  const sub = await mqtt.connectAsync(broker.mqttUrl, {
    clientId: 'evmon-ingest-bench',
    ...(secure ? { username: 'ingest', password: ingestSecret } : {}),
  })
  await sub.subscribeAsync('evmon/v1/#', { qos: 1 })
  const pub = await mqtt.connectAsync(broker.mqttUrl, {
    clientId: 'beibei.zn-super',
    ...(secure ? { username: 'beibei/zn-super', password: stationSecret } : {}),
  })
  let received = 0
  const done = new Promise<void>((resolve) =>
    sub.on('message', () => {
      if (++received === MESSAGES) resolve()
    }),
  )
  const started = performance.now()
  let sent = 0
  const worker = async () => {
    while (sent < MESSAGES) {
      sent++
      await pub.publishAsync('evmon/v1/beibei/zn-super/telemetry', payload, { qos: 1 })
    }
  }
  await Promise.all(Array.from({ length: INFLIGHT }, worker))
  await done
  const rate = MESSAGES / ((performance.now() - started) / 1000)
  await Promise.all([pub.endAsync(), sub.endAsync()])
  await broker.close()
  return rate
}

export default async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'evmon-bench-broker-'))
  const best = { open: 0, secure: 0 }
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of ['open', 'secure'] as const) {
      const rate = await run(mode === 'secure', dir)
      best[mode] = Math.max(best[mode], rate)
      console.log(`round ${round + 1} ${mode.padEnd(6)} ${Math.round(rate).toLocaleString('en')} msg/s`)
    }
  }
  rmSync(dir, { recursive: true, force: true })
  const cost = (1 - best.secure / best.open) * 100
  console.log(
    `\nQoS 1 pass-through, ${MESSAGES.toLocaleString('en')} messages of ${payload.length} bytes, best of ${ROUNDS}:`,
  )
  console.log(`  auth+ACL off: ${Math.round(best.open).toLocaleString('en')} msg/s`)
  console.log(`  auth+ACL on:  ${Math.round(best.secure).toLocaleString('en')} msg/s`)
  console.log(`  security cost: ${cost.toFixed(1)}% (goal < 10%)`)
}
