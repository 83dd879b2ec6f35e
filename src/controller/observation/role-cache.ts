// The shared IAM observation: per account, the roles under awi's path read in
// pages (GetAccountAuthorizationDetails filtered to roles, plus ListRoles by
// path for the two settings the former lacks), shared by every reconcile.
// A resync of N claims costs those pages, not N x 4 role reads. The pure
// rules live in role-pages.ts; this is the I/O and the single flight.
import { GetAccountAuthorizationDetailsCommand, ListRolesCommand, type IAMClient } from '@aws-sdk/client-iam';
import { awsErrorCode } from '../../aws/errors.js';
import { lookupRole, mergeRolePages, type CachedRole, type ListedRole, type RoleDetailPage, type RoleEntry, type RoleSnapshot } from './role-pages.js';

export interface RoleCacheOptions {
  iamFor(accountId: string): IAMClient;
  /** awi's IAM path (roles.path): only roles under it are kept. */
  pathPrefix: string;
  /** A lookup uses an observation at most this old; older ones are refreshed first (0: every lookup waits for pages read after it began). */
  maxAgeMs: number;
  /** Pages that began this long after awi's write confirm it (default 60 s; IAM's reads settle in seconds). */
  writeSettleMs?: number;
  now?: () => number;
  /** Told the calls of each refresh (metrics, tests). */
  onRefresh?(accountId: string, pages: { details: number; listed: number; roles: number }): void;
}

/** A lookup's answer: the role as observed (value undefined: it does not exist), or `unknown`: read it directly. */
export type RoleLookup = RoleEntry | 'unknown';

const WRITE_MEMORY_MS = 15 * 60_000;
const DEFAULT_WRITE_SETTLE_MS = 60_000;
/** The most IAM returns per page (its default is 100): 1,000 roles cost one page of each stream, not ten. */
const PAGE_ITEMS = 1000;

interface AccountState {
  snapshot?: RoleSnapshot;
  inflight?: { startedAt: number; done: Promise<void> };
  direct: Map<string, RoleEntry>;
  written: Map<string, number>;
}

export class RoleCache {
  private readonly accounts = new Map<string, AccountState>();
  private readonly now: () => number;

  constructor(private readonly o: RoleCacheOptions) {
    this.now = o.now ?? Date.now;
  }

  /** The role as last observed, refreshing the pages first when no observation is recent enough. */
  async lookup(accountId: string, roleName: string, requestedAt: number = this.now()): Promise<RoleLookup> {
    const s = this.state(accountId);
    const notBefore = requestedAt - this.o.maxAgeMs;
    const settleMs = this.o.writeSettleMs ?? DEFAULT_WRITE_SETTLE_MS;
    let found = lookupRole(roleName, s.snapshot, s.direct.get(roleName), s.written.get(roleName), notBefore, settleMs);
    if (found !== 'stale') return found;
    try {
      await this.refresh(accountId, notBefore);
    } catch (err) {
      // A policy without the page reads (deploy/aws/README.md): per-claim reads, as before the cache.
      if (isAccessDenied(err)) return 'unknown';
      throw err;
    }
    found = lookupRole(roleName, s.snapshot, s.direct.get(roleName), s.written.get(roleName), notBefore, settleMs);
    return found === 'stale' ? 'unknown' : found;
  }

  /**
   * Does the observation show no role of this name under awi's path? Only the
   * create path of a role asks (CreateRole refuses a duplicate, so a wrong
   * "absent" ends in EntityAlreadyExists and a direct read, never in a
   * takeover). false whenever the cache cannot say: a role it knows, one awi
   * just wrote, pages that disagreed, or pages it may not read. With maxAgeMs 0
   * it reads no pages (a page read per new claim costs more than the GetRole it saves).
   */
  async absent(accountId: string, roleName: string): Promise<boolean> {
    if (this.o.maxAgeMs <= 0) return false;
    const found = await this.lookup(accountId, roleName);
    return found !== 'unknown' && found.value === undefined;
  }

