import { Registry, stateMetrics } from '@evmon/runtime'
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

/** A prom-client registry reading the simulator's state at each scrape, for `/metrics`. */
export function simulatorRegistry(read: () => { site: Site; run: RunCounters }): Registry {
  const registry = new Registry()
  const { counter, counterBy, gauge } = stateMetrics(registry, read)

  counter('evmon_sim_steps_total', 'Simulated samples advanced.', ({ run }) => run.steps)
  counter(
    'evmon_sim_connector_samples_total',
    'Connector samples generated (one per connector per step).',
    ({ site, run }) => run.steps * site.connectorCount,
  )
  counter('evmon_sim_messages_total', 'Messages handed to the MQTT client.', ({ run }) => run.messages)
  counter(
    'evmon_sim_messages_acknowledged_total',
    'QoS 1 publishes the broker acknowledged.',
    ({ run }) => run.acknowledged,
  )
  counter(
    'evmon_sim_messages_republished_total',
    'QoS 1 publishes sent again after the connection they were queued on was lost.',
    ({ run }) => run.republished,
  )
  counter(
    'evmon_sim_messages_abandoned_total',
    'QoS 1 publishes given up unacknowledged (only at shutdown, after its timeout).',
    ({ run }) => run.abandoned,
  )
  gauge('evmon_sim_publish_in_flight', 'Publishes awaiting PUBACK.', ({ run }) => run.inFlight)
  gauge('evmon_sim_time_seconds', 'Simulated time, Unix seconds.', ({ site }) => site.nowMs / 1000)
  gauge('evmon_sim_paused', '1 while paused through the control API.', ({ run }) => run.paused)
  gauge('evmon_sim_stations', 'Simulated stations.', ({ site }) => site.stationIds.length)
  gauge('evmon_sim_stations_online', 'Stations with their connection up.', ({ site }) => site.onlineStations)
  gauge(
    'evmon_sim_grid_limit_watts',
    'Site grid limit load management respects.',
    ({ site }) => site.gridLimitW,
  )
  counter('evmon_sim_sessions_total', 'Charging sessions finished.', ({ site }) => site.totals.sessions)
  counter(
    'evmon_sim_energy_delivered_wh_total',
    'Energy of finished sessions, Wh.',
    ({ site }) => site.totals.energyWh,
  )
  counterBy(
    'evmon_sim_revenue_total',
    'What finished sessions cost their drivers.',
    'currency',
    ({ site }) => ({
      [site.config.tariff.currency]: site.totals.revenue,
    }),
  )
  counter(
    'evmon_sim_failed_starts_total',
    'Sessions that never started (EVCommunicationError).',
    ({ site }) => site.totals.failedStarts,
  )
  counter(
    'evmon_sim_interrupted_sessions_total',
    'Sessions ended by a fault.',
    ({ site }) => site.totals.interruptedSessions,
  )
  counter(
    'evmon_sim_unserved_drivers_total',
    'Drivers who left without a free connector.',
    ({ site }) => site.unservedDrivers,
  )
  return registry
}
