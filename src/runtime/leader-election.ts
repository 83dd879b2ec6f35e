// Leader election on a coordination.k8s.io Lease, so two replicas never
// reconcile at once. Writes carry the observed resourceVersion: two
// candidates racing for an expired lease cannot both win.
import { CoordinationV1Api, KubeConfig, V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { isKubeConflict, isKubeNotFound } from '../kube/errors.js';
import { backoff, realClock, type Clock } from './clock.js';

/** The Lease calls the elector makes (CoordinationV1Api's), injectable for tests. */
export type LeaseApi = Pick<CoordinationV1Api, 'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'>;

export interface LeaderElectionDeps {
  api: LeaseApi;
  clock: Clock;
  /** In [0, 1), for backoff jitter. */
  random: () => number;
}

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds?: number; // default 15
  renewIntervalMs?: number; // default 5000
  /** Between attempts while another replica holds the lease; after failed requests a candidate backs off from here up to the lease duration. */
  retryIntervalMs?: number; // default 2000
  log: Logger;
  onStartedLeading(): Promise<void> | void;
  /** Called once when a held lease cannot be renewed in time; the process should stop reconciling at once. */
  onStoppedLeading(): void;
}

export class LeaderElector {
  private readonly api: LeaseApi;
  private readonly clock: Clock;
  private readonly random: () => number;
  private stopped = false;
  private leading = false;
  private timer: unknown = undefined;
  /** Monotonic time of the last successful renewal. */
  private lastRenew = 0;
  /** Consecutive failed lease requests. */
  private failures = 0;
  /** Wall time at which the lease someone else holds expires, if it was seen: try again right then. */
  private othersExpireAt: number | undefined;

  constructor(kc: KubeConfig, private readonly o: LeaderElectionOptions, deps: Partial<LeaderElectionDeps> = {}) {
    this.api = deps.api ?? kc.makeApiClient(CoordinationV1Api);
    this.clock = deps.clock ?? realClock;
    this.random = deps.random ?? Math.random;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  private get durationS(): number {
    return this.o.leaseDurationSeconds ?? 15;
  }

  /** Starts campaigning; returns at once. */
  start(): void {
    void this.tick();
  }

  /** Stops campaigning and, when leading, releases the lease so a standby takes over without waiting for expiry. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.api.readNamespacedLease({ namespace: this.o.namespace, name: this.o.name });
      if (lease.spec?.holderIdentity === this.o.identity) {
        lease.spec.holderIdentity = '';
        lease.spec.leaseDurationSeconds = 1;
        await this.api.replaceNamespacedLease({ namespace: this.o.namespace, name: this.o.name, body: lease });
      }
    } catch (err) {
      this.o.log.warn({ err: String(err) }, 'could not release the leader lease; it will expire');
    }
  }

  private schedule(ms: number): void {
    if (!this.stopped) this.timer = this.clock.setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    if (this.stopped) return;
    let result: 'held' | 'taken' | 'error';
    try {
      result = (await this.tryAcquireOrRenew()) ? 'held' : 'taken';
    } catch (err) {
      this.o.log.warn({ err: String(err) }, 'leader election: lease request failed');
      result = 'error';
    }
    if (this.stopped) return;
    this.failures = result === 'error' ? this.failures + 1 : 0;
    if (result === 'held') {
      this.lastRenew = this.clock.now();
      if (!this.leading) {
        this.leading = true;
        this.o.log.info({ lease: `${this.o.namespace}/${this.o.name}`, identity: this.o.identity }, 'became leader');
        await this.o.onStartedLeading();
      }
      this.schedule(this.o.renewIntervalMs ?? 5000);
      return;
    }
    // Someone else holds it, or we could not renew before it would expire: step down at once.
    if (this.leading && (result === 'taken' || this.clock.now() - this.lastRenew > this.durationS * 800)) {
      this.leading = false;
      this.o.log.error('lost the leader lease');
      this.o.onStoppedLeading();
      return;
    }
    const retry = this.o.retryIntervalMs ?? 2000;
    if (result === 'error' && !this.leading) {
      // A candidate backs off while the API server fails (N standbys must not hammer it); a leader keeps trying to renew in time.
      this.schedule(backoff(this.failures - 1, { baseMs: retry, maxMs: Math.max(retry, this.durationS * 1000), jitter: 0.1 }, this.random));
      return;
    }
    this.schedule(this.othersExpireAt ? Math.max(50, Math.min(retry, this.othersExpireAt - this.clock.wallNow() + 50)) : retry);
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.o;
    const now = new V1MicroTime(this.clock.wallNow());
    let lease: V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ namespace, name });
    } catch (err) {
      if (!isKubeNotFound(err)) throw err;
      try {
        await this.api.createNamespacedLease({
          namespace,
          body: { metadata: { name, namespace }, spec: { holderIdentity: identity, leaseDurationSeconds: this.durationS, acquireTime: now, renewTime: now, leaseTransitions: 0 } },
        });
        return true;
      } catch (createErr) {
        if (isKubeConflict(createErr)) return false; // someone else created it first
        throw createErr;
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const renewedAt = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
    const expired = renewedAt + (spec.leaseDurationSeconds ?? this.durationS) * 1000 < this.clock.wallNow();
    if (holder !== identity && holder !== '' && !expired) {
      this.othersExpireAt = renewedAt + (spec.leaseDurationSeconds ?? this.durationS) * 1000;
      return false;
    }
    this.othersExpireAt = undefined;
    const takeover = holder !== identity;
    lease.spec = {
      ...spec,
      holderIdentity: identity,
      leaseDurationSeconds: this.durationS,
      renewTime: now,
      ...(takeover ? { acquireTime: now, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 } : {}),
    };
    try {
      await this.api.replaceNamespacedLease({ namespace, name, body: lease }); // carries resourceVersion
      return true;
    } catch (err) {
      if (isKubeConflict(err)) return false;
      throw err;
    }
  }
}
