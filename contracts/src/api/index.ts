// Route schemas of the API (`/api/v1/...`) and the metric computations the dashboard shares with it.
export * from './alerts.ts'
export * from './analytics.ts'
export * from './availability.ts'
export * from './history.ts'
export * from './live.ts'
export * from './metrics.ts'
export * from './params.ts'
export * from './replay.ts'
export * from './sessions.ts'
// The tariff engine belongs to the site description; the API's routes price with it.
export * from '../site/tariff.ts'
