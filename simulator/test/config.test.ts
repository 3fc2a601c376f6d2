import { describe, expect, test } from 'vitest'
import { parseConfig, startTimeOf } from '../src/config.ts'
import { DEFAULTS } from '../src/defaults.ts'

describe('simulator configuration', () => {
  test('with nothing set, the defaults apply: live, real time, the Beibei site', () => {
    const parsed = parseConfig([], {})
    expect(parsed).toEqual({
      kind: 'run',
      config: {
        mode: 'live',
        mqttUrl: 'mqtt://127.0.0.1:1883',
        seed: 1,
        speed: 1,
        sitePath: DEFAULTS.sitePath,
        sampleIntervalMs: 1000,
        port: 9103,
        host: '127.0.0.1',
        statePath: DEFAULTS.statePath,
      },
    })
    expect(DEFAULTS.sitePath).toMatch(/config\/sites\/beibei\.json$/)
    expect(DEFAULTS.statePath).toMatch(/var\/simulator\/\{site\}\.json$/)
  })

  test('environment variables are read, and flags override them', () => {
    const env = {
      EVMON_MQTT_URL: 'mqtt://broker:1883',
      EVMON_SIM_SEED: '9',
      EVMON_SIM_SPEED: '10',
      EVMON_SIM_SITE: 'config/sites/other.json',
      EVMON_MQTT_USERNAME: 'simulator',
      EVMON_MQTT_PASSWORD: 'secret',
    }
    const parsed = parseConfig(
      ['--speed', '60', '--seed=3', '--start', '2025-03-25T12:00:00+08:00', '--duration', '90'],
      env,
    )
    expect(parsed).toMatchObject({
      kind: 'run',
      config: {
        mqttUrl: 'mqtt://broker:1883',
        seed: 3,
        speed: 60,
        sitePath: 'config/sites/other.json',
        username: 'simulator',
        password: 'secret',
        startMs: Date.parse('2025-03-25T04:00:00Z'),
        durationS: 90,
      },
    })
  })

  test('every bad variable is reported at once', () => {
    const parsed = parseConfig([], {
      EVMON_MQTT_URL: 'localhost:1883',
      EVMON_SIM_SEED: '-1',
      EVMON_SIM_SPEED: 'fast',
      EVMON_MQTT_PASSWORD: 'secret',
    })
    expect(parsed.kind).toBe('invalid')
    const problems = parsed.kind === 'invalid' ? parsed.problems : []
    expect(problems).toHaveLength(4)
    for (const name of ['EVMON_MQTT_URL', 'EVMON_SIM_SEED', 'EVMON_SIM_SPEED', 'EVMON_MQTT_PASSWORD']) {
      expect(problems.some((p) => p.startsWith(name))).toBe(true)
    }
  })

  test('bad flags are reported with the flag name, alongside bad variables', () => {
    const parsed = parseConfig(['--speed', '0', '--start', 'yesterday', '--out', 'x.ndjson'], {
      EVMON_SIM_SEED: '1.5',
    })
    expect(parsed.kind === 'invalid' && parsed.problems).toEqual([
      expect.stringMatching(/^EVMON_SIM_SEED="1.5" must be a whole number/),
      expect.stringMatching(/^--speed "0" must be a number above 0/),
      expect.stringMatching(/^--start "yesterday" must be an ISO 8601 time/),
      '--out only applies to --dry-run',
    ])
  })

  test('unknown flags are refused', () => {
    const parsed = parseConfig(['--sped', '10'], {})
    expect(parsed.kind === 'invalid' && parsed.problems[0]).toMatch(/--sped/)
  })

  test('a dry run takes an output file; --help asks for the usage', () => {
    expect(parseConfig(['--dry-run', '--out', 'out.ndjson'], {})).toMatchObject({
      kind: 'run',
      config: { mode: 'dry-run', out: 'out.ndjson' },
    })
    expect(parseConfig(['--help'], {})).toEqual({ kind: 'help' })
    expect(parseConfig(['-h'], {})).toEqual({ kind: 'help' })
  })

  test('the parsed config is frozen', () => {
    const parsed = parseConfig([], {})
    expect(parsed.kind === 'run' && Object.isFrozen(parsed.config)).toBe(true)
  })

  test('without --start the simulation starts at the current whole sample', () => {
    expect(startTimeOf({ startMs: 1234, sampleIntervalMs: 1000 })).toBe(1234)
    const before = Date.now()
    const start = startTimeOf({ sampleIntervalMs: 1000 })
    expect(start % 1000).toBe(0)
    expect(start).toBeGreaterThan(before - 1000)
    expect(start).toBeLessThanOrEqual(Date.now())
  })

  test('durations take units, the control port falls back to EVMON_SIM_METRICS_PORT, and a dry run keeps no state', () => {
    const parsed = parseConfig(['--dry-run', '--duration', '24h'], { EVMON_SIM_METRICS_PORT: '9200' })
    expect(parsed).toMatchObject({ kind: 'run', config: { mode: 'dry-run', durationS: 86_400, port: 9200 } })
    expect(parsed.kind === 'run' && 'statePath' in parsed.config).toBe(false)
    const both = parseConfig(['--port', '0'], { EVMON_SIM_PORT: '9300', EVMON_SIM_METRICS_PORT: '9200' })
    expect(both).toMatchObject({ config: { port: 0 } })
    expect(parseConfig([], { EVMON_SIM_PORT: '9300', EVMON_SIM_METRICS_PORT: '9200' })).toMatchObject({
      config: { port: 9300 },
    })
    const off = parseConfig(['--state', 'off'], {})
    expect(off.kind === 'run' && !('statePath' in off.config)).toBe(true)
  })

  test('a backfill ends at the wall clock and lasts what it asks for; modes cannot be combined', () => {
    const before = Date.now()
    const parsed = parseConfig(['--backfill', '7d', '--scale', '40'], {})
    if (parsed.kind !== 'run') throw new Error(JSON.stringify(parsed))
    expect(parsed.config).toMatchObject({ mode: 'backfill', durationS: 7 * 86_400, scaleStations: 40 })
    const endMs = (parsed.config.startMs ?? 0) + 7 * 86_400_000
    expect(endMs).toBeGreaterThan(before - 1000)
    expect(endMs).toBeLessThanOrEqual(Date.now())

    const bad = parseConfig(['--dry-run', '--replay', 'x.ndjson', '--scale', '0', '--duration', '3x'], {})
    expect(bad.kind).toBe('invalid')
    const problems = bad.kind === 'invalid' ? bad.problems.join('\n') : ''
    expect(problems).toMatch(/--dry-run and --replay are different modes/)
    expect(problems).toMatch(/--scale "0"/)
    expect(problems).toMatch(/--duration "3x" must be a duration/)
  })

  test('--interval sets the sample period in whole seconds; a backfill ends on a whole sample', () => {
    const parsed = parseConfig(['--backfill', '7d', '--interval', '10s'], {})
    if (parsed.kind !== 'run') throw new Error(JSON.stringify(parsed))
    expect(parsed.config.sampleIntervalMs).toBe(10_000)
    expect((parsed.config.startMs ?? 1) % 10_000).toBe(0)
    expect(parseConfig([], {})).toMatchObject({ config: { sampleIntervalMs: 1000 } })
    for (const bad of ['0', '1.5', '2m', 'x']) {
      const result = parseConfig(['--interval', bad], {})
      expect(result.kind === 'invalid' && result.problems.join()).toMatch(/--interval/)
    }
  })
})
