// What a valid platform configuration may still get wrong: said once at
// start-up (the controller logs them), never a reason to refuse.

import type { PlatformConfig } from './types.js';

export interface ConfigWarning {
  field: string;
  rule: string;
  message: string;
}

export function platformConfigWarnings(config: PlatformConfig): ConfigWarning[] {
  const warnings: ConfigWarning[] = [];
  if (!config.roles.permissionsBoundaryArn) {
    warnings.push({
      field: 'roles.permissionsBoundaryArn',
      rule: 'boundary-recommended',
      message:
        'no permissions boundary is set: a role awi creates is limited only by its own policy; set roles.permissionsBoundaryArn (deploy/aws/README.md) so that no claim can exceed what the platform allows',
    });
  }
  return warnings;
}
