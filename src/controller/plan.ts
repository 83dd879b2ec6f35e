// The heart of the controller: compare the desired state (from the compiler)
// with what was observed, and decide which steps to take. Pure: no clients,
// no clock. The reconciler executes the steps in order.
import { policiesEqual } from '../compiler/canonical.js';
import type { DesiredState, PodIdentityBinding, PolicyDocument } from '../compiler/types.js';
import type { AssociationSettings, ObservedAssociation } from './managers/association.js';
import type { ObservedRole } from './managers/role.js';
import type { ObservedServiceAccount } from './managers/service-account.js';
import {
  isOurs, LABEL, MANAGED_BY, ownedByClaim, RELEASED_TAG, ROLE_ARN_ANNOTATION, roleOwner, serviceAccountOwnership, TAG, type ServiceAccountOwnership,
} from '../ownership.js';

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

export type Resource = 'ServiceAccount' | 'Role' | 'Policy' | 'Binding';

/** Association fields that change what a pod gets (its tags are compared on their own: associationTagDrift). */
export type AssociationField = 'roleArn' | 'targetRoleArn' | 'disableSessionTags' | 'policy';
export interface AssociationDrift {
  field: AssociationField;
  /** Observed value; undefined means unset. */
  was: string | boolean | undefined;
  want: string | boolean | undefined;
}

export type Step =
  /** Created with its labels and its binding annotations in one write, so no pod ever sees it unbound. */
  | { kind: 'CreateServiceAccount'; annotations: Record<string, string> }
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
  | { kind: 'UpdateAssociation'; associationId: string; drift: AssociationDrift[] }
  /** `tags` is what TagResource sends (the restored tags plus the ownership pair); `drift` names what changed. */
  | { kind: 'TagAssociation'; associationId: string; associationArn: string; tags: Record<string, string>; drift: TagDrift[] }
  | { kind: 'UntagAssociation'; associationId: string; associationArn: string; keys: string[] }
  | { kind: 'DeleteAssociation'; associationId: string; why: string }
  /** The claim's own association for a ServiceAccount that is not (or no longer) awi's: it must not keep binding it. */
  | { kind: 'RevokeAssociation'; associationId: string; why: string };

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
  : s.kind === 'CreateAssociation' || s.kind === 'UpdateAssociation' || s.kind === 'DeleteAssociation' || s.kind === 'RevokeAssociation'
    || s.kind === 'TagAssociation' || s.kind === 'UntagAssociation' ? 'Binding'
  : 'Role';

// --- ownership: awi only ever changes what carries its mark -----------------
// The vocabulary lives in src/ownership.ts; re-exported for the callers that import it from here.
export {
  ownedBy, ownedByClaim, RELEASE_LABELS, RELEASED_TAG, ROLE_ARN_ANNOTATION, roleOwner, serviceAccountClaim, serviceAccountOwnership,
  type ClaimOwner, type ServiceAccountOwnership,
} from '../ownership.js';

/** Is the other mechanism's binding still in place (a switch in progress)? */
export function previousBindingPresent(desired: DesiredState, observed: Observed): boolean {
  if (desired.mechanism === 'IRSA') return observed.associations.some((a) => ownedByClaim(a.tags, desired));
  const sa = observed.serviceAccount;
  return !!sa && isOurs(sa, desired) && sa.annotations[ROLE_ARN_ANNOTATION] !== undefined;
}

// --- the association: every field that changes what a pod gets ---------------

/** The association the binding asks for, with AWS's defaults for what it leaves out. */
function wantedAssociation(b: PodIdentityBinding): Record<AssociationField, string | boolean | undefined> {
  return {
    roleArn: b.roleArn,
    targetRoleArn: b.targetRoleArn || undefined,
    disableSessionTags: b.disableSessionTags ?? false,
    policy: b.policy || undefined,
  };
}

const ASSOCIATION_FIELDS: AssociationField[] = ['roleArn', 'targetRoleArn', 'disableSessionTags', 'policy'];

/** The fields of an observed association that differ from the binding, in a fixed order. */
export function associationDrift(a: ObservedAssociation, b: PodIdentityBinding): AssociationDrift[] {
  const want = wantedAssociation(b);
  const have: Record<AssociationField, string | boolean | undefined> = {
    roleArn: a.roleArn,
    targetRoleArn: a.targetRoleArn || undefined,
    disableSessionTags: a.disableSessionTags,
    policy: a.policy || undefined,
  };
  return ASSOCIATION_FIELDS.filter((f) => !(f === 'policy' ? sessionPoliciesEqual(have.policy, want.policy) : have[f] === want[f]))
    .map((field) => ({ field, was: have[field], want: want[field] }));
}

