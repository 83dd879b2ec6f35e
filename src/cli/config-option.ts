// The --config option shared by the commands, and loading it with errors a
// person can act on.

import { Option } from 'commander';
import { ConfigError, loadPlatformConfig } from '../config/index.js';
import type { PlatformConfig } from '../config/types.js';
import type { Io } from './io.js';

export function configOption(): Option {
  return new Option('-c, --config <file>', 'platform configuration (YAML)').env('AWI_CONFIG').makeOptionMandatory();
}

export function namespaceOption(): Option {
  return new Option('-n, --namespace <namespace>', 'namespace for claims that name none').default('default');
}

/** The configuration, or undefined after printing why it cannot be used. Never throws (an alias bomb in the file included). */
export function loadConfigOrReport(path: string, io: Io): PlatformConfig | undefined {
  try {
    return loadPlatformConfig(path);
  } catch (err) {
    io.err(err instanceof ConfigError ? err.message : `invalid ${path}: ${(err as Error).message}`);
    return undefined;
  }
}
