// Leader election against an in-memory Lease API that, like the API server,
// refuses a replace carrying a stale resourceVersion (409) and a create of a
// Lease that exists (409). One fake clock drives all candidates.
import { describe, expect, it } from '@jest/globals';
import { KubeConfig, V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import pino from 'pino';
import { LeaderElector, type LeaseApi } from '../../src/runtime/leader-election.js';
import { FakeClock } from '../fixtures/fake-clock.js';

const log = pino({ level: 'silent' });
const status = (code: number): Error => Object.assign(new Error(`HTTP ${code}`), { code });

class MemoryLeases {
  lease: V1Lease | undefined;
  private rv = 0;
  /** When set, every request fails with this status. */
  failing: number | undefined;
  /** Clock time of each request, for backoff assertions. */
  readonly requests: number[] = [];
  constructor(private readonly clock: FakeClock) {}

  readonly api: LeaseApi = {
    readNamespacedLease: async () => {
      this.request();
      if (!this.lease) throw status(404);
      return structuredClone(this.lease);
    },
    createNamespacedLease: async ({ body }) => {
      this.request();
      if (this.lease) throw status(409);
      this.lease = { ...structuredClone(body), metadata: { ...body.metadata, resourceVersion: String(++this.rv) } };
      return structuredClone(this.lease);
    },
    replaceNamespacedLease: async ({ body }) => {
      this.request();
      if (!this.lease) throw status(404);
      if (body.metadata?.resourceVersion !== this.lease.metadata?.resourceVersion) throw status(409);
      this.lease = { ...structuredClone(body), metadata: { ...body.metadata, resourceVersion: String(++this.rv) } };
      return structuredClone(this.lease);
    },
  };

  private request(): void {
    this.requests.push(this.clock.now());
    if (this.failing !== undefined) throw status(this.failing);
  }
}

function candidate(identity: string, leases: MemoryLeases, clock: FakeClock) {
  const events: string[] = [];
  const elector = new LeaderElector(
    new KubeConfig(),
    {
      namespace: 'awi-system', name: 'awi-controller', identity, log,
      leaseDurationSeconds: 15, renewIntervalMs: 5000, retryIntervalMs: 2000,
      onStartedLeading: () => void events.push('started'),
      onStoppedLeading: () => void events.push('stopped'),
    },
    { api: leases.api, clock, random: () => 0.5 },
  );
  return { elector, events };
}

describe('LeaderElector', () => {
  it('lets exactly one candidate lead, and a standby takes over soon after the leader releases the lease', async () => {
    const clock = new FakeClock();
    const leases = new MemoryLeases(clock);
    const a = candidate('a', leases, clock);
    const b = candidate('b', leases, clock);
    a.elector.start();
    await clock.advance(0);
    b.elector.start();
    await clock.advance(30_000);
    expect([a.elector.isLeader, b.elector.isLeader]).toEqual([true, false]);
    expect(leases.lease?.spec?.holderIdentity).toBe('a');

    await a.elector.stop();
    expect(a.events).toEqual(['started']); // a stop is not a loss
    await clock.advance(2_100); // one retry interval, not a lease duration
    expect(b.elector.isLeader).toBe(true);
    expect(leases.lease?.spec?.holderIdentity).toBe('b');
    expect(leases.lease?.spec?.leaseTransitions).toBe(1);
    await b.elector.stop();
  });

  it('takes over a lease whose holder stopped renewing once it expires, by the lease\'s wall-clock renewTime', async () => {
    const clock = new FakeClock();
    const leases = new MemoryLeases(clock);
    leases.lease = { metadata: { name: 'awi-controller', namespace: 'awi-system', resourceVersion: '7' }, spec: { holderIdentity: 'crashed', leaseDurationSeconds: 15, renewTime: new V1MicroTime(clock.wallNow()) } };
    const b = candidate('b', leases, clock);
    b.elector.start();
    await clock.advance(14_000);
    expect(b.elector.isLeader).toBe(false);
    await clock.advance(3_000);
    expect(b.elector.isLeader).toBe(true);
    await b.elector.stop();
  });

  it('a leader that cannot renew steps down once, before its lease could expire', async () => {
    const clock = new FakeClock();
    const leases = new MemoryLeases(clock);
    const a = candidate('a', leases, clock);
    a.elector.start();
    await clock.advance(1_000);
    expect(a.elector.isLeader).toBe(true);
    leases.failing = 500;
    await clock.advance(15_000); // the lease (15 s) would expire: a must have stepped down by now
    expect(a.elector.isLeader).toBe(false);
    expect(a.events).toEqual(['started', 'stopped']);
    await a.elector.stop();
  });

  it('a candidate backs off exponentially while the API server fails, up to the lease duration', async () => {
    const clock = new FakeClock();
    const leases = new MemoryLeases(clock);
    leases.failing = 503;
    const a = candidate('a', leases, clock);
    a.elector.start();
    await clock.advance(120_000);
    const gaps = leases.requests.slice(1).map((t, i) => t - leases.requests[i]!);
    // random() = 0.5 means no jitter: 2, 4, 8, then capped at 15 s.
    expect(gaps.slice(0, 5)).toEqual([2_000, 4_000, 8_000, 15_000, 15_000]);
    leases.failing = undefined;
    await clock.advance(15_000);
    expect(a.elector.isLeader).toBe(true);
    await a.elector.stop();
  });
});
