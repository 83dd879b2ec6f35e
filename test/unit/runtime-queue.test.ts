import { describe, expect, it } from '@jest/globals';
import { FakeClock, flush } from '../fixtures/fake-clock.js';
import { WorkQueue, type ReconcileOutcome, type ReconcileResult, type WorkQueueOptions } from '../../src/runtime/queue.js';

interface Call {
  key: string;
  at: number;
  resolve(o: ReconcileOutcome): void;
  reject(e: unknown): void;
}

function setup(opts: Partial<WorkQueueOptions> = {}) {
  const clock = new FakeClock();
  const calls: Call[] = [];
  const results: Array<{ key: string; result: ReconcileResult; durationMs: number }> = [];
  const dequeues: Array<{ key: string; waitedMs: number }> = [];
  const handler = (key: string) =>
    new Promise<ReconcileOutcome>((resolve, reject) => calls.push({ key, at: clock.now(), resolve, reject }));
  const q = new WorkQueue(handler, {
    concurrency: 1,
    clock,
    random: () => 0.5, // no jitter
    qps: Infinity,
    onResult: (key, result, durationMs) => results.push({ key, result, durationMs }),
    onDequeue: (key, waitedMs) => dequeues.push({ key, waitedMs }),
    ...opts,
  });
  /** Settles the oldest open call of `key`, then lets the queue react. */
  const settled = new Set<Call>();
  const settle = async (key: string, o: ReconcileOutcome | { throw: unknown }) => {
    const c = calls.find((x) => x.key === key && !settled.has(x));
    if (!c) throw new Error(`no open call for ${key}`);
    settled.add(c);
    if ('throw' in o) c.reject(o.throw);
    else c.resolve(o);
    await flush();
  };
  const keys = () => calls.map((c) => c.key);
  return { q, clock, calls, results, dequeues, settle, keys };
}

const done: ReconcileOutcome = { kind: 'done' };
const retry: ReconcileOutcome = { kind: 'retry', error: new Error('Throttling') };

