// awi's ownership vocabulary: the marks awi puts on what it manages (tags on
// AWS resources, labels and the role annotation on ServiceAccounts, the
// finalizer on claims), the API names, and the one reading of those marks:
// who owns a thing. The controller, the inventory, the CLI and the compiler's
// tag writer all use this module, so that "ours" means the same everywhere.
// Pure: no clients.
import type { DesiredState } from './compiler/types.js';

// The API: defined with the schema (the CRD's single source); named here too.
export { API_VERSION, GROUP, KIND, PLURAL, VERSION } from './api/schema.js';

/** The value of the managed-by tag and label on everything awi manages. */
export const MANAGED_BY = 'awi';

/** Every tag awi writes starts with this; awi removes stale ones, and leaves any other tag alone. */
export const TAG_PREFIX = 'awi.dev/';

/** The ledger on every AWS resource (role, association) awi manages. */
export const TAG = {
  managedBy: 'awi.dev/managed-by',
  /** The cluster's ARN (earlier versions wrote its name). */
  cluster: 'awi.dev/cluster',
  namespace: 'awi.dev/namespace',
  claim: 'awi.dev/claim',
  claimUid: 'awi.dev/claim-uid',
  owner: 'awi.dev/owner',
  environment: 'awi.dev/environment',
} as const;

/** The tags that say which claim a resource belongs to (the ones isOwnedBy compares). */
export const OWNERSHIP_TAGS = [TAG.managedBy, TAG.cluster, TAG.namespace, TAG.claim] as const;

/** Tag set on AWS resources a claim with deletionPolicy Retain let go of. */
export const RELEASED_TAG = 'awi.dev/released';

/** The labels on every ServiceAccount awi manages. */
export const LABEL = {
  managedBy: 'app.kubernetes.io/managed-by',
  claim: 'awi.dev/claim',
  claimNamespace: 'awi.dev/claim-namespace',
} as const;

/** Labels to remove when a claim lets go of its ServiceAccount (Retain): the managed-by label stays, so another claim may take it. */
export const RELEASE_LABELS: Record<string, null> = { [LABEL.claim]: null, [LABEL.claimNamespace]: null };

/** The IRSA binding: the role a ServiceAccount's pods get from the EKS webhook. */
export const ROLE_ARN_ANNOTATION = 'eks.amazonaws.com/role-arn';

/** On every claim until awi has cleaned up after it. */
export const FINALIZER = 'awi.dev/cleanup';

// --- who owns a thing -------------------------------------------------------

/** A claim, as a ServiceAccount's labels name it. */
export interface ClaimRef {
  namespace: string;
  claim: string;
}

/** A claim, as AWS tags name it: AWS resources are shared by clusters, so the cluster is part of the name. */
export interface ClaimOwner extends ClaimRef {
  cluster: string;
}

/** Anyone but awi: no managed-by mark, or another manager's (named). */
export interface ForeignOwner {
  kind: 'foreign';
  managedBy?: string;
}

/**
 * Who an AWS resource's tags say owns it: a claim; a claim that let go of it
 * (deletionPolicy Retain: the tags still name that claim, and the same claim,
 * created again, takes it back); or not awi.
 */
export type TagOwner = ({ kind: 'claim' } & ClaimOwner) | ({ kind: 'released' } & ClaimOwner) | ForeignOwner;

/**
 * Who holds a ServiceAccount: a claim (both awi labels), nobody but awi
 * ("released": awi's managed-by label without a claim label, e.g. after a
 * Retain deletion; any claim for it in its namespace may take it), or
 * somebody else (no managed-by=awi label: awi never touches it).
 */
export type ServiceAccountOwner = ({ kind: 'claim' } & ClaimRef) | { kind: 'released' } | ForeignOwner;

/** What ownership is read from on a ServiceAccount. */
export interface LabelledServiceAccount {
  namespace: string;
  labels: Record<string, string>;
}

export type Tags = Record<string, string>;

const isServiceAccount = (x: Tags | LabelledServiceAccount): x is LabelledServiceAccount =>
  // Tag values are strings: an object under `labels` can only be a ServiceAccount's.
  typeof (x as { labels?: unknown }).labels === 'object' && (x as { labels?: unknown }).labels !== null;

