// The shared EKS observation: the cluster's Pod Identity associations, read
// with ListPodIdentityAssociations for the whole cluster in pages, shared by
// every reconcile. The summaries say which associations exist and for which
// ServiceAccount, not what they contain; DescribePodIdentityAssociation is
// called only where the summaries cannot answer: an association this process
// has not described yet (new since the last observation), one awi changed,
// and a slow rotation that describes every known association again within
// `recheckMs`. The pure rules live in association-pages.ts.
import { ListPodIdentityAssociationsCommand, type EKSClient } from '@aws-sdk/client-eks';
import { awsErrorCode } from '../../aws/errors.js';
import { AssociationManager, type ObservedAssociation } from '../managers/association.js';
import {
  associationsOf, dueForRecheck, indexSummaries, recheckOwed, refOf, saKey, type AssociationDetail, type AssociationRef, type AssociationSnapshot,
  type AssociationSummary, type SaOverride,
} from './association-pages.js';

export interface AssociationCacheOptions {
  /** The EKS client of the cluster's account. */
  eks: EKSClient;
  clusterName: string;
  /** A lookup uses a listing at most this old; older ones are refreshed first (0: every lookup waits for pages read after it began). */
  maxAgeMs: number;
  /** Every association's fields are described again at least this often (0: every lookup describes what it returns). */
  recheckMs: number;
  /** How long after awi creates an association the pages may still miss it (default 60 s). */
  settleMs?: number;
  /** Describes run at most this many at a time during the rotation (default 4). */
  describeConcurrency?: number;
  now?: () => number;
  /** Told the calls of each refresh (metrics, tests). */
  onRefresh?(pages: { list: number; associations: number; rechecked: number }): void;
}

/**
 * For an association this process has never described: the fields the claim's
 * recorded status vouches for, or undefined (describe it). Only the restart
 * pass uses it (see Reconciler.assumeFromStatus).
 */
export type AssumeFromStatus = (ref: AssociationRef) => ObservedAssociation | undefined;

const WRITE_MEMORY_MS = 15 * 60_000;

export class AssociationCache {
  private snapshot?: AssociationSnapshot;
  private inflight?: { startedAt: number; done: Promise<void> };
  private readonly details = new Map<string, AssociationDetail & { usedAt: number }>();
  private readonly overrides = new Map<string, SaOverride>();
  /** Associations awi changed, by id: a describe that began before the write must not be kept. */
  private readonly changedAt = new Map<string, number>();
  private readonly manager: AssociationManager;
  private readonly now: () => number;
  private readonly settleMs: number;
  /** The policy does not allow the cluster-wide listing: per-ServiceAccount reads, as before the cache. */
  private listDenied = false;
  /** The fraction of a describe the rotation owes, carried to the next refresh. */
  private recheckCarry = 0;

  constructor(private readonly o: AssociationCacheOptions) {
    this.manager = new AssociationManager(o.eks);
    this.now = o.now ?? Date.now;
    this.settleMs = o.settleMs ?? 60_000;
  }

  /** The associations of one ServiceAccount, as the newest observation recent enough shows them. */
  async find(namespace: string, serviceAccount: string, opts: { assume?: AssumeFromStatus; requestedAt?: number } = {}): Promise<ObservedAssociation[]> {
    const requestedAt = opts.requestedAt ?? this.now();
    const key = saKey(namespace, serviceAccount);
    if (!this.listDenied) {
      try {
        await this.refresh(requestedAt - this.o.maxAgeMs);
      } catch (err) {
        if (!isAccessDenied(err)) throw err;
        this.listDenied = true;
      }
    }
    const refs = this.listDenied ? 'read' : associationsOf(key, this.snapshot, this.overrides.get(key), this.settleMs);
    if (refs === 'read') return this.readDirect(namespace, serviceAccount);
    const out: ObservedAssociation[] = [];
    for (const ref of refs) {
      const d = this.details.get(ref.associationId);
      if (d && this.o.recheckMs > 0 && d.checkedAt >= requestedAt - this.o.recheckMs) {
        d.usedAt = this.now();
        out.push(d.value);
        continue;
      }
      // Seen for the first time by this process: the claim's status may vouch for it (restart pass).
      const assumed = !d && this.o.recheckMs > 0 ? opts.assume?.(ref) : undefined;
      if (assumed) {
        this.details.set(ref.associationId, { value: assumed, checkedAt: this.now(), assumed: true, usedAt: this.now() });
        out.push(assumed);
        continue;
      }
      const described = await this.describe(ref.associationId);
      if (described) out.push(described);
    }
    return out;
  }

  /** One ServiceAccount read directly (before acting on one of its associations); the cache keeps what it finds. */
  read(namespace: string, serviceAccount: string): Promise<ObservedAssociation[]> {
    return this.readDirect(namespace, serviceAccount);
  }

  /** awi created this association: its answer is the association's state (no read-back). */
  created(a: ObservedAssociation): void {
    const at = this.now();
    this.details.set(a.associationId, { value: a, checkedAt: at, assumed: false, usedAt: at });
    const key = saKey(a.namespace, a.serviceAccount);
    const current = associationsOf(key, this.snapshot, this.overrides.get(key), this.settleMs);
    const refs = current === 'read' ? [] : current.filter((r) => r.associationId !== a.associationId);
    this.overrides.set(key, { kind: 'created', at, refs: [...refs, refOf(a)] });
  }

