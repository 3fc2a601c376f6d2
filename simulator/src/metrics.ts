import type { Site } from './site.ts'

/** Counters of a running simulation beyond the model's own. */
export interface RunCounters {
  steps: number
  /** Messages handed to the publisher (or written, in a dry run). */
  messages: number
  acknowledged: number
  /** Publishes sent again after mqtt.js failed them on a lost connection. */
  republished: number
  /** Publishes given up unacknowledged at close. */
  abandoned: number
  inFlight: number
  paused: boolean
}

const line = (name: string, help: string, type: 'counter' | 'gauge', value: number, labels = '') =>
  `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name}${labels} ${value}\n`

/** Prometheus text exposition of the simulator's state, for `/metrics`. */
export function renderMetrics(site: Site, run: RunCounters): string {
  const totals = site.totals
  const currency = `{currency="${site.config.tariff.currency}"}`
  return [
    line('evmon_sim_steps_total', 'Simulated samples advanced.', 'counter', run.steps),
    line(
      'evmon_sim_connector_samples_total',
      'Connector samples generated (one per connector per step).',
      'counter',
      run.steps * site.connectorCount,
    ),
    line('evmon_sim_messages_total', 'Messages handed to the MQTT client.', 'counter', run.messages),
    line(
      'evmon_sim_messages_acknowledged_total',
      'QoS 1 publishes the broker acknowledged.',
      'counter',
      run.acknowledged,
    ),
    line(
      'evmon_sim_messages_republished_total',
      'QoS 1 publishes sent again after the connection they were queued on was lost.',
      'counter',
      run.republished,
    ),
    line(
      'evmon_sim_messages_abandoned_total',
      'QoS 1 publishes given up unacknowledged (only at shutdown, after its timeout).',
      'counter',
      run.abandoned,
    ),
    line('evmon_sim_publish_in_flight', 'Publishes awaiting PUBACK.', 'gauge', run.inFlight),
    line('evmon_sim_time_seconds', 'Simulated time, Unix seconds.', 'gauge', site.nowMs / 1000),
    line('evmon_sim_paused', '1 while paused through the control API.', 'gauge', run.paused ? 1 : 0),
    line('evmon_sim_stations', 'Simulated stations.', 'gauge', site.stationIds.length),
    line('evmon_sim_stations_online', 'Stations with their connection up.', 'gauge', site.onlineStations),
    line('evmon_sim_grid_limit_watts', 'Site grid limit load management respects.', 'gauge', site.gridLimitW),
    line('evmon_sim_sessions_total', 'Charging sessions finished.', 'counter', totals.sessions),
    line(
      'evmon_sim_energy_delivered_wh_total',
      'Energy of finished sessions, Wh.',
      'counter',
      totals.energyWh,
    ),
    line(
      'evmon_sim_revenue_total',
      'What finished sessions cost their drivers.',
      'counter',
      totals.revenue,
      currency,
    ),
    line(
      'evmon_sim_failed_starts_total',
      'Sessions that never started (EVCommunicationError).',
      'counter',
      totals.failedStarts,
    ),
    line(
      'evmon_sim_interrupted_sessions_total',
      'Sessions ended by a fault.',
      'counter',
      totals.interruptedSessions,
    ),
    line(
      'evmon_sim_unserved_drivers_total',
      'Drivers who left without a free connector.',
      'counter',
      site.unservedDrivers,
    ),
  ].join('')
}
