import { envVar, logEnv, mqttClientEnv } from '@evmon/runtime'
import { DEFAULTS } from './defaults.ts'
import { ocppSimulatorEnv } from './ocpp/options.ts'

/**
 * The simulator's EVMON_* variables. Each one's parser also checks the command-line flag that
 * overrides it (see config.ts), so a flag and its variable follow one rule; the README table and
 * `.env.example` are generated from these declarations (`npm run docs:env`).
 */
export const simulatorEnv = {
  ...logEnv,
  ...mqttClientEnv,
  ...ocppSimulatorEnv,
  seed: envVar.int(
    'EVMON_SIM_SEED',
    DEFAULTS.seed,
    'random seed: same seed, site file and start time ⇒ same output',
    0,
    0xffff_ffff,
  ),
  speed: envVar.custom(
    'EVMON_SIM_SPEED',
    DEFAULTS.speed,
    'simulated seconds per wall-clock second',
    (raw) => {
      const n = Number(raw)
      if (raw.trim() === '' || !Number.isFinite(n) || n <= 0 || n > DEFAULTS.maxSpeed) {
        throw new Error(`must be a number above 0 and at most ${DEFAULTS.maxSpeed}`)
      }
      return n
    },
  ),
  site: envVar.string('EVMON_SIM_SITE', 'config/sites/beibei.json', 'site file'),
  port: envVar.port(
    'EVMON_SIM_PORT',
    DEFAULTS.port,
    'control API, `/healthz`, `/metrics`; 0 picks a free port',
  ),
  metricsPort: envVar.port(
    'EVMON_SIM_METRICS_PORT',
    DEFAULTS.port,
    'older name of `EVMON_SIM_PORT`, used when that is unset',
  ),
  host: envVar.string('EVMON_SIM_HOST', DEFAULTS.host, 'control API listen address'),
  state: envVar.string(
    'EVMON_SIM_STATE',
    'var/simulator/{site}.json',
    'state file carrying the meter registers across restarts (live, backfill; `{site}` is the site id), ' +
      'or `off`; a dry run keeps none unless given one',
  ),
}
