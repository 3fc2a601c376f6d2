import { expect, test } from 'vitest'
import { loadConfig } from '../src/config.ts'

test('defaults are the documented ports, with authentication required', () => {
  expect(() => loadConfig({})).toThrow(/EVMON_BROKER_CREDENTIALS is not set/)
  const config = loadConfig({ EVMON_BROKER_CREDENTIALS: '/x/credentials.json' })
  expect(config).toMatchObject({
    host: '127.0.0.1',
    mqttPort: 1883,
    wsPort: 8083,
    wsPath: '/mqtt',
    metricsPort: 9101,
  })
  expect(config.tls).toBeUndefined()
  expect(Object.isFrozen(config)).toBe(true)
})

test('every bad variable is reported at once', () => {
  let message = ''
  try {
    loadConfig({
      EVMON_MQTT_PORT: '70000',
      EVMON_MQTT_WS_PATH: 'mqtt',
      EVMON_BROKER_ALLOW_ANONYMOUS: 'yes',
      EVMON_BROKER_TLS_CERT: '/c.pem',
      EVMON_REDIS_URL: 'http://redis',
      EVMON_BROKER_STATION_RATE: '0',
      EVMON_BROKER_CLUSTER: 'true',
    })
  } catch (err) {
    message = (err as Error).message
  }
  for (const name of [
    'EVMON_MQTT_PORT',
    'EVMON_MQTT_WS_PATH',
    'EVMON_BROKER_ALLOW_ANONYMOUS',
    'EVMON_BROKER_TLS_KEY',
    'EVMON_REDIS_URL',
    'EVMON_BROKER_STATION_RATE',
    'EVMON_BROKER_CREDENTIALS',
    'EVMON_BROKER_CLUSTER',
  ]) {
    expect(message).toContain(name)
  }
})

test('TLS, Redis and limits are read when set', () => {
  const config = loadConfig({
    EVMON_BROKER_ALLOW_ANONYMOUS: 'true',
    EVMON_BROKER_TLS_CERT: '/c.pem',
    EVMON_BROKER_TLS_KEY: '/k.pem',
    EVMON_MQTT_TLS_PORT: '8884',
    EVMON_REDIS_URL: 'redis://127.0.0.1:6379/2',
    EVMON_BROKER_MAX_PAYLOAD_BYTES: '1024',
  })
  expect(config.tls).toEqual({ port: 8884, certFile: '/c.pem', keyFile: '/k.pem' })
  expect(config.redisUrl).toBe('redis://127.0.0.1:6379/2')
  expect(config.cluster).toBe(false)
  expect(config.limits?.maxPayloadBytes).toBe(1024)
  expect(config.credentialsFile).toBeUndefined()
})
