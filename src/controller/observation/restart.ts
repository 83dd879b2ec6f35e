// Pure rules for reconciling from the shared observations: what a claim's
// recorded status vouches for after a restart, which plans need a direct
// association read before acting, and the state awi's own writes leave behind
// (so propagation can be checked in the same reconcile). No I/O.
import type { AwsWorkloadIdentityClaim } from '../../api/types.js';
import type { DesiredState } from '../../compiler/types.js';
import type { ObservedAssociation } from '../managers/association.js';
import type { ObservedRole } from '../managers/role.js';
import type { RecordedVerdict } from '../checks.js';
import type { Plan } from '../plan.js';
import type { AssociationRef } from './association-pages.js';
import type { CachedRole } from './role-pages.js';

/**
 * An association this process never described, as the claim's status vouches
 * for it: the claim was Ready at its current generation with this association
 * id, this role, mechanism and policy digests, and the desired state still has
 * them. awi then takes the association to be what the claim asks for (the
 * rotating re-describe checks it within controller.associationRecheckSeconds).
 * Undefined (describe it) for anything else, and always for a cross-account
 * association: its external id, which the trust must name, is only in a describe.
 */
export function assumeFromStatus(claim: AwsWorkloadIdentityClaim, desired: DesiredState, ref: AssociationRef): ObservedAssociation | undefined {
  const b = desired.binding;
  const s = claim.status;
  if (b.kind !== 'PodIdentityAssociation' || b.targetRoleArn || desired.sourceRole || ref.ownerArn) return undefined;
  if (ref.namespace !== b.namespace || ref.serviceAccount !== b.serviceAccount) return undefined;
  if (!s || s.associationId !== ref.associationId || s.mechanism !== 'PodIdentity' || desired.mechanism !== 'PodIdentity') return undefined;
  if (s.roleArn !== desired.role.arn || b.roleArn !== desired.role.arn) return undefined;
  if (s.policyDigest !== desired.digests.policy || s.trustPolicyDigest !== desired.digests.trust) return undefined;
  const ready = s.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status !== 'True' || s.observedGeneration === undefined || s.observedGeneration !== claim.metadata.generation) return undefined;
  return {
    associationId: ref.associationId,
    associationArn: ref.associationArn,
    clusterName: b.clusterName,
    namespace: ref.namespace,
    serviceAccount: ref.serviceAccount,
    roleArn: b.roleArn,
    tags: { ...b.tags },
    disableSessionTags: b.disableSessionTags ?? false,
    ...(b.policy ? { policy: b.policy } : {}),
  };
}

const CHANGES_AN_ASSOCIATION = new Set(['UpdateAssociation', 'TagAssociation', 'UntagAssociation', 'DeleteAssociation', 'RevokeAssociation']);

/**
 * Does this plan act on (or stop because of) an existing association? Then
 * the ServiceAccount's associations are read directly first. Creating one
 * needs no read: EKS refuses a second association for a ServiceAccount, so a
 * stale "none" ends in ResourceInUseException, never in a duplicate.
 */
export function needsAssociationRead(plan: Plan): boolean {
  return plan.steps.some((s) => CHANGES_AN_ASSOCIATION.has(s.kind)) || plan.blockers.some((b) => b.resource === 'Binding');
}

/** The role as awi's writes in this reconcile left it (desired), or as observed when none touched it. */
export function roleAsWritten(desired: DesiredState, observed: ObservedRole | undefined, roleWritten: boolean): ObservedRole | undefined {
  if (observed && !roleWritten) return observed;
  const r = desired.role;
  return {
    name: r.name, path: r.path, arn: r.arn, trustPolicy: r.trustPolicy, tags: { ...r.tags },
    ...(r.permissionsBoundaryArn ? { permissionsBoundaryArn: r.permissionsBoundaryArn } : {}),
    maxSessionDurationSeconds: r.maxSessionDurationSeconds, description: r.description,
  };
}

/**
 * The role as a complete plan leaves it: every compared field as desired,
 * exactly awi's inline policy (none for a claim of managed policies only) and
 * the claimed managed policies. What the role cache holds after awi's own
 * writes were confirmed by a credentials check.
 */
export function roleAfterCompletePlan(desired: DesiredState): CachedRole {
  const p = desired.permissionPolicy;
  return {
    role: roleAsWritten(desired, undefined, true)!,
    inlinePolicies: p.document.Statement.length > 0 ? { [p.name]: p.document } : {},
    attachedPolicyArns: [...desired.managedPolicyArns].sort(),
  };
}

/** The CredentialsVerified verdict the claim's status recorded, for the first check of a new process (ClaimChecks.seedFromStatus). */
export function recordedVerdict(claim: AwsWorkloadIdentityClaim): RecordedVerdict | undefined {
  const s = claim.status;
  const c = s?.conditions?.find((x) => x.type === 'CredentialsVerified');
  if (!s || !c || s.observedGeneration === undefined) return undefined;
  return { fingerprint: `${s.mechanism}|${s.roleArn}|${s.observedGeneration}`, condition: { type: c.type, status: c.status, reason: c.reason, message: c.message } as RecordedVerdict['condition'] };
}