  /** awi wrote this role: until a direct read that began later, lookups answer `unknown`. */
  wrote(accountId: string, roleName: string): void {
    this.state(accountId).written.set(roleName, this.now());
  }

  /**
   * awi's writes to this role in one reconcile all succeeded (IAM may still be
   * propagating them): `value` (the desired state, which a
   * complete plan leaves behind) is the role now, until newer pages say otherwise.
   */
  confirmedWrite(accountId: string, roleName: string, value: CachedRole): void {
    const s = this.state(accountId);
    s.written.delete(roleName);
    s.direct.set(roleName, { observedAt: this.now(), value });
  }

  /** A direct read of the role that began at `startedAt` (value undefined: not found). */
  observed(accountId: string, roleName: string, value: CachedRole | undefined, startedAt: number): void {
    const s = this.state(accountId);
    const written = s.written.get(roleName);
    if (written !== undefined && written >= startedAt) return; // the read may predate our own write
    s.direct.set(roleName, { observedAt: startedAt, value });
    if (written !== undefined) s.written.delete(roleName);
  }

  /**
   * Reads the pages unless a refresh that began at or after `notBefore` is
   * already under way or done (concurrent lookups share one read).
   */
  async refresh(accountId: string, notBefore: number = this.now()): Promise<void> {
    const s = this.state(accountId);
    if (s.snapshot && s.snapshot.startedAt >= notBefore) return;
    if (s.inflight && s.inflight.startedAt >= notBefore) return s.inflight.done;
    const startedAt = this.now();
    const done = this.readPages(accountId, startedAt).then((snapshot) => {
      if (!s.snapshot || snapshot.startedAt >= s.snapshot.startedAt) s.snapshot = snapshot;
      // Entries the new pages supersede are dropped: no per-claim state outlives its use.
      for (const [name, e] of s.direct) if (e.observedAt <= snapshot.startedAt) s.direct.delete(name);
      // A write no direct read confirmed (e.g. the claim was deleted since) is forgotten after a while: bounded memory.
      for (const [name, at] of s.written) if (at < snapshot.startedAt - WRITE_MEMORY_MS) s.written.delete(name);
    });
    const flight = { startedAt, done };
    s.inflight = flight;
    try {
      await done;
    } finally {
      if (s.inflight === flight) delete s.inflight;
    }
  }

  private async readPages(accountId: string, startedAt: number): Promise<RoleSnapshot> {
    const iam = this.o.iamFor(accountId);
    const details: RoleDetailPage[] = [];
    const listed: ListedRole[] = [];
    const pages = { details: 0, listed: 0 };
    let marker: string | undefined;
    do {
      const out = await iam.send(new GetAccountAuthorizationDetailsCommand({ Filter: ['Role'], MaxItems: PAGE_ITEMS, ...(marker ? { Marker: marker } : {}) }));
      pages.details++;
      details.push(...(out.RoleDetailList ?? []));
      marker = out.IsTruncated ? out.Marker : undefined;
    } while (marker);
    do {
      const out = await iam.send(new ListRolesCommand({ PathPrefix: this.o.pathPrefix, MaxItems: PAGE_ITEMS, ...(marker ? { Marker: marker } : {}) }));
      pages.listed++;
      listed.push(...(out.Roles ?? []));
      marker = out.IsTruncated ? out.Marker : undefined;
    } while (marker);
    const { roles, uncertain } = mergeRolePages(details, listed, this.o.pathPrefix);
    this.o.onRefresh?.(accountId, { ...pages, roles: roles.size });
    return { startedAt, roles, uncertain };
  }

  private state(accountId: string): AccountState {
    let s = this.accounts.get(accountId);
    if (!s) this.accounts.set(accountId, (s = { direct: new Map(), written: new Map() }));
    return s;
  }
}

function isAccessDenied(err: unknown): boolean {
  return ['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation'].includes(awsErrorCode(err) ?? '');
}
