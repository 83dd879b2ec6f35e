// The claim's ServiceAccount: created with its labels and binding annotations
// in one write, relabelled when its labels drift; a ServiceAccount that is not
// the claim's blocks the claim (and loses the claim's association).
import { LABEL, MANAGED_BY } from '../../compiler/tags.js';
import type { DesiredState } from '../../compiler/types.js';
import {
  ownedByClaim, ROLE_ARN_ANNOTATION, serviceAccountOwnership, type Blocker, type Observed, type ServiceAccountOwnership, type Step,
} from '../plan.js';
import { diffMap, type Diff, type ResourceModule } from './types.js';

export type ServiceAccountStep =
  /** Created with its labels and its binding annotations in one write, so no pod ever sees it unbound. */
  | { kind: 'CreateServiceAccount'; annotations: Record<string, string> }
  | { kind: 'PatchServiceAccount'; resource: 'ServiceAccount'; labels: Record<string, string | null>; annotations: Record<string, string | null>; why: string };

export const serviceAccountResource: ResourceModule<'ServiceAccount', ServiceAccountStep, 'ServiceAccountReady'> = {
  kind: 'ServiceAccount',
  condition: 'ServiceAccountReady',
  readyMessage: (d) => `ServiceAccount ${d.serviceAccount.namespace}/${d.serviceAccount.name} is managed by this claim.`,
  store: 'Kubernetes',
  steps: { CreateServiceAccount: true, PatchServiceAccount: true },
  diff: diffServiceAccount,
};

/**
 * First in the plan: creating the ServiceAccount (atomic in the API server) is
 * what settles which claim binds it, before anything is created in AWS.
 */
function diffServiceAccount(desired: DesiredState, observed: Observed): Diff {
  const sa = observed.serviceAccount;
  if (!sa) return { steps: [{ kind: 'CreateServiceAccount', annotations: { ...desired.serviceAccount.annotations } }] };
  const saName = `${desired.serviceAccount.namespace}/${desired.serviceAccount.name}`;
  const owner = serviceAccountOwnership(sa);
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

function serviceAccountBlocker(saName: string, owner: ServiceAccountOwnership): Blocker {
  if (owner.kind === 'claim') {
    return { resource: 'ServiceAccount', reason: 'ServiceAccountConflict', message: `ServiceAccount ${saName} is already bound by claim ${owner.namespace}/${owner.claim}; one ServiceAccount can have only one claim. Use another serviceAccountName or merge the permissions into that claim.` };
  }
  const why = owner.kind === 'foreign' && owner.managedBy !== undefined
    ? `is managed by ${owner.managedBy} (label ${LABEL.managedBy}=${owner.managedBy}), not awi`
    : `exists without the label ${LABEL.managedBy}=${MANAGED_BY}, so awi did not create it`;
  return { resource: 'ServiceAccount', reason: 'ServiceAccountNotOwned', message: `ServiceAccount ${saName} ${why}; awi will not modify it. Delete it or choose another serviceAccountName.` };
}
