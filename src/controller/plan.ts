// The heart of the controller: compare the desired state (from the compiler)
// with what was observed, and decide which steps to take. Pure: no clients,
// no clock. Each resource kind decides its own steps (resources/*.ts); the
// plan is the registry's ordered fold (resources/index.ts). This file keeps
// the vocabulary they share. The reconciler executes the steps in order.
import { isOurs, ownedByClaim, ROLE_ARN_ANNOTATION } from '../ownership.js';
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
// The vocabulary lives in src/ownership.ts.

/** Is the other mechanism's binding still in place (a switch in progress)? */
export function previousBindingPresent(desired: DesiredState, observed: Observed): boolean {
  if (desired.mechanism === 'IRSA') return observed.associations.some((a) => ownedByClaim(a.tags, desired));
  const sa = observed.serviceAccount;
  return !!sa && isOurs(sa, desired) && sa.annotations[ROLE_ARN_ANNOTATION] !== undefined;
}
