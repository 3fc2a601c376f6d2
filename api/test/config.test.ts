import { isAbsolute } from 'node:path'
import { describe, expect, test } from 'vitest'
import { ConfigError, apiEnv, loadConfig } from '../src/config.ts'

describe('api config', () => {
  test('an empty environment gives the documented defaults', () => {
    const config = loadConfig({})
    expect(config).toMatchObject({
      httpHost: apiEnv.httpHost.default,
      httpPort: apiEnv.httpPort.default,
      mqttUrl: apiEnv.mqttUrl.default,
      influxUrl: apiEnv.influxUrl.default,
      influxDb: apiEnv.influxDb.default,
      sampleIntervalMs: apiEnv.sampleIntervalMs.default,
    })
    expect(config.mqttUsername).toBeUndefined()
    expect(isAbsolute(config.dashboardDir)).toBe(true)
    expect(config.dashboardDir.endsWith('/dashboard/dist')).toBe(true)
  })

  test('variables override defaults and the result is frozen', () => {
    const config = loadConfig({
      EVMON_HTTP_PORT: '0',
      EVMON_MQTT_URL: 'mqtts://broker.example:8883',
      EVMON_MQTT_USERNAME: 'api',
      EVMON_MQTT_PASSWORD: 'secret',
      EVMON_INFLUX_DB: 'evmon_test',
      EVMON_SAMPLE_INTERVAL_MS: '250',
      EVMON_DASHBOARD_DIR: '/srv/evmon/dashboard',
    })
    expect(config).toMatchObject({
      httpPort: 0,
      mqttUrl: 'mqtts://broker.example:8883',
      mqttUsername: 'api',
      mqttPassword: 'secret',
      influxDb: 'evmon_test',
      sampleIntervalMs: 250,
      dashboardDir: '/srv/evmon/dashboard',
    })
    expect(Object.isFrozen(config)).toBe(true)
  })

  test('every bad variable is reported at once', () => {
    let problems: string[] = []
    try {
      loadConfig({
        EVMON_HTTP_PORT: '80x',
        EVMON_MQTT_URL: 'http://broker',
        EVMON_INFLUX_URL: 'not a url',
        EVMON_INFLUX_DB: 'evmon; DROP',
        EVMON_SAMPLE_INTERVAL_MS: '5',
        EVMON_MQTT_PASSWORD: 'orphan',
        EVMON_LOG_LEVEL: 'loud',
      })
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError)
      problems = (err as ConfigError).problems
    }
    const named = problems.map((p) => /^EVMON_[A-Z_]+/.exec(p)?.[0])
    expect(named.sort()).toEqual(
      [
        'EVMON_HTTP_PORT',
        'EVMON_INFLUX_DB',
        'EVMON_INFLUX_URL',
        'EVMON_LOG_LEVEL',
        'EVMON_MQTT_PASSWORD',
        'EVMON_MQTT_URL',
        'EVMON_SAMPLE_INTERVAL_MS',
      ].sort(),
    )
  })

  test('an empty variable counts as unset', () => {
    expect(loadConfig({ EVMON_HTTP_HOST: '' }).httpHost).toBe(apiEnv.httpHost.default)
  })

  test('tokens are configured as role and SHA-256; anything else is refused without echoing it whole', () => {
    const hash = 'a'.repeat(64)
    expect([
      ...loadConfig({ EVMON_API_TOKENS: `operator:${hash}, engineer:${'b'.repeat(64)}` }).tokens,
    ]).toEqual([
      [hash, 'operator'],
      ['b'.repeat(64), 'engineer'],
    ])
    try {
      loadConfig({ EVMON_API_TOKENS: 'admin:plain-secret-token', EVMON_CORS_ORIGINS: 'evil' })
      expect.unreachable()
    } catch (err) {
      const message = (err as ConfigError).message
      expect(message).toMatch(
        /EVMON_API_TOKENS entry "admin:plain-"… must be <operator\|engineer>:<sha256 hex>/,
      )
      expect(message).not.toContain('secret-token')
      expect(message).toMatch(/EVMON_CORS_ORIGINS="evil" has "evil", which must be scheme:\/\/host/)
    }
  })

  test('the alerts file is optional, resolves against the repository and must not be a directory', () => {
    expect(loadConfig({}).alertsFile).toBeUndefined()
    const { alertsFile } = loadConfig({ EVMON_API_ALERTS_FILE: 'var/api/alerts.json' })
    expect(alertsFile !== undefined && isAbsolute(alertsFile)).toBe(true)
    expect(alertsFile?.endsWith('/var/api/alerts.json')).toBe(true)
    // `api` is this workspace's own directory in the checkout.
    expect(() => loadConfig({ EVMON_API_ALERTS_FILE: 'api' })).toThrow(
      /EVMON_API_ALERTS_FILE="api" is a directory, not a file/,
    )
    expect(() => loadConfig({ EVMON_API_ALERTS_FILE: 'var/api/' })).toThrow(
      /EVMON_API_ALERTS_FILE="var\/api\/" must be a file path, not a directory/,
    )
  })
})
