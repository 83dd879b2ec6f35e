// Pure parts of the shared EKS observation: indexing the cluster's Pod
// Identity association summaries by ServiceAccount, deciding which
// ServiceAccount view a lookup may trust, and which described associations
// are due for their rotating re-describe. No clients, no clock.
import type { ObservedAssociation } from '../managers/association.js';

/**
 * One association as ListPodIdentityAssociations summarizes it. The summary
 * has no roleArn, tags, targetRoleArn, disableSessionTags, policy or
 * externalId: only DescribePodIdentityAssociation gives those.
 */
export interface AssociationRef {
  associationId: string;
  associationArn: string;
  namespace: string;
  serviceAccount: string;
  /** Set when an EKS add-on owns the association. */
  ownerArn?: string;
}

/** The subset of EKS's PodIdentityAssociationSummary the cache keeps. */
export interface AssociationSummary {
  associationId?: string;
  associationArn?: string;
  namespace?: string;
  serviceAccount?: string;
  ownerArn?: string;
}

export interface AssociationSnapshot {
  /** When the page reads began: nothing in them is older. */
  startedAt: number;
  /** Associations by ServiceAccount key (saKey). */
  bySa: ReadonlyMap<string, AssociationRef[]>;
  /** Every association id the pages listed. */
  ids: ReadonlySet<string>;
}

export const saKey = (namespace: string, serviceAccount: string): string => `${namespace}/${serviceAccount}`;

export function refOf(a: Pick<ObservedAssociation, 'associationId' | 'associationArn' | 'namespace' | 'serviceAccount'>): AssociationRef {
  return { associationId: a.associationId, associationArn: a.associationArn, namespace: a.namespace, serviceAccount: a.serviceAccount };
}

/** Indexes the summaries of one full listing of the cluster. */
export function indexSummaries(summaries: readonly AssociationSummary[], startedAt: number): AssociationSnapshot {
  const bySa = new Map<string, AssociationRef[]>();
  const ids = new Set<string>();
  for (const s of summaries) {
    if (!s.associationId || s.namespace === undefined || s.serviceAccount === undefined || ids.has(s.associationId)) continue;
    ids.add(s.associationId);
    const ref: AssociationRef = {
      associationId: s.associationId, associationArn: s.associationArn ?? '', namespace: s.namespace, serviceAccount: s.serviceAccount,
      ...(s.ownerArn ? { ownerArn: s.ownerArn } : {}),
    };
    const key = saKey(s.namespace, s.serviceAccount);
    const list = bySa.get(key);
    if (list) list.push(ref);
    else bySa.set(key, [ref]);
  }
  return { startedAt, bySa, ids };
}

/**
 * What is known about one ServiceAccount's associations besides the pages:
 * - `direct`: a per-ServiceAccount read that began at `at` (newer than pages that began before it);
 * - `created`: awi created associations at `at` (CreateAssociation's answer). Pages that began
 *   less than `settleMs` later may not list them yet (EKS reads are eventually consistent);
 * - `mustRead`: awi changed or deleted associations at `at`: read the ServiceAccount directly.
 */
export type SaOverride =
  | { kind: 'direct'; at: number; refs: AssociationRef[] }
  | { kind: 'created'; at: number; refs: AssociationRef[] }
  | { kind: 'mustRead'; at: number };

/**
 * The associations of one ServiceAccount a lookup may use: the override while
 * the pages are older than it (or, for awi's own creations, than it plus the
 * settle time), else the pages. `read` asks for a direct read.
 */
export function associationsOf(
  key: string,
  snapshot: AssociationSnapshot | undefined,
  override: SaOverride | undefined,
  settleMs: number,
): AssociationRef[] | 'read' {
  if (override?.kind === 'mustRead') return 'read';
  if (override && (!snapshot || snapshot.startedAt < override.at + (override.kind === 'created' ? settleMs : 0))) return override.refs;
  if (!snapshot) return 'read';
  return snapshot.bySa.get(key) ?? [];
}

/** A described (or assumed) association and when its fields were last read. */
export interface AssociationDetail {
  value: ObservedAssociation;
  /** When the describe (or create) that gave `value` began; for an assumed entry, when it was assumed. */
  checkedAt: number;
  /** Taken from the claim's recorded status at start-up, never described by this process: re-described first. */
  assumed: boolean;
}

/**
 * The rotating re-describe: which `count` associations to describe again
 * (oldest first, assumed entries before any described one). The caller owes
 * `associations x elapsed / recheckMs` describes per refresh (recheckOwed), so
 * each is described at least once every `recheckMs`.
 */
export function dueForRecheck(details: ReadonlyMap<string, Pick<AssociationDetail, 'checkedAt' | 'assumed'>>, count: number): string[] {
  if (count <= 0) return [];
  const order = (d: Pick<AssociationDetail, 'checkedAt' | 'assumed'>) => (d.assumed ? Number.NEGATIVE_INFINITY : d.checkedAt);
  return [...details.entries()].sort((a, b) => order(a[1]) - order(b[1]) || a[1].checkedAt - b[1].checkedAt).slice(0, count).map(([id]) => id);
}

/**
 * How many describes a refresh `elapsedMs` after the previous one owes, with
 * the fraction carried over to the next (so small sets are not described at
 * every refresh). 0 for recheckMs: none (lookups describe anyway).
 */
export function recheckOwed(associations: number, elapsedMs: number, recheckMs: number, carried: number): { count: number; carry: number } {
  if (recheckMs <= 0 || elapsedMs <= 0 || associations === 0) return { count: 0, carry: 0 };
  const owed = carried + (associations * elapsedMs) / recheckMs;
  const count = Math.min(associations, Math.floor(owed));
  return { count, carry: count === associations ? 0 : owed - count };
}
