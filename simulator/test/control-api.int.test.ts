import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { start as startBroker, type BrokerHandle } from '@evmon/broker'
import mqtt, { type MqttClient } from 'mqtt'
import { afterAll, afterEach, beforeEach, describe, expect, test } from 'vitest'
import { parseConfig } from '../src/config.ts'
import { runDryRun } from '../src/dry-run.ts'
import { start, type SimulatorHandle } from '../src/live.ts'
import type { Logger } from '../src/publisher.ts'
import { startReplay } from '../src/replay.ts'
import type { StationView } from '../src/site.ts'

const silent: Logger = { info: () => {}, warn: () => {} }
const dir = mkdtempSync(join(tmpdir(), 'evmon-sim-control-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

interface Received {
  topic: string
  payload: Record<string, unknown>
}

async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

function configOf(argv: string[]) {
  const parsed = parseConfig(argv, {})
  if (parsed.kind !== 'run') throw new Error(`bad test config: ${JSON.stringify(parsed)}`)
  return parsed.config
}

describe('the control API of a live run', () => {
  let broker: BrokerHandle
  let simulator: SimulatorHandle | undefined
  let subscriber: MqttClient
  let received: Received[]
  const statePath = join(dir, '{site}.json')
  const api = (path: string, init?: RequestInit) =>
    fetch(`http://127.0.0.1:${simulator?.port}${path}`, {
      ...init,
      headers: { 'content-type': 'application/json' },
    })
  const metric = async (name: string) =>
    Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(await (await api('/metrics')).text())?.[1])

  const startSimulator = async (speed: number) => {
    const argv = ['--url', broker.mqttUrl, '--speed', String(speed), '--port', '0', '--state', statePath]
    simulator = await start(configOf([...argv, '--start', new Date(Date.now() - 3_600_000).toISOString()]), {
      log: silent,
    })
    return simulator
  }

  beforeEach(async () => {
    broker = await startBroker({ host: '127.0.0.1', mqttPort: 0, wsPort: 0, wsPath: '/mqtt', log: () => {} })
    received = []
    subscriber = await mqtt.connectAsync(broker.mqttUrl, { reconnectPeriod: 0 })
    subscriber.on('message', (topic, payload) =>
      received.push({ topic, payload: JSON.parse(payload.toString()) }),
    )
    await subscriber.subscribeAsync('evmon/v1/#', { qos: 1 })
  })

  afterEach(async () => {
    await simulator?.close()
    simulator = undefined
    await subscriber.endAsync(true)
    await broker.close()
  })

  test('lists stations, plugs in a car, injects and clears a fault, and reports it all in /metrics', async () => {
    await startSimulator(5)
    expect(await (await api('/healthz')).json()).toEqual({ status: 'ok' })
    const stations = (await (await api('/stations')).json()) as StationView[]
    expect(stations.map((s) => s.id)).toEqual(['zn-super', 'kc-fast-1', 'kc-fast-2', 'kc-ac'])
    const free = stations
      .flatMap((s) => s.connectors.map((c) => ({ station: s.id, ...c })))
      .find((c) => c.kind === 'dc' && c.status === 'Available' && c.station.startsWith('kc-fast'))
    if (!free) throw new Error('no free DC connector')
    const base = `/stations/${free.station}/connectors/${free.id}`

    const plugged = await api(`${base}/plug-in`, {
      method: 'POST',
      body: JSON.stringify({ vehicle: 'byd-han', socPct: 20, targetSocPct: 90 }),
    })
    expect(plugged.status).toBe(202)
    const statusTopic = `evmon/v1/beibei/${free.station}/status`
    const statusesOf = () =>
      received.filter((r) => r.topic === statusTopic && r.payload.connector === free.id).map((r) => r.payload)
    await until(() => statusesOf().some((p) => p.status === 'Charging'), 'charging')

    const busy = await api(`${base}/plug-in`, {
      method: 'POST',
      body: JSON.stringify({ vehicle: 'byd-han' }),
    })
    expect(busy.status).toBe(409)
    const faulted = await api(`${base}/fault`, {
      method: 'POST',
      body: JSON.stringify({ errorCode: 'PowerSwitchFailure', vendorError: 'contactor welded' }),
    })
    expect(faulted.status).toBe(202)
    await until(() => statusesOf().some((p) => p.status === 'Faulted'), 'faulted')
    expect(statusesOf().find((p) => p.status === 'Faulted')).toMatchObject({
      error_code: 'PowerSwitchFailure',
      vendor_error: 'contactor welded',
    })
    expect((await api(`${base}/fault`, { method: 'DELETE' })).status).toBe(202)
    await until(
      () => statusesOf().some((p) => p.status === 'Finishing' && p.error_code === 'NoError'),
      'repaired',
    )
    await until(
      async () => (await metric('evmon_sim_interrupted_sessions_total')) === 1,
      'interrupted session counted',
    )

    expect((await api(`${base}/fault`, { method: 'POST', body: '{"errorCode":"Broken"}' })).status).toBe(400)
    expect((await api('/stations/nowhere/connectors/1/fault', { method: 'DELETE' })).status).toBe(404)
  })

  test('scenarios: a 40 °C afternoon, a failed coolant pump, a failed power module', async () => {
    await startSimulator(5)
    const put = await api('/ambient', { method: 'PUT', body: JSON.stringify({ ambientC: 40 }) })
    expect(put.status).toBe(200)
    await until(
      async () => ((await (await api('/ambient')).json()) as { ambientC: number }).ambientC === 40,
      'a 40 °C sample',
    )
    expect(await (await api('/ambient')).json()).toEqual({ ambientC: 40, forced: true })
    expect((await api('/ambient', { method: 'PUT', body: '{"ambientC":99}' })).status).toBe(400)

    const pump = await api('/stations/zn-super/connectors/1/cooling-failure', {
      method: 'POST',
      body: JSON.stringify({ kind: 'pump', repairS: 600 }),
    })
    expect(pump.status).toBe(202)
    const faulted = () =>
      received.find(
        (r) =>
          r.topic === 'evmon/v1/beibei/zn-super/status' &&
          r.payload.connector === 1 &&
          r.payload.status === 'Faulted',
      )
    await until(() => faulted() !== undefined, 'the flow fault')
    expect(faulted()?.payload).toMatchObject({ error_code: 'OtherError' })
    const airCooled = await api('/stations/kc-fast-1/connectors/1/cooling-failure', {
      method: 'POST',
      body: JSON.stringify({ kind: 'pump', repairS: 600 }),
    })
    expect(airCooled.status).toBe(409)

    const moduleFailure = (station: string) =>
      api(`/stations/${station}/module-failure`, { method: 'POST', body: '{"repairS":600}' })
    expect((await moduleFailure('zn-super')).status).toBe(202)
    expect((await moduleFailure('kc-ac')).status).toBe(409)
    const stations = (await (await api('/stations')).json()) as StationView[]
    expect(stations.find((s) => s.id === 'zn-super')?.failedModules).toBe(1)

    expect((await api('/ambient', { method: 'DELETE' })).status).toBe(200)
    expect(((await (await api('/ambient')).json()) as { forced: boolean }).forced).toBe(false)
  })

  test('unknown routes and stations are 404', async () => {
    await startSimulator(5)
    expect((await api('/stations/nowhere/connectors/1/fault', { method: 'DELETE' })).status).toBe(404)
    expect((await api('/nothing')).status).toBe(404)
  })

  test('changes the grid limit, pauses and resumes, and drops a station offline until it comes back', async () => {
    await startSimulator(20)
    const grid = await api('/grid', { method: 'PUT', body: JSON.stringify({ limitKw: 300 }) })
    expect(await grid.json()).toEqual({ limitKw: 300 })
    expect(await metric('evmon_sim_grid_limit_watts')).toBe(300_000)

    await until(async () => (await metric('evmon_sim_steps_total')) > 20, 'steps')
    expect((await api('/pause', { method: 'POST' })).status).toBe(200)
    const pausedAt = await metric('evmon_sim_steps_total')
    await new Promise((r) => setTimeout(r, 400))
    expect(await metric('evmon_sim_steps_total')).toBe(pausedAt)
    expect(await metric('evmon_sim_paused')).toBe(1)
    await api('/resume', { method: 'POST' })
    await until(async () => (await metric('evmon_sim_steps_total')) > pausedAt + 10, 'resumed')

    const offline = await api('/stations/kc-ac/offline', {
      method: 'POST',
      body: JSON.stringify({ durationS: 40 }),
    })
    expect(offline.status).toBe(202)
    const online = () =>
      received.filter((r) => r.topic === 'evmon/v1/beibei/kc-ac/online').map((r) => r.payload)
    await until(() => online().some((p) => p.online === false), 'the will of kc-ac')
    expect(online().find((p) => p.online === false)).toEqual({ online: false })
    await until(() => online().filter((p) => p.online === true).length >= 2, 'kc-ac back online')
    // The samples of the offline period were never published: the sequence numbers jump over them.
    await until(() => received.filter((r) => r.topic.endsWith('/kc-ac/telemetry')).length > 40, 'telemetry')
    const seqs = received
      .filter((r) => r.topic.endsWith('/kc-ac/telemetry'))
      .map((r) => r.payload.seq as number)
    const jumps = seqs.slice(1).map((seq, i) => seq - (seqs[i] as number))
    expect(Math.max(...jumps)).toBeGreaterThanOrEqual(39)
  })

  test('registers continue across a restart through the state file instead of starting at 0', async () => {
    const sim = await startSimulator(50)
    const gridEnergy = () =>
      received
        .filter((r) => r.topic === 'evmon/v1/beibei/zn-super/telemetry')
        .map((r) => (r.payload.meter as { grid_energy_wh: number }).grid_energy_wh)
    await until(() => (gridEnergy().at(-1) ?? 0) > 100, 'zn-super drawing energy')
    await sim.close()
    simulator = undefined
    const file = join(dir, 'beibei.json')
    expect(existsSync(file)).toBe(true)
    const saved = JSON.parse(readFileSync(file, 'utf8'))
    const lastBefore = gridEnergy().at(-1) ?? 0
    // Published registers are rounded to 0.01 Wh; the state file keeps them exact.
    expect(saved.registers.stations['zn-super'].gridEnergyWh).toBeGreaterThanOrEqual(lastBefore - 0.005)

    received.length = 0
    await startSimulator(5)
    await until(() => gridEnergy().length > 0, 'telemetry after the restart')
    expect(gridEnergy()[0]).toBeGreaterThanOrEqual(lastBefore)
  })
})

describe('backfill and replay', () => {
  let broker: BrokerHandle
  beforeEach(async () => {
    broker = await startBroker({ host: '127.0.0.1', mqttPort: 0, wsPort: 0, wsPath: '/mqtt', log: () => {} })
  })
  afterEach(async () => broker.close())

  test('a backfill publishes the last period of a scaled city as fast as the broker takes it, with progress', async () => {
    const received: string[] = []
    const sub = await mqtt.connectAsync(broker.mqttUrl, { reconnectPeriod: 0 })
    sub.on('message', (topic) => received.push(topic))
    await sub.subscribeAsync('evmon/v1/+/+/telemetry', { qos: 1 })
    const lines: string[] = []
    const config = configOf([
      '--url',
      broker.mqttUrl,
      '--backfill',
      '10m',
      '--scale',
      '8',
      '--state',
      'off',
      '--port',
      '0',
    ])
    const sim = await start(config, { log: silent, progress: (line) => lines.push(line) })
    await sim.done
    await sim.close()
    await until(() => received.length >= 8 * 590, `the backfilled telemetry (${received.length})`)
    expect(new Set(received.map((t) => t.split('/')[3])).size).toBe(8)
    expect(sim.site.nowMs).toBe((config.startMs ?? 0) + 600_000)
    expect(sim.site.nowMs).toBeLessThanOrEqual(Date.now())
    expect(lines.at(-1)).toMatch(/100\.0%.*ETA/)
    await sub.endAsync(true)
  })

  test('a backfilled day through offline episodes loses nothing: each will is published at its simulated time', async () => {
    const received: Received[] = []
    const sub = await mqtt.connectAsync(broker.mqttUrl, { reconnectPeriod: 0 })
    sub.on('message', (topic, payload) => received.push({ topic, payload: JSON.parse(payload.toString()) }))
    await sub.subscribeAsync('evmon/v1/beibei/+/+', { qos: 1 })
    const config = configOf([
      ...['--url', broker.mqttUrl, '--backfill', '1d', '--interval', '10', '--state', 'off', '--port', '0'],
    ])
    const sim = await start(config, { log: silent, progress: () => {} })
    await sim.done
    await sim.close()
    // What the same day publishes, computed without a broker: the backfill must deliver all of it.
    const out = join(dir, 'backfill-day.ndjson')
    const dry = configOf([
      ...['--dry-run', '--out', out, '--duration', '1d', '--interval', '10'],
      ...['--start', new Date(config.startMs ?? 0).toISOString()],
    ])
    await runDryRun(dry)
    const expected = readFileSync(out, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Received)
    const telemetry = (list: Received[]) => list.filter((m) => m.topic.endsWith('/telemetry'))
    await until(
      () => telemetry(received).length >= telemetry(expected).length,
      `the backfilled telemetry (${telemetry(received).length} of ${telemetry(expected).length})`,
      60_000,
    )
    // Stations publish on their own connections, so only each station's order is defined.
    const byStation = (list: Received[]) => {
      const out = new Map<string, unknown[]>()
      for (const m of telemetry(list)) out.set(m.topic, [...(out.get(m.topic) ?? []), m.payload])
      return out
    }
    expect(byStation(received)).toEqual(byStation(expected))
    const endMs = (config.startMs ?? 0) + 86_400_000
    const wills = received.filter(
      (m) => m.topic.endsWith('/online') && m.payload.online === false && (m.payload.ts as number) < endMs,
    )
    // The site's offline rate gives several episodes a day; each will carries a time inside the day.
    expect(wills.length).toBeGreaterThan(1)
    for (const will of wills) expect(will.payload.ts).toBeGreaterThanOrEqual(config.startMs ?? 0)
    await sub.endAsync(true)
  }, 120_000)

  test('a replay publishes a dry-run recording under another site id with its original timing', async () => {
    const out = join(dir, 'recording.ndjson')
    await runDryRun(
      configOf(['--dry-run', '--out', out, '--duration', '30', '--start', '2025-07-15T12:00:00+08:00']),
    )
    const recorded = readFileSync(out, 'utf8').trimEnd().split('\n')
    const received: Received[] = []
    const sub = await mqtt.connectAsync(broker.mqttUrl, { reconnectPeriod: 0 })
    sub.on('message', (topic, payload) => received.push({ topic, payload: JSON.parse(payload.toString()) }))
    await sub.subscribeAsync('evmon/v1/replayed/#', { qos: 1 })
    const started = Date.now()
    const replay = await startReplay(
      configOf(['--url', broker.mqttUrl, '--replay', out, '--as-site', 'replayed', '--speed', '15']),
      silent,
    )
    const { messages, skipped } = await replay.done
    const elapsedMs = Date.now() - started
    await replay.close()
    expect(skipped).toBe(0)
    expect(messages).toBe(recorded.length)
    // 30 recorded seconds at 15× take about 2 s: the timing is kept, only compressed.
    expect(elapsedMs).toBeGreaterThan(1800)
    await until(
      () => received.filter((r) => r.topic.endsWith('/telemetry')).length === 4 * 30,
      'replayed telemetry',
    )
    const first = JSON.parse(recorded.find((l) => l.includes('/zn-super/telemetry')) ?? '{}')
    expect(received.find((r) => r.topic === 'evmon/v1/replayed/zn-super/telemetry')?.payload).toEqual(
      first.payload,
    )
    await sub.endAsync(true)
  })
})
