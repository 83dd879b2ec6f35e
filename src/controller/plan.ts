// The heart of the controller: compare the desired state (from the compiler)
// with what was observed, and decide which steps to take. Pure: no clients,
// no clock. The reconciler executes the steps in order.
import { policiesEqual } from '../compiler/canonical.js';
import { LABEL, MANAGED_BY, TAG } from '../compiler/tags.js';
import type { DesiredState, PolicyDocument } from '../compiler/types.js';
import type { ObservedAssociation } from './managers/association.js';
import type { ObservedRole } from './managers/role.js';
import type { ObservedServiceAccount } from './managers/service-account.js';

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
}

export type Resource = 'ServiceAccount' | 'Role' | 'Policy' | 'Binding';

export type Step =
  | { kind: 'CreateServiceAccount' }
  | { kind: 'PatchServiceAccount'; resource: 'ServiceAccount' | 'Binding'; labels: Record<string, string | null>; annotations: Record<string, string | null>; why: string }
  | { kind: 'CreateRole' }
  | { kind: 'UpdateTrustPolicy' }
  | { kind: 'UpdateRoleSettings'; why: string }
  | { kind: 'TagRole'; tags: Record<string, string> }
  | { kind: 'UntagRole'; keys: string[] }
  | { kind: 'SetPermissionsBoundary' }
  | { kind: 'PutInlinePolicy' }
  | { kind: 'DeleteInlinePolicy'; name: string }
  | { kind: 'AttachPolicy'; arn: string }
  | { kind: 'DetachPolicy'; arn: string }
  | { kind: 'CreateAssociation' }
  | { kind: 'UpdateAssociation'; associationId: string; from: string }
  | { kind: 'DeleteAssociation'; associationId: string; why: string };

export interface Blocker {
  resource: Resource;
  reason: 'ServiceAccountNotOwned' | 'ServiceAccountConflict' | 'RoleNotOwned' | 'AssociationConflict';
  message: string;
}

export interface Plan {
  steps: Step[];
  blockers: Blocker[];
}

export const stepResource = (s: Step): Resource =>
  s.kind === 'CreateServiceAccount' ? 'ServiceAccount'
  : s.kind === 'PatchServiceAccount' ? s.resource
  : s.kind === 'PutInlinePolicy' || s.kind === 'DeleteInlinePolicy' || s.kind === 'AttachPolicy' || s.kind === 'DetachPolicy' ? 'Policy'
  : s.kind === 'CreateAssociation' || s.kind === 'UpdateAssociation' || s.kind === 'DeleteAssociation' ? 'Binding'
  : 'Role';

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
  const claim = sa.labels[LABEL.claim];
  if (sa.labels[LABEL.managedBy] !== MANAGED_BY || !claim) return undefined;
  return { namespace: sa.labels[LABEL.claimNamespace] ?? sa.namespace, claim };
}

/** Is the other mechanism's binding still in place (a switch in progress)? */
export function previousBindingPresent(desired: DesiredState, observed: Observed): boolean {
  if (desired.mechanism === 'IRSA') return observed.associations.some((a) => ownedByClaim(a.tags, desired));
  const sa = observed.serviceAccount;
  return !!sa && isOurs(sa, desired) && sa.annotations[ROLE_ARN_ANNOTATION] !== undefined;
}

const isOurs = (sa: ObservedServiceAccount, d: DesiredState): boolean => {
  const c = serviceAccountClaim(sa);
  return !!c && c.namespace === d.claim.namespace && c.claim === d.claim.name;
};

// --- the plan ---------------------------------------------------------------

