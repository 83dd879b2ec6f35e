// The claim's binding: a Pod Identity association (every field that changes
// what a pod gets, and its tags) or the IRSA annotation on the ServiceAccount;
// after a mechanism switch, the other mechanism's binding is retired once
// nothing else is pending. A Pod Identity association made by someone else for
// the ServiceAccount blocks the claim before any AWS write (the gate).
import { isAlreadyExists } from '../../aws/errors.js';
import { policiesEqual } from '../../compiler/canonical.js';
import { TAG } from '../../compiler/tags.js';
import type { DesiredState, PodIdentityBinding } from '../../compiler/types.js';
import type { AssociationSettings, ObservedAssociation } from '../managers/association.js';
import type { ObservedRole } from '../managers/role.js';
import { isOwnedBy, ownedByClaim, ROLE_ARN_ANNOTATION } from '../../ownership.js';
import type { Blocker, Observed, Step } from '../plan.js';
import { needsAssociationRead } from '../observation/restart.js';
import { deleteSourceRole } from '../source-role.js';
import { patchServiceAccount } from './service-account.js';
import { diffMap, type Diff, type ExecuteContext, type ResourceModule, type StepOutcome } from './types.js';

/** Association fields that change what a pod gets (its tags are compared on their own: associationTagDrift). */
export type AssociationField = 'roleArn' | 'targetRoleArn' | 'disableSessionTags' | 'policy';
export interface AssociationDrift {
  field: AssociationField;
  /** Observed value; undefined means unset. */
  was: string | boolean | undefined;
  want: string | boolean | undefined;
}

export type BindingStep =
  /** IRSA: the role-arn annotation set, or (retiring IRSA after a switch) removed. */
  | { kind: 'PatchServiceAccount'; resource: 'Binding'; labels: Record<string, string | null>; annotations: Record<string, string | null>; why: string }
  | { kind: 'CreateAssociation' }
  | { kind: 'UpdateAssociation'; associationId: string; drift: AssociationDrift[] }
  /** `tags` is what TagResource sends (the restored tags plus the ownership pair); `drift` names what changed. */
  | { kind: 'TagAssociation'; associationId: string; associationArn: string; tags: Record<string, string>; drift: TagDrift[] }
  | { kind: 'UntagAssociation'; associationId: string; associationArn: string; keys: string[] }
  | { kind: 'DeleteAssociation'; associationId: string; why: string }
  /** The claim's own association for a ServiceAccount that is not (or no longer) awi's: it must not keep binding it. */
  | { kind: 'RevokeAssociation'; associationId: string; why: string };

