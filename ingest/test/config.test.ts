import { describe, expect, test } from 'vitest'
import { ConfigError, ingestEnv, loadConfig } from '../src/config.ts'

describe('loadConfig', () => {
  test('an empty environment gives the documented defaults, frozen', () => {
    const config = loadConfig({})
    expect(config).toMatchObject({
      mqttUrl: 'mqtt://127.0.0.1:1883',
      clientId: 'evmon-ingest',
      influxUrl: 'http://127.0.0.1:8086',
      influxDb: 'evmon',
      batchSizePoints: 5_000,
      flushIntervalMs: 250,
      metricsPort: 9102,
      deadLetterPath: 'var/ingest/dead-letter.ndjson',
    })
    const declared = Object.entries(ingestEnv).filter(([, v]) => v.default !== undefined)
    expect(declared.length).toBeGreaterThan(20)
    expect(config).toMatchObject(Object.fromEntries(declared.map(([key, v]) => [key, v.default])))
    expect(config.mqttUsername).toBeUndefined()
    expect(Object.isFrozen(config)).toBe(true)
  })

  test('spool, register reset and share group settings are read and checked', () => {
    expect(loadConfig({})).toMatchObject({
      spoolDir: 'var/ingest/spool',
      spoolMaxBytes: 1024 ** 3,
      registerResetGapMs: 300_000,
    })
    expect(loadConfig({}).shareGroup).toBeUndefined()
    expect(
      loadConfig({
        EVMON_INGEST_SPOOL_DIR: '/data/spool',
        EVMON_INGEST_SPOOL_MAX_BYTES: '2097152',
        EVMON_INGEST_REGISTER_RESET_GAP_MS: '60000',
        EVMON_INGEST_SHARE_GROUP: 'evmon-ingest',
      }),
    ).toMatchObject({
      spoolDir: '/data/spool',
      spoolMaxBytes: 2_097_152,
      registerResetGapMs: 60_000,
      shareGroup: 'evmon-ingest',
    })
    const problems = (() => {
      try {
        loadConfig({ EVMON_INGEST_SHARE_GROUP: 'a/b', EVMON_INGEST_SPOOL_MAX_BYTES: '1000' })
      } catch (err) {
        return (err as ConfigError).problems
      }
    })()
    expect(problems).toEqual([
      'EVMON_INGEST_SPOOL_MAX_BYTES="1000" must be a whole number from 1048576 to 1125899906842624',
      'EVMON_INGEST_SHARE_GROUP="a/b" must match [A-Za-z0-9_-]{1,64}',
    ])
  })

  test('each variable overrides its default', () => {
    const config = loadConfig({
      EVMON_MQTT_URL: 'mqtts://broker.example:8883',
      EVMON_MQTT_USERNAME: 'ingest',
      EVMON_MQTT_PASSWORD: 'secret',
      EVMON_INGEST_CLIENT_ID: 'ingest-2',
      EVMON_INFLUX_URL: 'https://influx.example/prefix',
      EVMON_INFLUX_DB: 'evmon_prod',
      EVMON_INFLUX_USERNAME: 'writer',
      EVMON_INFLUX_PASSWORD: 'pw',
      EVMON_INGEST_BATCH_SIZE: '2000',
      EVMON_INGEST_FLUSH_MS: '250',
      EVMON_INGEST_METRICS_PORT: '0',
      EVMON_INGEST_DEAD_LETTER: '/tmp/dl.ndjson',
      EVMON_INGEST_DEAD_LETTER_MAX_BYTES: '1048576',
    })
    expect(config).toMatchObject({
      mqttUrl: 'mqtts://broker.example:8883',
      mqttUsername: 'ingest',
      mqttPassword: 'secret',
      clientId: 'ingest-2',
      influxUrl: 'https://influx.example/prefix',
      influxDb: 'evmon_prod',
      influxUsername: 'writer',
      influxPassword: 'pw',
      batchSizePoints: 2000,
      flushIntervalMs: 250,
      metricsPort: 0,
      deadLetterPath: '/tmp/dl.ndjson',
      deadLetterMaxBytes: 1_048_576,
    })
  })

  test('every bad variable is reported at once', () => {
    const env = {
      EVMON_MQTT_URL: 'http://broker',
      EVMON_INFLUX_URL: 'not a url',
      EVMON_INFLUX_DB: 'evmon; DROP',
      EVMON_INGEST_BATCH_SIZE: '0',
      EVMON_INGEST_FLUSH_MS: '1.5',
      EVMON_INGEST_METRICS_PORT: '70000',
      EVMON_MQTT_USERNAME: 'ingest',
      EVMON_INGEST_CLIENT_ID: 'has space',
    }
    let error: unknown
    try {
      loadConfig(env)
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(ConfigError)
    const problems = (error as ConfigError).problems
    for (const name of [
      'EVMON_MQTT_URL',
      'EVMON_INFLUX_URL',
      'EVMON_INFLUX_DB',
      'EVMON_INGEST_BATCH_SIZE',
      'EVMON_INGEST_FLUSH_MS',
      'EVMON_INGEST_METRICS_PORT',
      'EVMON_MQTT_PASSWORD',
      'EVMON_INGEST_CLIENT_ID',
    ]) {
      expect(
        problems.some((p) => p.includes(name)),
        name,
      ).toBe(true)
    }
    expect((error as Error).message).toContain('EVMON_INGEST_METRICS_PORT')
  })

  test('limits that contradict each other are refused', () => {
    expect(() =>
      loadConfig({ EVMON_INGEST_RETRY_INITIAL_MS: '5000', EVMON_INGEST_RETRY_MAX_MS: '100' }),
    ).toThrow(/RETRY_MAX_MS/)
    expect(() =>
      loadConfig({ EVMON_INGEST_BATCH_SIZE: '5000', EVMON_INGEST_MAX_PENDING_POINTS: '100' }),
    ).toThrow(/MAX_PENDING_POINTS/)
  })

  test('empty variables count as unset', () => {
    expect(loadConfig({ EVMON_INFLUX_DB: '', EVMON_INGEST_BATCH_SIZE: '' })).toMatchObject({
      influxDb: 'evmon',
      batchSizePoints: 5_000,
    })
  })
})

describe('loadConfig for the InfluxDB 2.x API', () => {
  test('v2 needs an org and a token, and says so', () => {
    expect(() => loadConfig({ EVMON_INFLUX_API: 'v2' })).toThrow(ConfigError)
    try {
      loadConfig({ EVMON_INFLUX_API: 'v2' })
    } catch (err) {
      expect((err as ConfigError).problems).toEqual([
        'EVMON_INFLUX_ORG is required with EVMON_INFLUX_API=v2',
        'EVMON_INFLUX_TOKEN is required with EVMON_INFLUX_API=v2',
      ])
    }
  })

  test('v2 settings are read when chosen', () => {
    expect(
      loadConfig({
        EVMON_INFLUX_API: 'v2',
        EVMON_INFLUX_ORG: 'evmon',
        EVMON_INFLUX_TOKEN: 'tok',
        EVMON_INFLUX_BUCKET: 'raw',
      }),
    ).toMatchObject({ influxApi: 'v2', influxOrg: 'evmon', influxToken: 'tok', influxBucket: 'raw' })
  })

  test('an unknown API version is refused', () => {
    expect(() => loadConfig({ EVMON_INFLUX_API: 'v3' })).toThrow(
      /EVMON_INFLUX_API="v3" must be one of v1, v2/,
    )
  })
})
