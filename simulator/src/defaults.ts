import { fileURLToPath } from 'node:url'

/** Simulator defaults; each run-time one is overridable by a flag or an `EVMON_*` variable (see config.ts). */
export const DEFAULTS = {
  mqttUrl: 'mqtt://127.0.0.1:1883', // EVMON_MQTT_URL, --url: the broker's plain TCP listener
  sitePath: fileURLToPath(new URL('../../config/sites/beibei.json', import.meta.url)), // EVMON_SIM_SITE, --site
  statePath: fileURLToPath(new URL('../../var/simulator/{site}.json', import.meta.url)), // EVMON_SIM_STATE, --state (live, backfill); {site} is the site id
  port: 9103, // EVMON_SIM_PORT (or EVMON_SIM_METRICS_PORT), --port: control API, /healthz, /metrics
  host: '127.0.0.1', // EVMON_SIM_HOST, --host: the control API is for tests and demos on this machine
  maxScaleStations: 100_000, // --scale: the broker's service account allows 100,000 connections
  stateSaveIntervalMs: 10_000, // a crash loses at most this much of the registers' progress
  progressIntervalMs: 1000, // backfill redraws its progress line this often
  seed: 1, // EVMON_SIM_SEED, --seed: fixed, so two runs without a seed publish the same story
  speed: 1, // EVMON_SIM_SPEED, --speed: simulated seconds per wall-clock second (1 = real time)
  maxSpeed: 100_000, // beyond this the pacing loop cannot keep its promise anyway
  sampleIntervalMs: 1000, // one telemetry message per station per second
  dryRunDurationS: 3600, // --duration of a dry run that gives none: one simulated hour
  maxInFlightMessages: 10_000, // QoS 1 publishes awaiting PUBACK before the simulation waits for the broker
  maxStepsPerTick: 500, // catching up after a stall never blocks the event loop for long
  closeTimeoutMs: 5000, // close() waits this long for unacknowledged publishes before dropping them
  recentSessions: 500, // finished sessions (with their cost) the control API can list
} as const

/** How every mode's publisher connects its stations (live, backfill, scale, replay). */
export const PUBLISHER_DEFAULTS = {
  reconnectPeriodMs: 1000, // mqtt.js retries a lost broker connection this often
  connectTimeoutMs: 10_000, // mqtt.js gives up one connection attempt after this
  connectsPerSecond: 2000, // a city of stations connects over seconds, not in one burst the broker must absorb
  maxConnectsPending: 200, // stations awaiting their first CONNACK: ≈ 3 s of scrypt checks on our broker, well inside connectTimeoutMs
  maxStationsLoggedEach: 20, // beyond this, connection problems are logged as a summary
  summaryIntervalMs: 10_000, // how often that summary is logged
} as const