export const bindingResource: ResourceModule<'Binding', BindingStep, 'BindingReady'> = {
  kind: 'Binding',
  condition: 'BindingReady',
  readyMessage: (d, ok) =>
    d.binding.kind === 'PodIdentityAssociation'
      ? ok ? `Pod Identity association for ${d.binding.namespace}/${d.binding.serviceAccount} on cluster ${d.binding.clusterName} points at the role.` : 'The Pod Identity association was written; it may take seconds to become effective.'
      : ok ? `ServiceAccount carries ${ROLE_ARN_ANNOTATION}; pods created from now on get the role (running pods keep their old credentials until restarted).` : `The ${ROLE_ARN_ANNOTATION} annotation was written; waiting for IAM to propagate the role.`,
  store: 'AWS',
  // Read directly (the association cache keeps what it finds), or from the cluster's shared observation.
  observe: async ({ desired, managers, clusterName, associationCache }) => ({
    associations: associationCache
      ? await associationCache.read(desired.serviceAccount.namespace, desired.serviceAccount.name)
      : await managers.association.find(clusterName, desired.serviceAccount.namespace, desired.serviceAccount.name),
  }),
  cached: async ({ desired, associationCache, assumeAssociation }) =>
    associationCache ? { associations: await associationCache.find(desired.serviceAccount.namespace, desired.serviceAccount.name, { assume: assumeAssociation }) } : undefined,
  // Creating one needs no read: EKS refuses a second association for a ServiceAccount.
  confirmBeforeActing: needsAssociationRead,
  gate: associationConflict,
  diff: diffBinding,
  execute: {
    PatchServiceAccount: patchServiceAccount,
    CreateAssociation: async (_step, { desired, managers, associationCache }) => {
      const b = desired.binding;
      if (b.kind !== 'PodIdentityAssociation') return {};
      try {
        const association = await managers.association.create(b);
        // The create's answer is the association (no read-back); without one, read the ServiceAccount next time.
        if (association) associationCache?.created(association);
        else associationCache?.wrote(b.namespace, b.serviceAccount);
        return association ? { association } : {};
      } catch (err) {
        associationCache?.wrote(b.namespace, b.serviceAccount);
        // Someone created one between our list and our create: look again next time.
        if (isAlreadyExists(err)) return { propagating: true };
        throw err;
      }
    },
    UpdateAssociation: (step, ctx) => changed(step, ctx, () => ctx.managers.association.update(ctx.clusterName, step.associationId, associationUpdate(step.drift))),
    TagAssociation: (step, ctx) => changed(step, ctx, () => ctx.managers.association.tag(step.associationArn, step.tags)),
    UntagAssociation: (step, ctx) => changed(step, ctx, () => ctx.managers.association.untag(step.associationArn, step.keys)),
    DeleteAssociation: (step, ctx) => changed(step, ctx, () => ctx.managers.association.delete(ctx.clusterName, step.associationId)),
    RevokeAssociation: (step, ctx) => changed(step, ctx, () => ctx.managers.association.delete(ctx.clusterName, step.associationId)),
  },
  // First in deletion: pods stop getting credentials. The IRSA annotation goes with the ServiceAccount.
  cleanup: async (ctx) => {
    const { target: t, managers } = ctx;
    const removed: string[] = [];
    for (const a of await managers.association.find(ctx.clusterName, t.serviceAccount.namespace, t.serviceAccount.name)) {
      if (!isOwnedBy(a.tags, t.owner)) continue;
      await managers.association.delete(a.clusterName, a.associationId);
      removed.push(`association ${a.associationId}`);
    }
    // Cross-account Pod Identity: the association's role is the source role in the cluster's account.
    if (t.sourceRoleName) {
      const gone = await deleteSourceRole(t.sourceRoleName, t.owner, ctx.clusterIam);
      if (gone) removed.push(gone);
    }
    return removed;
  },
};

/** Changes an existing association; even a failed call may have changed it, so the cache reads the ServiceAccount next time. */
async function changed(step: { associationId: string }, ctx: ExecuteContext, call: () => Promise<void>): Promise<StepOutcome> {
  try {
    await call();
    return {};
  } finally {
    ctx.associationCache?.wrote(ctx.desired.serviceAccount.namespace, ctx.desired.serviceAccount.name, [step.associationId]);
  }
}

/** A Pod Identity association made by someone else: a role and policy made now would serve no pod. */
function associationConflict(desired: DesiredState, observed: Observed): Blocker | undefined {
  const { foreign } = claimAssociations(desired, observed);
  if (desired.binding.kind !== 'PodIdentityAssociation' || !foreign.length) return undefined;
  const saName = `${desired.serviceAccount.namespace}/${desired.serviceAccount.name}`;
  return {
    resource: 'Binding',
    reason: 'AssociationConflict',
    message: `Pod Identity association ${foreign.map((a) => a.associationId).join(', ')} for ${saName} on cluster ${desired.binding.clusterName} was not created by this claim (it points at ${foreign[0]?.roleArn}); awi will not change it and makes no AWS change for this claim. Delete it, or bind another ServiceAccount.`,
  };
}

/** The binding, then (deferred) the other mechanism's binding retired, so there is never a moment without a way in. */
function diffBinding(desired: DesiredState, observed: Observed): Diff {
  const steps: Step[] = [];
  const retire: Step[] = [];
  const sa = observed.serviceAccount;
  // A ServiceAccount created in this plan carries the desired annotations already.
  const annotations = sa ? sa.annotations : desired.serviceAccount.annotations;
  const { ours } = claimAssociations(desired, observed);
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
  return { steps, deferred: retire };
}


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

/** The keys whose values say who owns an association (the ones isOwnedBy compares). */
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