/** Session policies compare by meaning (EKS may reformat the JSON). */
function sessionPoliciesEqual(a: string | boolean | undefined, b: string | boolean | undefined): boolean {
  if (typeof a !== 'string' || typeof b !== 'string') return a === b;
  try {
    return policiesEqual(a, b);
  } catch {
    return a === b;
  }
}

// --- the association's tags and who owns it ------------------------------------

/** A tag of an association that differs from the binding's; undefined means absent. */
export interface TagDrift {
  key: string;
  was: string | undefined;
  want: string | undefined;
}

/** The keys whose values say who owns an association (the ones ownedBy compares). */
const OWNERSHIP_KEYS = [TAG.managedBy, TAG.cluster, TAG.namespace, TAG.claim] as const;

/**
 * Tags to restore and tags to remove, like the role's: every tag the binding
 * asks for (awi's ledger and the config's default tags) gets its value back;
 * of the rest, only stale `awi.dev/` keys are removed. Tags outside that
 * prefix that awi does not set are someone else's (a platform team's cost
 * tags, say) and are left alone.
 */
export function associationTagDrift(a: ObservedAssociation, b: PodIdentityBinding): { set: TagDrift[]; remove: string[] } {
  const set = Object.entries(b.tags).filter(([k, v]) => a.tags[k] !== v).map(([key, want]) => ({ key, was: a.tags[key], want }));
  const remove = Object.keys(a.tags).filter((k) => k.startsWith('awi.dev/') && !(k in b.tags)).sort();
  return { set, remove };
}

/**
 * The associations of the claim's ServiceAccount that are this claim's: those
 * its ownership tags say are, and those whose ownership tags someone removed
 * by hand. The latter is recognised by what it does, not by what it says: it
 * points at this claim's role (roleArn equal to the desired role ARN, which is
 * the role awi manages for the claim), that role exists and carries this
 * claim's ownership tags, and none of the ownership tags the association still
 * has names another owner. awi then puts its tags back (TagAssociation) instead
 * of reporting AssociationConflict: such an association can only give pods the
 * role the claim asked for. Any other association is foreign, however few
 * tags it has (a hand-made one pointing at another role, or one tagged
 * awi.dev/managed-by=platform): awi does not touch it. Only for Pod Identity
 * claims; an IRSA claim retires only associations its tags mark as its own.
 */
export function claimAssociations(desired: DesiredState, observed: Pick<Observed, 'associations' | 'role'>): { ours: ObservedAssociation[]; foreign: ObservedAssociation[] } {
  const ours: ObservedAssociation[] = [];
  const foreign: ObservedAssociation[] = [];
  for (const a of observed.associations) (ownedByClaim(a.tags, desired) || strippedButOurs(a, desired, observed.role) ? ours : foreign).push(a);
  return { ours, foreign };
}

function strippedButOurs(a: ObservedAssociation, desired: DesiredState, role: ObservedRole | undefined): boolean {
  const b = desired.binding;
  if (b.kind !== 'PodIdentityAssociation') return false;
  const pointsAtOurRole = a.roleArn === b.roleArn && b.roleArn === desired.role.arn && !!role && role.arn === desired.role.arn && ownedByClaim(role.tags, desired);
  const namesNoOtherOwner = OWNERSHIP_KEYS.every((k) => a.tags[k] === undefined || a.tags[k] === b.tags[k]);
  return pointsAtOurRole && namesNoOtherOwner;
}

/**
 * The TagResource request that restores the drifted tags. It always carries
 * the ownership pair (awi.dev/managed-by, awi.dev/cluster): the controller
 * policy lets it tag an association only with them in the request
 * (TagPodIdentityAssociationsOnCreate), which also covers putting them back
 * on an association that lost them.
 */
export function associationTagRequest(drift: TagDrift[], b: PodIdentityBinding): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const k of [TAG.managedBy, TAG.cluster]) if (b.tags[k] !== undefined) tags[k] = b.tags[k];
  for (const d of drift) if (d.want !== undefined) tags[d.key] = d.want;
  return tags;
}

/** The UpdatePodIdentityAssociation fields that restore the drifted ones; an empty string clears a field. */
export function associationUpdate(drift: AssociationDrift[]): AssociationSettings {
  const out: AssociationSettings = {};
  for (const d of drift) {
    if (d.field === 'disableSessionTags') out.disableSessionTags = d.want === true;
    else out[d.field] = typeof d.want === 'string' ? d.want : '';
  }
  return out;
}

