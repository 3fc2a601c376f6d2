export { start, type GatewayHandle } from './gateway.ts'
export { gatewayEnv, loadConfig, type GatewayConfig } from './config.ts'
export { Chargers, stationIdFor } from './chargers.ts'
