// Revocation: an identity (role, ServiceAccount, binding) a claim stops asking
// for must stop yielding credentials. When the role name, the role's account
// or the ServiceAccount name changes, the identity status.applied recorded is
// listed in status.retiring in the same status write that records the new one
// (before the new one is made), so a crash between steps cannot lose track of
// it; it is removed once the new identity is Ready, or when the claim is
// deleted. Pure: decided from status and the desired identity.
import type { ClaimStatus, RetiringIdentity } from '../api/types.js';
import type { Mechanism } from '../compiler/types.js';

/** status.retiring's maxItems in the CRD. */
export const MAX_RETIRING = 32;

/** What makes an identity: the role (its ARN names the account) and the ServiceAccount it is bound to. */
export interface IdentityRef {
  roleArn: string;
  serviceAccount: string;
  mechanism?: Mechanism;
}

const sameIdentity = (a: IdentityRef, b: IdentityRef): boolean => a.roleArn === b.roleArn && a.serviceAccount === b.serviceAccount;

/** The identity status.applied records (the last spec that compiled), if any. */
export function appliedIdentity(status: ClaimStatus | undefined): RetiringIdentity | undefined {
  const applied = status?.applied;
  if (!applied?.roleArn || !applied.spec?.serviceAccountName) return undefined;
  const associationId = applied.mechanism === 'PodIdentity' ? status?.associationId : undefined;
  return {
    roleArn: applied.roleArn,
    serviceAccount: applied.spec.serviceAccountName,
    mechanism: applied.mechanism,
    ...(associationId ? { associationId } : {}),
  };
}

export interface RetiringUpdate {
  /** status.retiring from now on. */
  retiring: RetiringIdentity[];
  /** It differs from what status holds: write it (with the new status.applied) before making the new identity. */
  changed: boolean;
  /**
   * More identities waiting than status can hold (a claim renamed again and
   * again while its new identity never got Ready): retire them now, before
   * making the new one, rather than lose track of any.
   */
  overflow: boolean;
}

/**
 * status.retiring once the claim asks for `wanted`: the applied identity
 * joins it when the claim moved away from it, and an entry the claim asks for
 * again leaves it (renamed back before it was retired).
 */
export function recordIdentityMove(status: ClaimStatus | undefined, wanted: IdentityRef): RetiringUpdate {
  const current = status?.retiring ?? [];
  const list = current.filter((e) => !sameIdentity(e, wanted));
  const old = appliedIdentity(status);
  if (old && !sameIdentity(old, wanted) && !list.some((e) => sameIdentity(e, old))) list.push(old);
  const changed = list.length !== current.length || list.some((e, i) => !sameIdentity(e, current[i]!));
  return { retiring: list, changed, overflow: list.length > MAX_RETIRING };
}

/** What to remove for one retiring identity. Only what carries this claim's ownership tags or labels is ever touched. */
export interface RetireAction {
  entry: RetiringIdentity;
  /** Delete the role and its policies: the claim's identity in force uses another role. */
  role?: { accountId: string; name: string; arn: string };
  /** Delete the ServiceAccount's association and the ServiceAccount: the identity in force uses another one. */
  serviceAccount?: string;
}

const ROLE_ARN = /^arn:[^:]+:iam::(\d{12}):role\/(?:[^/]*\/)*([^/]+)$/;

/**
 * The removals for the retiring identities, keeping what the identity still
 * in force uses (`keep`: the desired identity, or the one a Retain deletion
 * leaves in place). A role or ServiceAccount shared by several entries is
 * removed once.
 */
export function retireActions(entries: RetiringIdentity[], keep: Partial<IdentityRef> = {}): RetireAction[] {
  const roles = new Set<string>();
  const serviceAccounts = new Set<string>();
  const out: RetireAction[] = [];
  for (const entry of entries) {
    const m = ROLE_ARN.exec(entry.roleArn);
    const removeRole = !!m && entry.roleArn !== keep.roleArn && !roles.has(entry.roleArn);
    const removeSa = entry.serviceAccount !== '' && entry.serviceAccount !== keep.serviceAccount && !serviceAccounts.has(entry.serviceAccount);
    if (removeRole) roles.add(entry.roleArn);
    if (removeSa) serviceAccounts.add(entry.serviceAccount);
    if (!removeRole && !removeSa) continue;
    out.push({
      entry,
      ...(removeRole ? { role: { accountId: m[1]!, name: m[2]!, arn: entry.roleArn } } : {}),
      ...(removeSa ? { serviceAccount: entry.serviceAccount } : {}),
    });
  }
  return out;
}

/**
 * Everything a deleted claim still has to remove besides its current target:
 * status.retiring, and the applied identity when it is not the target (the
 * claim was edited and deleted before the move was recorded).
 */
export function retiringAtDeletion(status: ClaimStatus | undefined, target: IdentityRef | undefined): RetiringIdentity[] {
  const entries = [...(status?.retiring ?? [])];
  const old = appliedIdentity(status);
  if (old && !(target && sameIdentity(old, target)) && !entries.some((e) => sameIdentity(e, old))) entries.push(old);
  return target ? entries.filter((e) => !sameIdentity(e, target)) : entries;
}