// --- the plan ---------------------------------------------------------------

export function planReconcile(desired: DesiredState, observed: Observed): Plan {
  const steps: Step[] = [];
  const blockers: Blocker[] = [];
  const { serviceAccount: sa, role } = observed;
  const saName = `${desired.serviceAccount.namespace}/${desired.serviceAccount.name}`;

  // 1. The ServiceAccount first: creating it (atomic in the API server) is what
  //    settles which claim binds it, before anything is created in AWS.
  if (!sa) {
    steps.push({ kind: 'CreateServiceAccount', annotations: { ...desired.serviceAccount.annotations } });
  } else {
    const owner = serviceAccountOwnership(sa);
    const ours = owner.kind === 'claim' && owner.namespace === desired.claim.namespace && owner.claim === desired.claim.name;
    // Bound by a claim that no longer exists: as good as released.
    const orphaned = owner.kind === 'claim' && !ours && observed.serviceAccountHolderGone === true;
    if (owner.kind === 'foreign' || (owner.kind === 'claim' && !ours && !orphaned)) {
      return unownedServiceAccount(desired, observed, serviceAccountBlocker(saName, owner));
    }
    const labels = diffMap(sa.labels, desired.serviceAccount.labels);
    if (Object.keys(labels).length) {
      const keys = Object.keys(labels).join(', ');
      const why = owner.kind === 'released' ? `take over the ServiceAccount awi released: set ${keys}`
        : orphaned ? `take over the ServiceAccount of deleted claim ${owner.namespace}/${owner.claim}: set ${keys}`
        : `restore labels ${keys}`;
      steps.push({ kind: 'PatchServiceAccount', resource: 'ServiceAccount', labels, annotations: {}, why });
    }
  }

  // 2. A Pod Identity association made by someone else blocks the claim before
  //    any AWS write: a role and policy made now would serve no pod.
  const { ours, foreign } = claimAssociations(desired, observed);
  if (desired.binding.kind === 'PodIdentityAssociation' && foreign.length) {
    blockers.push({
      resource: 'Binding',
      reason: 'AssociationConflict',
      message: `Pod Identity association ${foreign.map((a) => a.associationId).join(', ')} for ${saName} on cluster ${desired.binding.clusterName} was not created by this claim (it points at ${foreign[0]?.roleArn}); awi will not change it and makes no AWS change for this claim. Delete it, or bind another ServiceAccount.`,
    });
    return { steps, blockers };
  }

  // 3. The role: trust, tags, boundary, settings.
  if (!role) {
    steps.push({ kind: 'CreateRole' });
  } else if (!ownedByClaim(role.tags, desired)) {
    blockers.push(roleBlocker(role));
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

  // 4. Permissions: exactly our inline policy and the claimed managed policies.
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

  // 5. The binding, then retire the other mechanism's binding once nothing
  //    else is pending (so there is never a moment without a way in).
  const retire: Step[] = [];
  // A ServiceAccount created in this plan carries the desired annotations already.
  const annotations = sa ? sa.annotations : desired.serviceAccount.annotations;
  if (desired.binding.kind === 'PodIdentityAssociation') {
    const b = desired.binding;
    if (!ours.length) {
      steps.push({ kind: 'CreateAssociation' });
    } else {
      for (const a of ours) {
        // Tags first: the controller policy lets it update only an association that carries its ownership tags.
        const tags = associationTagDrift(a, b);
        if (tags.set.length) steps.push({ kind: 'TagAssociation', associationId: a.associationId, associationArn: a.associationArn, tags: associationTagRequest(tags.set, b), drift: tags.set });
        if (tags.remove.length) steps.push({ kind: 'UntagAssociation', associationId: a.associationId, associationArn: a.associationArn, keys: tags.remove });
        const drift = associationDrift(a, b);
        if (drift.length) steps.push({ kind: 'UpdateAssociation', associationId: a.associationId, drift });
      }
    }
    if (annotations[ROLE_ARN_ANNOTATION] !== undefined) {
      retire.push({ kind: 'PatchServiceAccount', resource: 'Binding', labels: {}, annotations: { [ROLE_ARN_ANNOTATION]: null }, why: 'retire the IRSA binding after the switch to Pod Identity' });
    }
  } else {
    const patch = diffMap(annotations, desired.binding.annotations);
    if (Object.keys(patch).length) steps.push({ kind: 'PatchServiceAccount', resource: 'Binding', labels: {}, annotations: patch, why: 'set the IRSA annotation' });
    for (const a of ours) retire.push({ kind: 'DeleteAssociation', associationId: a.associationId, why: 'retire the Pod Identity binding after the switch to IRSA' });
  }
  if (steps.length === 0 && blockers.length === 0) steps.push(...retire);
  return { steps, blockers };
}

/**
 * A ServiceAccount that is not the claim's (e.g. deleted and re-created by
 * hand without awi's labels) must not keep the claim's binding: its Pod
 * Identity association goes. An IRSA trust names the ServiceAccount, and awi
 * does not edit a ServiceAccount it does not own, so for IRSA the claim says
 * what still works.
 */
export function unownedServiceAccount(desired: DesiredState, observed: Observed, blocker: Blocker): Plan {
  const sa = observed.serviceAccount!;
  const saName = `${sa.namespace}/${sa.name}`;
  const revoked = observed.associations.filter((a) => ownedByClaim(a.tags, desired)).map((a) => a.associationId);
  const steps: Step[] = revoked.map((associationId) => ({ kind: 'RevokeAssociation', associationId, why: `ServiceAccount ${saName} is not this claim's` }));
  const roleIsOurs = !!observed.role && ownedByClaim(observed.role.tags, desired);
  const annotated = sa.annotations[ROLE_ARN_ANNOTATION];
  let after = '';
  // The same words whether removed now or earlier: the condition does not flap.
  if (desired.mechanism === 'PodIdentity' || steps.length) after = ' awi keeps no Pod Identity association of this claim for it: pods using it get no role from this claim.';
  if (desired.mechanism === 'IRSA' && roleIsOurs) {
    after += annotated === desired.role.arn
      ? ` With IRSA, role ${desired.role.arn} still trusts tokens of ${saName} (the trust names the ServiceAccount) and it carries ${ROLE_ARN_ANNOTATION}=${annotated}: pods using it still get the role. Remove the annotation, delete the ServiceAccount or delete the claim to revoke it.`
      : ` With IRSA, role ${desired.role.arn} still trusts tokens of ${saName} (the trust names the ServiceAccount): a pod using it can still assume the role. Delete the ServiceAccount or the claim to revoke it.`;
  }
  return { steps, blockers: [{ ...blocker, message: blocker.message + after }] };
}

function serviceAccountBlocker(saName: string, owner: ServiceAccountOwnership): Blocker {
  if (owner.kind === 'claim') {
    return { resource: 'ServiceAccount', reason: 'ServiceAccountConflict', message: `ServiceAccount ${saName} is already bound by claim ${owner.namespace}/${owner.claim}; one ServiceAccount can have only one claim. Use another serviceAccountName or merge the permissions into that claim.` };
  }
  const why = owner.kind === 'foreign' && owner.managedBy !== undefined
    ? `is managed by ${owner.managedBy} (label ${LABEL.managedBy}=${owner.managedBy}), not awi`
    : `exists without the label ${LABEL.managedBy}=${MANAGED_BY}, so awi did not create it`;
  return { resource: 'ServiceAccount', reason: 'ServiceAccountNotOwned', message: `ServiceAccount ${saName} ${why}; awi will not modify it. Delete it or choose another serviceAccountName.` };
}

function roleBlocker(role: ObservedRole): Blocker {
  const o = roleOwner(role.tags);
  const retained = role.tags[RELEASED_TAG] === 'true';
  return {
    resource: 'Role',
    reason: 'RoleNotOwned',
    message: o
      ? retained
        ? `IAM role ${role.name} was retained when awi claim ${o.namespace}/${o.claim} on cluster ${o.cluster} was deleted (deletionPolicy Retain); awi will not modify it. Delete that role to let this claim create its own, or change the role name template or the ServiceAccount.`
        : `IAM role ${role.name} belongs to awi claim ${o.namespace}/${o.claim} on cluster ${o.cluster}; awi will not modify it. Change the role name template or the ServiceAccount.`
      : `IAM role ${role.name} exists without awi's ownership tags (${TAG.managedBy}=awi); awi will not modify it. Delete or rename that role, or change the role name template.`,
  };
}

/** Keys whose value must change to reach `want` (extra keys in `have` are left alone). */
function diffMap(have: Record<string, string>, want: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(want).filter(([k, v]) => have[k] !== v));
}
