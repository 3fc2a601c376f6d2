// The variables `npm start` (scripts/run-stack.ts) reads itself, and the container healthcheck's.
// Kept apart from run-stack.ts so scripts/env-docs.ts can import them without starting anything.
// Where `npm start` passes a variable on to a service, it reuses that service's declaration: same
// default, same rule, one row in the README.
import { apiEnv } from '@evmon/api'
import { brokerEnv } from '@evmon/broker'
import { envVar } from '@evmon/runtime'
import { gatewayEnv } from '@evmon/gateway'
import { ingestEnv } from '@evmon/ingest'
import { simulatorEnv } from '@evmon/simulator'

export const stackEnv = {
  varDir: envVar.string(
    'EVMON_VAR_DIR',
    'var',
    'local state of `npm start`: InfluxDB data, Redis (broker sessions), ingest spool and dead letters, simulator state, API alerts, dev credentials',
  ),
  influxUrl: envVar.url(
    'EVMON_INFLUX_URL',
    undefined,
    'unset: runs its own influxd and points ingest and api at it',
    ['http:', 'https:'],
  ),
  influxPort: envVar.port('EVMON_INFLUX_PORT', 8086, 'port of the influxd `npm start` runs'),
  redisUrl: brokerEnv.redisUrl,
  // Not Redis's own 6379: Debian's redis-server package may already run a system Redis there.
  redisPort: envVar.port(
    'EVMON_REDIS_PORT',
    6380,
    'port of the redis-server `npm start` runs (data in var/redis)',
  ),
  httpHost: apiEnv.httpHost,
  httpPort: apiEnv.httpPort,
  mqttPort: brokerEnv.mqttPort,
  mqttWsPort: brokerEnv.wsPort,
  brokerMetricsPort: brokerEnv.metricsPort,
  ingestMetricsPort: ingestEnv.metricsPort,
  gatewayPort: gatewayEnv.port,
  simMetricsPort: envVar.port(
    'EVMON_SIM_METRICS_PORT',
    9103,
    "passed on as the simulator's `EVMON_SIM_PORT` (control API, `/healthz`, `/metrics`)",
  ),
  simSeed: simulatorEnv.seed,
  simSpeed: simulatorEnv.speed,
}

/**
 * Read by scripts/healthcheck.mjs inside each container (plain Node without dependencies, so it cannot
 * import this); docker-compose.yml sets it per service. Declared here so it is documented.
 */
export const healthcheckEnv = {
  healthUrl: envVar.url(
    'EVMON_HEALTH_URL',
    undefined,
    'the `/healthz` URL `scripts/healthcheck.mjs` probes inside each container',
    ['http:', 'https:'],
  ),
}
