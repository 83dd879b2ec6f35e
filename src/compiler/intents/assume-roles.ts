// Role chaining: sts:AssumeRole on one named role, with its external id.

import type { AssumeRolePermission } from '../../api/types.js';
import { allow, type Grant } from './grant.js';

export function assumeRoleGrants(entries: AssumeRolePermission[]): Grant[] {
  return entries.map((entry, i) => ({
    ...allow(
      `spec.permissions.assumeRoles[${i}]`,
      ['sts:AssumeRole'],
      [entry.roleArn],
      entry.externalId ? { StringEquals: { 'sts:ExternalId': entry.externalId } } : undefined,
    ),
    assumeRole: true,
  }));
}
