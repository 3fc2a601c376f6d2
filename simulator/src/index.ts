// The simulator's public surface: the live runner and dry run, and the pure model underneath for
// tests and in-process use.
export { parseConfig, USAGE, type ParsedConfig, type SimulatorConfig } from './config.ts'
export { DEFAULTS } from './defaults.ts'
export { dryRunMessages, runDryRun } from './dry-run.ts'
export { start, type SimulatorHandle, type StartOptions } from './live.ts'
export { toNdjsonLine, type SimMessage } from './messages.ts'
export type { Logger } from './publisher.ts'
export { loadSiteConfig, parseSiteConfig, SiteConfigError } from './site-config.ts'
export type { SiteConfig } from './site-config-schema.ts'
export { createSite, type Site, type SiteOptions } from './site.ts'
export type { VehicleSpec } from './vehicle.ts'
