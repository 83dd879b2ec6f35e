// The heart of the controller: compare the desired state (from the compiler)
// with what was observed, and decide which steps to take. Pure: no clients,
// no clock. Each resource kind decides its own steps (resources/*.ts); the
// plan is the registry's ordered fold (resources/index.ts). This file keeps
// the vocabulary they share. The reconciler executes the steps in order.
import { LABEL, MANAGED_BY, TAG } from '../compiler/tags.js';
import type { DesiredState, PolicyDocument } from '../compiler/types.js';
import type { ObservedAssociation } from './managers/association.js';
import type { ObservedRole } from './managers/role.js';
import type { ObservedServiceAccount } from './managers/service-account.js';
import type { ResourceKind, Step } from './resources/index.js';

export { planReconcile, stepResource } from './resources/index.js';
export {
  associationDrift, associationTagDrift, associationTagRequest, associationUpdate, claimAssociations,
  type AssociationDrift, type AssociationField, type TagDrift,
} from './resources/binding.js';

export const ROLE_ARN_ANNOTATION = 'eks.amazonaws.com/role-arn';
/** Tag set on AWS resources a claim with deletionPolicy Retain let go of. */
export const RELEASED_TAG = 'awi.dev/released';

export interface Observed {
  serviceAccount?: ObservedServiceAccount;
  role?: ObservedRole;
  /** The claim's inline policy, if present. */
  inlinePolicy?: PolicyDocument;
  /** Names of every inline policy on the role (ours and any added behind our back). */
  inlinePolicyNames: string[];
  attachedPolicyArns: string[];
  /** Pod Identity associations for the claim's namespace and ServiceAccount on this cluster. */
  associations: ObservedAssociation[];
  /** The claim the ServiceAccount's labels name no longer exists (e.g. removed without its finalizer). */
  serviceAccountHolderGone?: boolean;
}

export type Resource = ResourceKind;
export type { Step };

export interface Blocker {
  resource: Resource;
  reason: 'ServiceAccountNotOwned' | 'ServiceAccountConflict' | 'RoleNotOwned' | 'AssociationConflict';
  message: string;
}

export interface Plan {
  steps: Step[];
  blockers: Blocker[];
}

// --- ownership: awi only ever changes what carries its mark -----------------

export function roleOwner(tags: Record<string, string>): { cluster: string; namespace: string; claim: string } | undefined {
  if (tags[TAG.managedBy] !== MANAGED_BY) return undefined;
  return { cluster: tags[TAG.cluster] ?? '', namespace: tags[TAG.namespace] ?? '', claim: tags[TAG.claim] ?? '' };
}

export interface ClaimOwner {
  cluster: string;
  namespace: string;
  claim: string;
}

export function ownedByClaim(tags: Record<string, string>, d: Pick<DesiredState, 'claim' | 'role'>): boolean {
  return ownedBy(tags, { cluster: d.role.tags[TAG.cluster] ?? '', namespace: d.claim.namespace, claim: d.claim.name });
}

export function ownedBy(tags: Record<string, string>, owner: ClaimOwner): boolean {
  const o = roleOwner(tags);
  return !!o && o.cluster === owner.cluster && o.namespace === owner.namespace && o.claim === owner.claim;
}

export function serviceAccountClaim(sa: ObservedServiceAccount): { namespace: string; claim: string } | undefined {
  const o = serviceAccountOwnership(sa);
  return o.kind === 'claim' ? { namespace: o.namespace, claim: o.claim } : undefined;
}

/**
 * Who holds a ServiceAccount: a claim (both awi labels), nobody but awi
 * ("released": awi's managed-by label without a claim label, e.g. after a
 * Retain deletion; any claim for it in its namespace may take it), or
 * somebody else (no managed-by=awi label: awi never touches it).
 */
export type ServiceAccountOwnership =
  | { kind: 'claim'; namespace: string; claim: string }
  | { kind: 'released' }
  | { kind: 'foreign'; managedBy?: string };

export function serviceAccountOwnership(sa: ObservedServiceAccount): ServiceAccountOwnership {
  const managedBy = sa.labels[LABEL.managedBy];
  if (managedBy !== MANAGED_BY) return managedBy === undefined ? { kind: 'foreign' } : { kind: 'foreign', managedBy };
  const claim = sa.labels[LABEL.claim];
  if (!claim) return { kind: 'released' };
  return { kind: 'claim', namespace: sa.labels[LABEL.claimNamespace] ?? sa.namespace, claim };
}

/** Labels to remove when a claim lets go of its ServiceAccount (Retain): the managed-by label stays, so another claim may take it. */
export const RELEASE_LABELS: Record<string, null> = { [LABEL.claim]: null, [LABEL.claimNamespace]: null };

/** Is the other mechanism's binding still in place (a switch in progress)? */
export function previousBindingPresent(desired: DesiredState, observed: Observed): boolean {
  if (desired.mechanism === 'IRSA') return observed.associations.some((a) => ownedByClaim(a.tags, desired));
  const sa = observed.serviceAccount;
  return !!sa && isOurs(sa, desired) && sa.annotations[ROLE_ARN_ANNOTATION] !== undefined;
}

const isOurs = (sa: ObservedServiceAccount, d: DesiredState): boolean => {
  const c = serviceAccountOwnership(sa);
  return c.kind === 'claim' && c.namespace === d.claim.namespace && c.claim === d.claim.name;
};
