export { start, type BrokerHandle } from './broker.ts'
export { brokerEnv, loadConfig, type BrokerConfig } from './config.ts'
export { Credentials, identityFor, SERVICE_ROLES, type Identity } from './credentials.ts'
export { defaultLimits, type SecurityLimits } from './security.ts'
