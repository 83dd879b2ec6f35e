export { ConfigError, loadPlatformConfig, parsePlatformConfig } from './load.js';
export { platformConfigSchema } from './schema.js';
export type * from './types.js';
export { platformConfigWarnings, type ConfigWarning } from './warnings.js';