export function planReconcile(desired: DesiredState, observed: Observed): Plan {
  const steps: Step[] = [];
  const blockers: Blocker[] = [];
  const { serviceAccount: sa, role } = observed;
  const saName = `${desired.serviceAccount.namespace}/${desired.serviceAccount.name}`;

  // 1. The ServiceAccount first: creating it (atomic in the API server) is what
  //    settles which claim binds it, before anything is created in AWS.
  if (!sa) {
    steps.push({ kind: 'CreateServiceAccount' });
  } else if (!isOurs(sa, desired)) {
    const other = serviceAccountClaim(sa);
    blockers.push(
      other
        ? { resource: 'ServiceAccount', reason: 'ServiceAccountConflict', message: `ServiceAccount ${saName} is already bound by claim ${other.namespace}/${other.claim}; one ServiceAccount can have only one claim. Use another serviceAccountName or merge the permissions into that claim.` }
        : { resource: 'ServiceAccount', reason: 'ServiceAccountNotOwned', message: `ServiceAccount ${saName} exists and was not created by awi (no ${LABEL.managedBy}=awi label); awi will not modify it. Delete it or choose another serviceAccountName.` },
    );
    return { steps, blockers };
  } else {
    const labels = diffMap(sa.labels, desired.serviceAccount.labels);
    if (Object.keys(labels).length) steps.push({ kind: 'PatchServiceAccount', resource: 'ServiceAccount', labels, annotations: {}, why: 'restore labels' });
  }

  // 2. The role: trust, tags, boundary, settings.
  if (!role) {
    steps.push({ kind: 'CreateRole' });
  } else if (!ownedByClaim(role.tags, desired)) {
    const o = roleOwner(role.tags);
    blockers.push({
      resource: 'Role',
      reason: 'RoleNotOwned',
      message: o
        ? `IAM role ${role.name} belongs to awi claim ${o.namespace}/${o.claim} on cluster ${o.cluster}; awi will not modify it. Change the role name template or the ServiceAccount.`
        : `IAM role ${role.name} exists without awi's ownership tags (${TAG.managedBy}=awi); awi will not modify it. Delete or rename that role, or change the role name template.`,
    });
    return { steps, blockers };
  } else {
    // The ceiling first: deploy/aws/controller-policy.json lets the controller rewrite trust only on roles that carry the boundary.
    if ((role.permissionsBoundaryArn ?? '') !== (desired.role.permissionsBoundaryArn ?? '')) steps.push({ kind: 'SetPermissionsBoundary' });
    if (!policiesEqual(role.trustPolicy, desired.role.trustPolicy)) steps.push({ kind: 'UpdateTrustPolicy' });
    const tagSet = Object.fromEntries(Object.entries(desired.role.tags).filter(([k, v]) => role.tags[k] !== v));
    if (Object.keys(tagSet).length) steps.push({ kind: 'TagRole', tags: tagSet });
    const stale = Object.keys(role.tags).filter((k) => k.startsWith('awi.dev/') && !(k in desired.role.tags)).sort();
    if (stale.length) steps.push({ kind: 'UntagRole', keys: stale });
    const why = [
      role.description !== desired.role.description ? 'description' : '',
      role.maxSessionDurationSeconds !== desired.role.maxSessionDurationSeconds ? 'max session duration' : '',
    ].filter(Boolean);
    if (why.length) steps.push({ kind: 'UpdateRoleSettings', why: why.join(', ') });
  }

  // 3. Permissions: exactly our inline policy and the claimed managed policies.
  // A claim of managed policies only has no statements: IAM refuses an empty
  // inline policy, so ours must then be absent.
  const wantInline = desired.permissionPolicy.document.Statement.length > 0;
  if (wantInline && (!observed.inlinePolicy || !policiesEqual(observed.inlinePolicy, desired.permissionPolicy.document))) {
    steps.push({ kind: 'PutInlinePolicy' });
  }
  for (const name of observed.inlinePolicyNames.filter((n) => !wantInline || n !== desired.permissionPolicy.name).sort()) {
    steps.push({ kind: 'DeleteInlinePolicy', name });
  }
  const attached = new Set(observed.attachedPolicyArns);
  for (const arn of desired.managedPolicyArns) if (!attached.has(arn)) steps.push({ kind: 'AttachPolicy', arn });
  for (const arn of [...attached].sort()) if (!desired.managedPolicyArns.includes(arn)) steps.push({ kind: 'DetachPolicy', arn });

  // 4. The binding, then retire the other mechanism's binding once nothing
  //    else is pending (so there is never a moment without a way in).
  const ours = observed.associations.filter((a) => ownedByClaim(a.tags, desired));
  const foreign = observed.associations.filter((a) => !ownedByClaim(a.tags, desired));
  const retire: Step[] = [];
  if (desired.binding.kind === 'PodIdentityAssociation') {
    const b = desired.binding;
    if (foreign.length) {
      blockers.push({
        resource: 'Binding',
        reason: 'AssociationConflict',
        message: `Pod Identity association ${foreign.map((a) => a.associationId).join(', ')} for ${saName} on cluster ${b.clusterName} was not created by this claim (it points at ${foreign[0]?.roleArn}); awi will not change it. Delete it, or bind another ServiceAccount.`,
      });
    } else if (!ours.length) {
      steps.push({ kind: 'CreateAssociation' });
    } else {
      for (const a of ours) if (a.roleArn !== b.roleArn) steps.push({ kind: 'UpdateAssociation', associationId: a.associationId, from: a.roleArn });
    }
    if (sa?.annotations[ROLE_ARN_ANNOTATION] !== undefined) {
      retire.push({ kind: 'PatchServiceAccount', resource: 'Binding', labels: {}, annotations: { [ROLE_ARN_ANNOTATION]: null }, why: 'retire the IRSA binding after the switch to Pod Identity' });
    }
  } else {
    const annotations = diffMap(sa?.annotations ?? {}, desired.binding.annotations);
    if (Object.keys(annotations).length) steps.push({ kind: 'PatchServiceAccount', resource: 'Binding', labels: {}, annotations, why: 'set the IRSA annotation' });
    for (const a of ours) retire.push({ kind: 'DeleteAssociation', associationId: a.associationId, why: 'retire the Pod Identity binding after the switch to IRSA' });
  }
  if (steps.length === 0 && blockers.length === 0) steps.push(...retire);
  return { steps, blockers };
}

/** Keys whose value must change to reach `want` (extra keys in `have` are left alone). */
function diffMap(have: Record<string, string>, want: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(want).filter(([k, v]) => have[k] !== v));
}