describe('WorkQueue: de-duplication and one in flight per key', () => {
  it('runs a key added many times while waiting once', async () => {
    const { q, keys, settle } = setup();
    q.add('a');
    q.add('a');
    q.add('a');
    expect(q.depth).toBe(1);
    q.start();
    await flush();
    expect(keys()).toEqual(['a']);
    await settle('a', done);
    await q.idle();
    expect(keys()).toEqual(['a']);
  });

  it('de-duplicates a key waiting behind another one', async () => {
    const { q, keys, settle } = setup();
    q.start();
    q.add('a');
    await flush();
    q.add('b');
    q.add('b');
    q.add('b');
    expect(q.depth).toBe(1);
    await settle('a', done);
    expect(keys()).toEqual(['a', 'b']);
    await settle('b', done);
    await q.idle();
    expect(keys()).toEqual(['a', 'b']);
  });

  it('never runs a key twice at once; an add while in flight runs once more after', async () => {
    const { q, keys, settle } = setup({ concurrency: 4 });
    q.start();
    q.add('a');
    await flush();
    q.add('a');
    q.add('a');
    await flush();
    expect(keys()).toEqual(['a']);
    expect(q.inFlight).toBe(1);
    expect(q.depth).toBe(0); // dirty, not waiting
    await settle('a', done);
    expect(keys()).toEqual(['a', 'a']);
    await settle('a', done);
    await q.idle();
    expect(keys()).toEqual(['a', 'a']);
  });

  it('bounds concurrency and keeps FIFO order', async () => {
    const { q, keys, settle } = setup({ concurrency: 3 });
    for (let i = 0; i < 8; i++) q.add(`k${i}`);
    q.start();
    await flush();
    expect(keys()).toEqual(['k0', 'k1', 'k2']);
    expect(q.inFlight).toBe(3);
    expect(q.depth).toBe(5);
    await settle('k1', done);
    expect(keys()).toEqual(['k0', 'k1', 'k2', 'k3']);
    expect(q.inFlight).toBe(3);
    for (const k of ['k0', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7']) {
      await settle(k, done);
      expect(q.inFlight).toBeLessThanOrEqual(3);
    }
    await q.idle();
    expect(keys()).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7']);
  });

  it('does not start work before start()', async () => {
    const { q, keys } = setup();
    q.add('a');
    await flush();
    expect(keys()).toEqual([]);
    expect(q.depth).toBe(1);
  });

  it('reports queue latency through onDequeue', async () => {
    const { q, clock, settle, dequeues } = setup();
    q.start();
    q.add('a');
    await flush();
    q.add('b');
    await clock.advance(500);
    await settle('a', done);
    expect(dequeues).toEqual([
      { key: 'a', waitedMs: 0 },
      { key: 'b', waitedMs: 500 },
    ]);
  });
});

describe('WorkQueue: urgent keys first', () => {
  it('starts urgent keys before the others, each lane in FIFO order', async () => {
    const { q, keys, settle } = setup({ concurrency: 1 });
    for (const k of ['converged1', 'converged2']) q.add(k);
    q.add('new1', { urgent: true });
    q.add('converged3');
    q.add('new2', { urgent: true });
    q.start();
    await flush();
    for (const k of ['new1', 'new2', 'converged1', 'converged2', 'converged3']) await settle(k, done);
    expect(keys()).toEqual(['new1', 'new2', 'converged1', 'converged2', 'converged3']);
  });

  it('an urgent add of a key already waiting moves it ahead; the mark ends with its run', async () => {
    const { q, keys, settle } = setup({ concurrency: 1 });
    for (const k of ['a', 'b', 'c']) q.add(k);
    q.add('c', { urgent: true });
    q.start();
    await flush();
    await settle('c', done);
    // c ran once and is no longer urgent: added again plainly, it waits its turn.
    q.add('c');
    for (const k of ['a', 'b', 'c']) await settle(k, done);
    expect(keys()).toEqual(['c', 'a', 'b', 'c']);
  });

  it('a key made urgent while in flight runs once more after, ahead of the others', async () => {
    const { q, keys, settle } = setup({ concurrency: 1 });
    q.add('a');
    q.start();
    await flush();
    q.add('b');
    q.add('a', { urgent: true });
    await settle('a', done);
    await settle('a', done);
    await settle('b', done);
    expect(keys()).toEqual(['a', 'a', 'b']);
  });
});

describe('WorkQueue: urgent requeues', () => {
  it('a done with an urgent requeue (a propagation re-check) comes back ahead of waiting keys, urgent ones included', async () => {
    const { q, clock, keys, settle } = setup({ concurrency: 1 });
    q.add('p', { urgent: true });
    q.start();
    await flush();
    await settle('p', { kind: 'done', requeueAfterMs: 1000, urgent: true });
    q.add('a');
    await flush();
    q.add('b', { urgent: true }); // new claims waiting
    q.add('c', { urgent: true });
    await clock.advance(1000); // p is due again while a runs and b, c wait: finishing started work comes first
    await settle('a', done);
    expect(keys()).toEqual(['p', 'a', 'p']);
    for (const k of ['p', 'b', 'c']) await settle(k, done);
    expect(keys()).toEqual(['p', 'a', 'p', 'b', 'c']);
  });

  it('a key waiting to resume absorbs adds (the echo of its own writes): it runs once, when due, ahead of the others', async () => {
    const { q, clock, keys, settle } = setup({ concurrency: 1 });
    q.add('p', { urgent: true });
    q.start();
    await flush();
    await settle('p', { kind: 'done', requeueAfterMs: 1000, urgent: true });
    q.add('a', { urgent: true });
    await flush();
    q.add('p', { urgent: true }); // the status write's watch event
    q.add('b', { urgent: true });
    await settle('a', done);
    expect(keys()).toEqual(['p', 'a', 'b']); // p did not run again before it was due
    await clock.advance(1000);
    await settle('b', done);
    expect(keys()).toEqual(['p', 'a', 'b', 'p']);
  });

  it('a run that ends with an urgent requeue absorbs the adds made while it ran (its own writes\' echoes)', async () => {
    const { q, clock, keys, settle } = setup({ concurrency: 1 });
    q.add('p', { urgent: true });
    q.add('b', { urgent: true });
    q.start();
    await flush();
    q.add('p'); // the echo of the finalizer patch, while p runs
    await settle('p', { kind: 'done', requeueAfterMs: 1000, urgent: true });
    expect(keys()).toEqual(['p', 'b']);
    await settle('b', done);
    expect(keys()).toEqual(['p', 'b']); // not at once: AWS would still be propagating
    await clock.advance(1000);
    expect(keys()).toEqual(['p', 'b', 'p']);
    await settle('p', done);
    await q.idle();
    expect(keys()).toEqual(['p', 'b', 'p']);
  });

  it('a retry, once due, waits with the urgent keys, ahead of plain ones', async () => {
    const { q, clock, keys, settle } = setup({ concurrency: 1, baseBackoffMs: 1000 });
    q.add('f', { urgent: true });
    q.start();
    await flush();
    await settle('f', retry);
    q.add('a');
    await flush();
    q.add('b'); // a plain key (a converged claim's resync) waits
    await clock.advance(1000);
    await settle('a', done);
    expect(keys()).toEqual(['f', 'a', 'f']);
  });

  it('a plain requeue waits its turn', async () => {
    const { q, clock, keys, settle } = setup({ concurrency: 1 });
    q.add('p');
    q.start();
    await flush();
    await settle('p', { kind: 'done', requeueAfterMs: 1000 });
    q.add('a');
    await flush();
    q.add('b');
    await clock.advance(1000);
    for (const k of ['a', 'b', 'p']) await settle(k, done);
    expect(keys()).toEqual(['p', 'a', 'b', 'p']);
  });
});

describe('WorkQueue: backoff', () => {
  it('a retry with maxDelayMs (throttling the budget could not absorb) caps its backoff while the count still grows', async () => {
    const { q, clock, keys, settle } = setup({ baseBackoffMs: 1000, maxBackoffMs: 300_000 });
    q.start();
    q.add('a');
    await flush();
    const expected = [1000, 2000, 3000, 3000, 3000];
    for (const [i, delay] of expected.entries()) {
      await settle('a', { kind: 'retry', error: new Error('Throttling'), maxDelayMs: 3000 });
      expect(q.failures('a')).toBe(i + 1);
      await clock.advance(delay - 1);
      expect(keys()).toHaveLength(i + 1);
      await clock.advance(1);
      expect(keys()).toHaveLength(i + 2);
    }
    // A plain failure after them backs off by the full count again.
    await settle('a', retry);
    await clock.advance(31_999);
    expect(keys()).toHaveLength(6);
    await clock.advance(1);
    expect(keys()).toHaveLength(7);
  });

  it('doubles per consecutive failure up to the cap, and resets on done', async () => {
    const { q, clock, keys, settle } = setup({ baseBackoffMs: 1000, maxBackoffMs: 8000 });
    q.start();
    q.add('a');
    await flush();
    const expected = [1000, 2000, 4000, 8000, 8000];
    for (const [i, delay] of expected.entries()) {
      await settle('a', retry);
      expect(q.failures('a')).toBe(i + 1);
      expect(q.delayedCount).toBe(1);
      await clock.advance(delay - 1);
      expect(keys()).toHaveLength(i + 1);
      await clock.advance(1);
      expect(keys()).toHaveLength(i + 2);
    }
    await settle('a', done);
    expect(q.failures('a')).toBe(0);
    q.add('a');
    await flush();
    await settle('a', retry);
    expect(q.failures('a')).toBe(1);
    await clock.advance(999);
    expect(keys()).toHaveLength(7);
    await clock.advance(1);
    expect(keys()).toHaveLength(8);
  });

  it('applies ±jitter, never above the cap', async () => {
    for (const [r, base, max, want] of [
      [0, 1000, 10_000, 900],
      [0.999999, 1000, 10_000, 1100],
      [0.999999, 1000, 1000, 1000],
    ] as const) {
      const { q, clock, keys, settle } = setup({ baseBackoffMs: base, maxBackoffMs: max, random: () => r });
      q.start();
      q.add('a');
      await flush();
      await settle('a', retry);
      await clock.advance(want - 1);
      expect(keys()).toHaveLength(1);
      await clock.advance(1);
      expect(keys()).toHaveLength(2);
    }
  });

  it('treats a retry delayMs as a floor', async () => {
    const { q, clock, keys, settle } = setup({ baseBackoffMs: 1000 });
    q.start();
    q.add('a');
    await flush();
    await settle('a', { kind: 'retry', error: 'Throttling', delayMs: 5000 });
    await clock.advance(4999);
    expect(keys()).toHaveLength(1);
    await clock.advance(1);
    expect(keys()).toHaveLength(2);
    await settle('a', { kind: 'retry', error: 'Throttling', delayMs: 10 }); // backoff 2000 > floor
    await clock.advance(1999);
    expect(keys()).toHaveLength(2);
    await clock.advance(1);
    expect(keys()).toHaveLength(3);
  });

  it('terminal forgets the backoff and does not retry unless asked to', async () => {
    const { q, clock, keys, settle } = setup();
    q.start();
    q.add('a');
    await flush();
    await settle('a', retry);
    await clock.advance(1000);
    await settle('a', { kind: 'terminal' });
    expect(q.failures('a')).toBe(0);
    await clock.advance(1_000_000);
    expect(keys()).toHaveLength(2);
    expect(clock.pending).toBe(0);
    q.add('a');
    await flush();
    await settle('a', { kind: 'terminal', requeueAfterMs: 60_000 });
    await clock.advance(60_000);
    expect(keys()).toHaveLength(4);
  });

  it('done with requeueAfterMs runs the key again later', async () => {
    const { q, clock, keys, settle } = setup();
    q.start();
    q.add('a');
    await flush();
    await settle('a', { kind: 'done', requeueAfterMs: 30_000 });
    expect(q.depth).toBe(0);
    await clock.advance(29_999);
    expect(keys()).toHaveLength(1);
    await clock.advance(1);
    expect(keys()).toHaveLength(2);
  });

  it('a plain add runs a key in backoff promptly, without resetting its failures', async () => {
    const { q, clock, keys, settle } = setup({ baseBackoffMs: 1000 });
    q.start();
    q.add('a');
    await flush();
    await settle('a', retry);
    expect(keys()).toHaveLength(1);
    q.add('a'); // watch event: input changed
    await flush();
    expect(keys()).toHaveLength(2);
    expect(clock.pending).toBe(0); // the pending backoff retry merged into this run
    expect(q.failures('a')).toBe(1);
    await settle('a', retry); // fails again: backoff keeps growing
    expect(q.failures('a')).toBe(2);
    await clock.advance(1999);
    expect(keys()).toHaveLength(2);
    await clock.advance(1);
    expect(keys()).toHaveLength(3);
  });

  it('addRateLimited honours the current backoff', async () => {
    const { q, clock, keys, settle } = setup({ baseBackoffMs: 1000 });
    q.start();
    q.addRateLimited('a'); // no failures: at once
    await flush();
    expect(keys()).toHaveLength(1);
    await settle('a', retry);
    q.addRateLimited('a'); // failures 1: after 1000, same as the pending retry
    await clock.advance(999);
    expect(keys()).toHaveLength(1);
    await clock.advance(1);
    expect(keys()).toHaveLength(2);
  });
});

describe('WorkQueue: errors and conflicts', () => {
  it('treats a thrown error (sync or async) as a retry and reports it as error', async () => {
    const clock = new FakeClock();
    const results: ReconcileResult[] = [];
    let n = 0;
    const q = new WorkQueue(
      (key) => {
        n++;
        if (key === 'sync') throw new Error('boom');
        if (key === 'bad') return Promise.resolve(undefined as unknown as ReconcileOutcome);
        return Promise.reject(new Error('async boom'));
      },
      { concurrency: 2, clock, qps: Infinity, random: () => 0.5, onResult: (_k, r) => results.push(r) },
    );
    q.start();
    q.add('sync');
    q.add('async');
    q.add('bad');
    await flush();
    await q.idle();
    expect(n).toBe(3);
    expect(results.map((r) => r.kind)).toEqual(['error', 'error', 'error']);
    expect(q.failures('sync')).toBe(1);
    expect(q.failures('async')).toBe(1);
    expect(q.failures('bad')).toBe(1);
    await clock.advance(1000);
    expect(n).toBe(6);
    expect(q.failures('sync')).toBe(2);
    await q.shutdown();
  });

  it('reports the outcome, or the error, with the reconcile duration', async () => {
    const { q, clock, settle, results } = setup();
    q.start();
    q.add('a');
    await flush();
    await clock.advance(250);
    const err = new Error('late failure');
    await settle('a', { throw: err });
    expect(results).toEqual([{ key: 'a', result: { kind: 'error', error: err }, durationMs: 250 }]);
    expect(q.failures('a')).toBe(1);
  });

  it('requeues a conflict at once without growing the backoff', async () => {
    const { q, clock, keys, settle, results } = setup();
    q.start();
    q.add('a');
    await flush();
    await settle('a', retry);
    await clock.advance(1000);
    await settle('a', retry);
    await clock.advance(2000);
    expect(keys()).toHaveLength(3);
    await settle('a', { kind: 'conflict' });
    expect(keys()).toHaveLength(4);
    expect(q.failures('a')).toBe(2);
    await settle('a', done);
    expect(q.failures('a')).toBe(0);
    expect(results.map((r) => r.result.kind)).toEqual(['retry', 'retry', 'conflict', 'done']);
  });

  it('falls back to backoff after too many consecutive conflicts', async () => {
    const { q, clock, keys, settle } = setup({ maxImmediateConflicts: 2 });
    q.start();
    q.add('a');
    await flush();
    await settle('a', { kind: 'conflict' });
    await settle('a', { kind: 'conflict' });
    expect(keys()).toHaveLength(3);
    await settle('a', { kind: 'conflict' }); // third in a row: back off
    expect(keys()).toHaveLength(3);
    expect(q.failures('a')).toBe(1);
    await clock.advance(1000);
    expect(keys()).toHaveLength(4);
  });

  it('conflict requeues still pass through the global rate limit', async () => {
    const { q, clock, calls, settle } = setup({ qps: 2, burst: 1 });
    q.start();
    q.add('a');
    await flush();
    await settle('a', { kind: 'conflict' });
    expect(calls).toHaveLength(1);
    await clock.advance(500);
    expect(calls.map((c) => c.at)).toEqual([0, 500]);
  });

  it('a reconcile that made no AWS call gives its rate-limit token back; one that did, does not', async () => {
    const { q, clock, calls, settle } = setup({ qps: 1, burst: 1 });
    q.start();
    q.add('a');
    q.add('b');
    q.add('c');
    await flush();
    expect(calls.map((c) => c.key)).toEqual(['a']);
    await settle('a', { kind: 'done', noAwsCall: true });
    expect(calls.map((c) => [c.key, c.at])).toEqual([['a', 0], ['b', 0]]);
    await settle('b', { kind: 'done' });
    expect(calls).toHaveLength(2);
    await clock.advance(1000);
    expect(calls.map((c) => [c.key, c.at])).toEqual([['a', 0], ['b', 0], ['c', 1000]]);
  });

  it('survives callbacks that throw', async () => {
    const { q, keys, settle } = setup({
      onResult: () => {
        throw new Error('metrics broke');
      },
      onDequeue: () => {
        throw new Error('metrics broke');
      },
    });
    q.start();
    q.add('a');
    q.add('b');
    await flush();
    await settle('a', done);
    await settle('b', done);
    await q.idle();
    expect(keys()).toEqual(['a', 'b']);
  });

  it('validates options', () => {
    const h = () => Promise.resolve(done);
    expect(() => new WorkQueue(h, { concurrency: 0 })).toThrow(RangeError);
    expect(() => new WorkQueue(h, { concurrency: 1.5 })).toThrow(RangeError);
    expect(() => new WorkQueue(h, { concurrency: 1, qps: 0 })).toThrow(RangeError);
    expect(() => new WorkQueue(h, { concurrency: 1, burst: 0 })).toThrow(RangeError);
  });
});

describe('WorkQueue: rate limit', () => {
  it('spaces starts by the token bucket after the burst', async () => {
    const clock = new FakeClock();
    const starts: Array<[string, number]> = [];
    const q = new WorkQueue(
      (key) => {
        starts.push([key, clock.now()]);
        return Promise.resolve(done);
      },
      { concurrency: 10, clock, qps: 10, burst: 2 },
    );
    for (const k of ['a', 'b', 'c', 'd', 'e']) q.add(k);
    q.start();
    await flush();
    expect(starts).toEqual([
      ['a', 0],
      ['b', 0],
    ]);
    await clock.advance(99);
    expect(starts).toHaveLength(2);
    await clock.advance(1);
    expect(starts).toHaveLength(3);
    await clock.advance(200);
    expect(starts).toEqual([
      ['a', 0],
      ['b', 0],
      ['c', 100],
      ['d', 200],
      ['e', 300],
    ]);
    // idle for a while: the bucket refills up to the burst only
    await clock.advance(10_000);
    for (const k of ['f', 'g', 'h']) q.add(k);
    await flush();
    expect(starts.slice(5).map((s) => s[1])).toEqual([10_300, 10_300]);
    await clock.advance(100);
    expect(starts.slice(5).map((s) => s[1])).toEqual([10_300, 10_300, 10_400]);
    await q.idle();
  });
});

describe('WorkQueue: delayed adds', () => {
  it('keeps the sooner of two pending delays', async () => {
    const { q, clock, calls, settle } = setup();
    q.start();
    q.addAfter('a', 5000);
    q.addAfter('a', 2000);
    q.addAfter('b', 1000);
    q.addAfter('b', 3000);
    expect(q.delayedCount).toBe(2);
    expect(q.depth).toBe(0);
    await clock.advance(1000);
    expect(calls.map((c) => [c.key, c.at])).toEqual([['b', 1000]]);
    await settle('b', done);
    await clock.advance(1000);
    expect(calls.map((c) => [c.key, c.at])).toEqual([
      ['b', 1000],
      ['a', 2000],
    ]);
    await settle('a', done);
    await clock.advance(10_000);
    expect(calls).toHaveLength(2);
    expect(clock.pending).toBe(0);
  });

  it('ignores a delayed add of a key that is already due, and add() cancels a pending delay', async () => {
    const { q, clock, calls, settle } = setup();
    q.add('a');
    q.addAfter('a', 1000); // already queued: sooner wins
    expect(q.delayedCount).toBe(0);
    q.addAfter('b', 1000);
    q.add('b'); // immediate wins over the delay
    expect(q.delayedCount).toBe(0);
    q.start();
    await flush();
    await settle('a', done);
    await settle('b', done);
    await clock.advance(5000);
    expect(calls.map((c) => c.key)).toEqual(['a', 'b']);
  });

  it('a delay that fires while the key is in flight makes it run once more after', async () => {
    const { q, clock, calls, settle } = setup();
    q.start();
    q.add('a');
    await flush();
    q.addAfter('a', 100);
    await clock.advance(100);
    expect(calls).toHaveLength(1);
    await settle('a', done);
    expect(calls).toHaveLength(2);
  });

  it('idle() does not wait for delayed keys', async () => {
    const { q, settle } = setup();
    q.start();
    q.add('a');
    q.addAfter('b', 60_000);
    await flush();
    let idle = false;
    void q.idle().then(() => (idle = true));
    await flush();
    expect(idle).toBe(false);
    await settle('a', done);
    expect(idle).toBe(true);
    expect(q.delayedCount).toBe(1);
  });
});

describe('WorkQueue: shutdown', () => {
  it('stops starting work and resolves when in-flight reconciles finish', async () => {
    const { q, clock, keys, settle } = setup({ concurrency: 2 });
    q.add('a');
    q.add('b');
    q.add('c');
    q.addAfter('d', 1000);
    q.start();
    await flush();
    expect(keys()).toEqual(['a', 'b']);
    let drained = false;
    const p = q.shutdown().then(() => (drained = true));
    expect(clock.pending).toBe(0);
    q.add('e');
    await settle('a', { kind: 'done', requeueAfterMs: 10 });
    expect(drained).toBe(false);
    expect(keys()).toEqual(['a', 'b']); // c not started
    await settle('b', retry);
    await p;
    expect(drained).toBe(true);
    expect(clock.pending).toBe(0); // no requeue timers after shutdown
    await clock.advance(10_000);
    expect(keys()).toEqual(['a', 'b']);
    expect(() => q.start()).toThrow();
    await q.idle(); // resolves after shutdown
  });

  it('resolves at once when nothing is in flight', async () => {
    const { q } = setup();
    q.add('a');
    await q.shutdown();
  });
});
