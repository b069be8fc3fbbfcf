/**
 * config/: the schema (single registry of settings with defaults and descriptions), loading
 * postern.yaml and rendering the reference. Never starts anything; fails with ConfigError
 * listing every problem with its key path.
 * Imports: core.
 */
export * from './schema.ts';
export * from './load.ts';
export { renderConfigReference } from './docs.ts';
export { fullHostname, HOSTNAME_SHOWN_IN } from './hostname.ts';
export { checkConfig, shortHostname, type CheckResult, type Finding } from './check.ts';