const foreign = (managedBy: string | undefined): ForeignOwner => (managedBy === undefined ? { kind: 'foreign' } : { kind: 'foreign', managedBy });

export function ownerOf(tags: Tags): TagOwner;
export function ownerOf(sa: LabelledServiceAccount): ServiceAccountOwner;
export function ownerOf(x: Tags | LabelledServiceAccount): TagOwner | ServiceAccountOwner;
export function ownerOf(x: Tags | LabelledServiceAccount): TagOwner | ServiceAccountOwner {
  if (isServiceAccount(x)) {
    const managedBy = x.labels[LABEL.managedBy];
    if (managedBy !== MANAGED_BY) return foreign(managedBy);
    const claim = x.labels[LABEL.claim];
    if (!claim) return { kind: 'released' };
    // A label value cannot hold a slash, so the claim's namespace is a label of its own; absent, the ServiceAccount's.
    return { kind: 'claim', namespace: x.labels[LABEL.claimNamespace] ?? x.namespace, claim };
  }
  if (x[TAG.managedBy] !== MANAGED_BY) return foreign(x[TAG.managedBy]);
  const owner: ClaimOwner = { cluster: x[TAG.cluster] ?? '', namespace: x[TAG.namespace] ?? '', claim: x[TAG.claim] ?? '' };
  return { kind: x[RELEASED_TAG] === 'true' ? 'released' : 'claim', ...owner };
}

/**
 * Does this claim own it? Tags: they name the claim on the cluster (a
 * released resource still names the claim that let go of it, which takes it
 * back). A ServiceAccount: its labels bind it to the claim (released is
 * nobody's).
 */
export function isOwnedBy(tags: Tags, owner: ClaimOwner): boolean;
export function isOwnedBy(sa: LabelledServiceAccount, owner: ClaimRef): boolean;
export function isOwnedBy(x: Tags | LabelledServiceAccount, owner: ClaimOwner | ClaimRef): boolean {
  const o = ownerOf(x);
  if (!('claim' in o) || o.namespace !== owner.namespace || o.claim !== owner.claim) return false;
  // AWS resources are shared by clusters: there the cluster must match too.
  return !('cluster' in o) || ('cluster' in owner && o.cluster === owner.cluster);
}

/**
 * Do the marks name this claim, on whichever cluster, released or not? For
 * reports that know no cluster (the inventory of a claim that does not
 * compile); before changing anything, use isOwnedBy.
 */
export function namesClaim(x: Tags | LabelledServiceAccount, ref: ClaimRef): boolean {
  const o = ownerOf(x);
  return 'claim' in o && o.namespace === ref.namespace && o.claim === ref.claim;
}

/** The claim a desired state is for, as its tags name it. */
export const claimOwner = (d: Pick<DesiredState, 'claim' | 'role'>): ClaimOwner => ({
  cluster: d.role.tags[TAG.cluster] ?? '',
  namespace: d.claim.namespace,
  claim: d.claim.name,
});

// --- compositions the controller uses (thin over the above) ---

/** The claim the tags name, released or not; undefined when awi's mark is absent. */
export function roleOwner(tags: Tags): ClaimOwner | undefined {
  const o = ownerOf(tags);
  return o.kind === 'foreign' ? undefined : { cluster: o.cluster, namespace: o.namespace, claim: o.claim };
}

export const ownedByClaim = (tags: Tags, d: Pick<DesiredState, 'claim' | 'role'>): boolean => isOwnedBy(tags, claimOwner(d));

export function serviceAccountClaim(sa: LabelledServiceAccount): ClaimRef | undefined {
  const o = ownerOf(sa);
  return o.kind === 'claim' ? { namespace: o.namespace, claim: o.claim } : undefined;
}

/** Is the ServiceAccount bound to the desired state's claim? */
export const isOurs = (sa: LabelledServiceAccount, d: Pick<DesiredState, 'claim'>): boolean =>
  isOwnedBy(sa, { namespace: d.claim.namespace, claim: d.claim.name });
