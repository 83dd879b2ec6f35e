// The claim's ServiceAccount: created with its labels and binding annotations
// in one write, relabelled when its labels drift; a ServiceAccount that is not
// the claim's blocks the claim (and loses the claim's association).
import { LABEL, MANAGED_BY } from '../../compiler/tags.js';
import type { DesiredState } from '../../compiler/types.js';
import type { ObservedServiceAccount } from '../managers/service-account.js';
import {
  ownedByClaim, RELEASE_LABELS, ROLE_ARN_ANNOTATION, serviceAccountClaim, ownerOf, type ClaimOwner, type ServiceAccountOwner,
} from '../../ownership.js';
import type { Blocker, Observed, Step } from '../plan.js';
import { diffMap, type CleanupContext, type Diff, type ExecuteContext, type ObserveContext, type ResourceModule, type StepOutcome } from './types.js';

export type ServiceAccountStep =
  /** Created with its labels and its binding annotations in one write, so no pod ever sees it unbound. */
  | { kind: 'CreateServiceAccount'; annotations: Record<string, string> }
  | { kind: 'PatchServiceAccount'; resource: 'ServiceAccount'; labels: Record<string, string | null>; annotations: Record<string, string | null>; why: string };

export const serviceAccountResource: ResourceModule<'ServiceAccount', ServiceAccountStep, 'ServiceAccountReady'> = {
  kind: 'ServiceAccount',
  condition: 'ServiceAccountReady',
  readyMessage: (d) => `ServiceAccount ${d.serviceAccount.namespace}/${d.serviceAccount.name} is managed by this claim.`,
  store: 'Kubernetes',
  observe: observeServiceAccount,
  diff: diffServiceAccount,
  execute: {
    // Labels and binding annotations in the same write: no pod ever sees it unbound.
    CreateServiceAccount: async (step, ctx) => ({ serviceAccount: await ctx.managers.serviceAccounts.create({ ...ctx.desired.serviceAccount, annotations: step.annotations }) }),
    PatchServiceAccount: patchServiceAccount,
  },
  // Last in deletion: releasing it wakes any claim waiting for it, which must then find the role gone too.
  cleanup: async (ctx) => {
    const sa = await heldServiceAccount(ctx);
    if (!sa) return [];
    await ctx.managers.serviceAccounts.delete(sa);
    return [`ServiceAccount ${sa.namespace}/${sa.name}`];
  },
  /**
   * Lets go of it: awi's claim labels go, so a new claim may take it over; the
   * managed-by label stays (it is still awi's to hand over) and so does the
   * binding annotation (Retain keeps pods working).
   */
  release: async (ctx) => {
    const sa = await heldServiceAccount(ctx);
    if (!sa) return [];
    await ctx.managers.serviceAccounts.patchMetadata(sa, RELEASE_LABELS, {});
    return [`ServiceAccount ${sa.namespace}/${sa.name}`];
  },
};

/** The ServiceAccount, and whether its labels name a claim that no longer exists (one read, only when they name another claim). */
async function observeServiceAccount(ctx: ObserveContext): Promise<Partial<Observed>> {
  const { desired } = ctx;
  const serviceAccount = await ctx.managers.serviceAccounts.get(desired.serviceAccount.namespace, desired.serviceAccount.name);
  if (!serviceAccount) return {};
  const holder = serviceAccountClaim(serviceAccount);
  const other = !!holder && !(holder.namespace === desired.claim.namespace && holder.claim === desired.claim.name);
  const holderGone = other && !(await ctx.claimExists(holder.namespace, holder.claim));
  return { serviceAccount, ...(holderGone ? { serviceAccountHolderGone: true } : {}) };
}

/** Sets labels and annotations at the observed resourceVersion (the binding's IRSA annotation too). */
export async function patchServiceAccount(step: { labels: Record<string, string | null>; annotations: Record<string, string | null> }, ctx: ExecuteContext): Promise<StepOutcome> {
  if (!ctx.serviceAccount) throw new Error('internal: ServiceAccount patch before it exists');
  // As written (new resourceVersion included), for later steps and the credentials check right after the writes.
  return { serviceAccount: await ctx.managers.serviceAccounts.patchMetadata(ctx.serviceAccount, step.labels, step.annotations) };
}

