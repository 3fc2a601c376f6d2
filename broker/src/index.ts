export { start, type BrokerHandle } from './broker.ts'
export { brokerDefaults, loadConfig, type BrokerConfig } from './config.ts'
