// What a deleted claim must clean up. Pure: decided from the claim, its
// status and the platform config.
import type { AwsWorkloadIdentityClaim } from '../api/types.js';
import { compileClaim } from '../compiler/compile.js';
import type { DeletionPolicy } from '../compiler/types.js';
import type { PlatformConfig } from '../config/types.js';
import type { ClaimOwner } from '../ownership.js';
import { lastValid } from './applied.js';

export interface CleanupTarget {
  accountId: string;
  roleName: string;
  roleArn: string;
  /** Cross-account Pod Identity: the source role in the cluster's account, deleted with the claim's role. */
  sourceRoleName?: string;
  deletionPolicy: DeletionPolicy;
  /** Only resources tagged (or labelled) for this owner are touched. */
  owner: ClaimOwner;
  serviceAccount: { namespace: string; name: string };
}

/**
 * From the compiled claim; or, when the claim no longer compiles (edited into
 * an invalid one after its resources were made), from its last valid spec
 * recorded in status.applied, or at least the role its status recorded.
 * Undefined: the claim never got a role, so there is nothing to do.
 */
export function cleanupTarget(claim: AwsWorkloadIdentityClaim, config: PlatformConfig): CleanupTarget | undefined {
  const namespace = claim.metadata.namespace ?? '';
  const owner: ClaimOwner = { cluster: config.cluster.arn, namespace, claim: claim.metadata.name };
  const compiled = compileClaim(claim, config);
  const d = compiled.ok ? compiled.desired : lastValid(claim, config)?.desired;
  // The deletion policy the author asks for now, if it is one; the last valid one otherwise.
  const asked = claim.spec?.deletionPolicy === 'Retain' || claim.spec?.deletionPolicy === 'Delete' ? claim.spec.deletionPolicy : undefined;
  if (d) {
    return {
      accountId: d.accountId, roleName: d.role.name, roleArn: d.role.arn, ...(d.sourceRole ? { sourceRoleName: d.sourceRole.name } : {}), deletionPolicy: asked ?? d.deletionPolicy, owner,
      serviceAccount: { namespace, name: d.serviceAccount.name },
    };
  }
  const roleArn = claim.status?.applied?.roleArn ?? claim.status?.roleArn;
  const m = roleArn ? /^arn:[^:]+:iam::(\d{12}):role\/(?:[^/]*\/)*([^/]+)$/.exec(roleArn) : null;
  if (!roleArn || !m) return undefined;
  const serviceAccount = { namespace, name: claim.status?.applied?.spec.serviceAccountName ?? claim.spec?.serviceAccountName ?? '' };
  return { accountId: m[1]!, roleName: m[2]!, roleArn, deletionPolicy: asked ?? config.defaults.deletionPolicy, owner, serviceAccount };
}