/** The claim's ServiceAccount, if its labels still name this claim. */
async function heldServiceAccount(ctx: CleanupContext): Promise<ObservedServiceAccount | undefined> {
  const { serviceAccount, owner } = ctx.target;
  const sa = await ctx.managers.serviceAccounts.get(serviceAccount.namespace, serviceAccount.name);
  return sa && heldBy(sa, owner) ? sa : undefined;
}

const heldBy = (sa: ObservedServiceAccount, owner: ClaimOwner): boolean => {
  const holder = serviceAccountClaim(sa);
  return holder?.claim === owner.claim && holder.namespace === owner.namespace;
};

/**
 * First in the plan: creating the ServiceAccount (atomic in the API server) is
 * what settles which claim binds it, before anything is created in AWS.
 */
function diffServiceAccount(desired: DesiredState, observed: Observed): Diff {
  const sa = observed.serviceAccount;
  if (!sa) return { steps: [{ kind: 'CreateServiceAccount', annotations: { ...desired.serviceAccount.annotations } }] };
  const saName = `${desired.serviceAccount.namespace}/${desired.serviceAccount.name}`;
  const owner = ownerOf(sa);
  const ours = owner.kind === 'claim' && owner.namespace === desired.claim.namespace && owner.claim === desired.claim.name;
  // Bound by a claim that no longer exists: as good as released.
  const orphaned = owner.kind === 'claim' && !ours && observed.serviceAccountHolderGone === true;
  if (owner.kind === 'foreign' || (owner.kind === 'claim' && !ours && !orphaned)) {
    return unownedServiceAccount(desired, observed, serviceAccountBlocker(saName, owner));
  }
  const labels = diffMap(sa.labels, desired.serviceAccount.labels);
  if (!Object.keys(labels).length) return { steps: [] };
  const keys = Object.keys(labels).join(', ');
  const why = owner.kind === 'released' ? `take over the ServiceAccount awi released: set ${keys}`
    : orphaned ? `take over the ServiceAccount of deleted claim ${owner.namespace}/${owner.claim}: set ${keys}`
    : `restore labels ${keys}`;
  return { steps: [{ kind: 'PatchServiceAccount', resource: 'ServiceAccount', labels, annotations: {}, why }] };
}

/**
 * A ServiceAccount that is not the claim's (e.g. deleted and re-created by
 * hand without awi's labels) must not keep the claim's binding: its Pod
 * Identity association goes. An IRSA trust names the ServiceAccount, and awi
 * does not edit a ServiceAccount it does not own, so for IRSA the claim says
 * what still works.
 */
function unownedServiceAccount(desired: DesiredState, observed: Observed, blocker: Blocker): Diff {
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
  return { steps, blocker: { ...blocker, message: blocker.message + after } };
}

function serviceAccountBlocker(saName: string, owner: ServiceAccountOwner): Blocker {
  if (owner.kind === 'claim') {
    return { resource: 'ServiceAccount', reason: 'ServiceAccountConflict', message: `ServiceAccount ${saName} is already bound by claim ${owner.namespace}/${owner.claim}; one ServiceAccount can have only one claim. Use another serviceAccountName or merge the permissions into that claim.` };
  }
  const why = owner.kind === 'foreign' && owner.managedBy !== undefined
    ? `is managed by ${owner.managedBy} (label ${LABEL.managedBy}=${owner.managedBy}), not awi`
    : `exists without the label ${LABEL.managedBy}=${MANAGED_BY}, so awi did not create it`;
  return { resource: 'ServiceAccount', reason: 'ServiceAccountNotOwned', message: `ServiceAccount ${saName} ${why}; awi will not modify it. Delete it or choose another serviceAccountName.` };
}
