// What a deleted claim must clean up. Pure: decided from the claim, its
// status and the platform config.
import type { AwsWorkloadIdentityClaim } from '../api/types.js';
import { compileClaim } from '../compiler/compile.js';
import type { DeletionPolicy } from '../compiler/types.js';
import type { PlatformConfig } from '../config/types.js';
import type { ClaimOwner } from './plan.js';

export interface CleanupTarget {
  accountId: string;
  roleName: string;
  roleArn: string;
  deletionPolicy: DeletionPolicy;
  /** Only resources tagged (or labelled) for this owner are touched. */
  owner: ClaimOwner;
  serviceAccount: { namespace: string; name: string };
}

/**
 * From the compiled claim; or, when the claim no longer compiles (edited into
 * an invalid one after its resources were made), from the role its status
 * recorded. Undefined: the claim never got a role, so there is nothing to do.
 */
export function cleanupTarget(claim: AwsWorkloadIdentityClaim, config: PlatformConfig): CleanupTarget | undefined {
  const namespace = claim.metadata.namespace ?? '';
  const owner: ClaimOwner = { cluster: config.cluster.arn, namespace, claim: claim.metadata.name };
  const serviceAccount = { namespace, name: claim.spec?.serviceAccountName ?? '' };
  const compiled = compileClaim(claim, config);
  if (compiled.ok) {
    const d = compiled.desired;
    return { accountId: d.accountId, roleName: d.role.name, roleArn: d.role.arn, deletionPolicy: d.deletionPolicy, owner, serviceAccount };
  }
  const roleArn = claim.status?.roleArn;
  const m = roleArn ? /^arn:[^:]+:iam::(\d{12}):role\/(?:[^/]*\/)*([^/]+)$/.exec(roleArn) : null;
  if (!roleArn || !m) return undefined;
  const deletionPolicy = claim.spec?.deletionPolicy === 'Retain' || claim.spec?.deletionPolicy === 'Delete' ? claim.spec.deletionPolicy : config.defaults.deletionPolicy;
  return { accountId: m[1]!, roleName: m[2]!, roleArn, deletionPolicy, owner, serviceAccount };
}