  /** awi changed or deleted associations of this ServiceAccount (or a create failed): the next lookup reads it directly. */
  wrote(namespace: string, serviceAccount: string, associationIds: readonly string[] = []): void {
    const at = this.now();
    for (const id of associationIds) {
      this.details.delete(id);
      this.changedAt.set(id, at);
    }
    this.overrides.set(saKey(namespace, serviceAccount), { kind: 'mustRead', at });
  }

  /**
   * Lists the cluster's associations unless a listing that began at or after
   * `notBefore` is already under way or done (concurrent lookups share one),
   * then re-describes the share of known associations the rotation says is due.
   */
  async refresh(notBefore: number = this.now()): Promise<void> {
    if (this.snapshot && this.snapshot.startedAt >= notBefore) return;
    if (this.inflight && this.inflight.startedAt >= notBefore) return this.inflight.done;
    const startedAt = this.now();
    const previous = this.snapshot?.startedAt;
    const done = this.readPages(startedAt).then(async ({ snapshot, pages }) => {
      if (!this.snapshot || snapshot.startedAt >= this.snapshot.startedAt) this.snapshot = snapshot;
      this.forgetSuperseded(snapshot);
      const owed = recheckOwed(this.details.size, previous === undefined ? 0 : startedAt - previous, this.o.recheckMs, this.recheckCarry);
      this.recheckCarry = owed.carry;
      const due = dueForRecheck(this.details, owed.count);
      await this.describeAll(due);
      this.o.onRefresh?.({ list: pages, associations: snapshot.ids.size, rechecked: due.length });
    });
    const flight = { startedAt, done };
    this.inflight = flight;
    try {
      await done;
    } finally {
      if (this.inflight === flight) delete this.inflight;
    }
  }

  /** How many associations' fields the cache holds (tests, metrics). */
  get size(): number {
    return this.details.size;
  }

  private async readPages(startedAt: number): Promise<{ snapshot: AssociationSnapshot; pages: number }> {
    const summaries: AssociationSummary[] = [];
    let pages = 0;
    let nextToken: string | undefined;
    do {
      const out = await this.o.eks.send(new ListPodIdentityAssociationsCommand({ clusterName: this.o.clusterName, maxResults: 100, ...(nextToken ? { nextToken } : {}) }));
      pages++;
      summaries.push(...(out.associations ?? []));
      nextToken = out.nextToken;
    } while (nextToken);
    return { snapshot: indexSummaries(summaries, startedAt), pages };
  }

  /** One ServiceAccount read directly (list by ServiceAccount, describe each): after awi's own changes, or without the listing permission. */
  private async readDirect(namespace: string, serviceAccount: string): Promise<ObservedAssociation[]> {
    const startedAt = this.now();
    const found = await this.manager.find(this.o.clusterName, namespace, serviceAccount);
    const key = saKey(namespace, serviceAccount);
    const override = this.overrides.get(key);
    if (!override || override.at <= startedAt) {
      this.overrides.set(key, { kind: 'direct', at: startedAt, refs: found.map(refOf) });
      for (const a of found) this.keep(a, startedAt);
    }
    return found;
  }

  private async describe(associationId: string): Promise<ObservedAssociation | undefined> {
    const startedAt = this.now();
    const value = await this.manager.describe(this.o.clusterName, associationId);
    if (value) this.keep(value, startedAt);
    else if (this.justCreated(associationId, startedAt)) return this.details.get(associationId)?.value; // EKS reads may lag a create
    else this.details.delete(associationId);
    return value;
  }

  /** Did awi create this association less than the settle time before `at`? */
  private justCreated(associationId: string, at: number): boolean {
    for (const o of this.overrides.values()) {
      if (o.kind === 'created' && at < o.at + this.settleMs && o.refs.some((r) => r.associationId === associationId)) return true;
    }
    return false;
  }

  /** Keeps a described association unless awi changed it after the read began. */
  private keep(value: ObservedAssociation, startedAt: number): void {
    const changed = this.changedAt.get(value.associationId);
    if (changed !== undefined && changed > startedAt) return;
    this.details.set(value.associationId, { value, checkedAt: startedAt, assumed: false, usedAt: this.now() });
  }

  private async describeAll(ids: string[]): Promise<void> {
    const queue = [...ids];
    const worker = async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) await this.describe(id);
    };
    await Promise.all(Array.from({ length: Math.min(queue.length, this.o.describeConcurrency ?? 4) }, worker));
  }

  /** Drops what the new listing supersedes: no per-association state outlives the association or its use. */
  private forgetSuperseded(s: AssociationSnapshot): void {
    for (const [key, o] of this.overrides) {
      const superseded = o.kind === 'mustRead' ? o.at < s.startedAt - WRITE_MEMORY_MS : s.startedAt >= o.at + (o.kind === 'created' ? this.settleMs : 0);
      if (superseded) this.overrides.delete(key);
    }
    const pendingCreated = new Set([...this.overrides.values()].flatMap((o) => (o.kind === 'mustRead' ? [] : o.refs.map((r) => r.associationId))));
    for (const [id, d] of this.details) {
      // Gone from the listing (deleted), or no reconcile asked for it during a whole recheck period.
      if ((!s.ids.has(id) && !pendingCreated.has(id)) || (this.o.recheckMs > 0 && d.usedAt < s.startedAt - this.o.recheckMs)) this.details.delete(id);
    }
    for (const [id, at] of this.changedAt) if (at < s.startedAt - WRITE_MEMORY_MS) this.changedAt.delete(id);
  }
}

function isAccessDenied(err: unknown): boolean {
  return ['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation'].includes(awsErrorCode(err) ?? '');
}
