// A keyed work queue for reconcilers, after client-go's workqueue (dirty and
// processing sets, delaying queue, per-item exponential failure rate limiter,
// global token bucket) and kube-runtime's scheduler (one pending schedule per
// key; the sooner one wins).
//
// Guarantees:
// - a key is never reconciled twice at the same time;
// - a key added any number of times while it waits runs once;
// - a key added while it is in flight is marked dirty and runs once more after;
// - at most `concurrency` reconciles run at once, and reconciles start no faster
//   than the global token bucket (`qps`, `burst`) allows;
// - a handler that throws (or returns something that is not an outcome) counts
//   as a retryable failure; nothing it does can crash the queue;
// - per key, consecutive failures back off exponentially (base * 2^n, capped,
//   ±jitter); success or a terminal outcome forgets the failures;
// - keys added as urgent (work that is not converged yet: a new claim, a claim
//   without status or not Ready) start before the others, in their own FIFO
//   order, so that after a restart the unconverged tail is not starved by
//   re-checks of converged claims (a crash loop would otherwise never reach it);
// - a key requeued as urgent (`done` with `urgent`: a propagation re-check of
//   work already started) starts, once due, ahead of every other key, so that
//   a burst of new claims does not hold back the ones that only wait to be
//   confirmed; until then it absorbs `add`s (the echo of its own writes), which
//   therefore wait at most that requeue delay;
// - a retry after a failure, once due, waits with the urgent keys (a claim that
//   failed is not converged).
//
// Choice: `add` versus client-go's `AddRateLimited`. `add(key)` runs the key
// promptly, even while it waits in backoff: watch events call `add`, and an
// event means an input changed (a fixed spec must not wait out a 5 minute
// backoff earned by the broken one). The pending backoff retry merges into the
// prompt run (one schedule per key, the sooner wins). The failure count is not
// reset by `add`, so if the prompt run fails again the backoff keeps growing.
// What still bounds a storm of events is the global token bucket; controllers
// whose own writes come back as watch events (status updates) should write only
// on change, or use `addRateLimited`, which honours the key's current backoff.

import { backoff, realClock, type Clock } from './clock.js';

export type ReconcileOutcome =
  /** Success: forget the backoff; optionally run again later (resync, propagation wait). */
  /** `noAwsCall`: answered from the shared observations; its rate-limit token is given back (the AWS call budget guards AWS). */
  /** `urgent`: the requeue resumes work already started (a propagation re-check): when due, it starts ahead of every other key, urgent ones included. */
  | { kind: 'done'; requeueAfterMs?: number; noAwsCall?: boolean; urgent?: boolean }
  /** Retryable failure (throttling, 5xx): per-key exponential backoff; `delayMs`, if given, is a floor, `maxDelayMs` a cap (the failure count still grows). */
  | { kind: 'retry'; error: unknown; delayMs?: number; maxDelayMs?: number }
  /** 409: requeue at once (still through the global rate limit), no backoff growth. */
  | { kind: 'conflict' }
  /** Invalid spec / guardrail: forget the backoff; do not retry unless `requeueAfterMs`. */
  | { kind: 'terminal'; requeueAfterMs?: number };

export type ReconcileResult = ReconcileOutcome | { kind: 'error'; error: unknown };

export interface WorkQueueOptions {
  /** Max reconciles in flight overall. */
  concurrency: number;
  /** Delay after the first consecutive failure of a key; default 1000. */
  baseBackoffMs?: number;
  /** Cap of the per-key backoff (before a `retry` floor); default 300_000. */
  maxBackoffMs?: number;
  /** Global token bucket on starting reconciles; default 20 qps, burst 50. `qps: Infinity` disables it. */
  qps?: number;
  burst?: number;
  /** Injectable for tests; default real timers (monotonic `performance.now()`). */
  clock?: Clock;
  /** Backoff jitter as a fraction (0.1 = ±10%); default 0.1. */
  jitter?: number;
  /** Source of randomness in [0, 1) for the jitter; default Math.random. */
  random?: () => number;
  /**
   * Consecutive conflicts of one key that are requeued at once; past this a
   * conflict counts as a retry with backoff, so that a 409 that never clears
   * cannot spin on the global rate budget. Default 5.
   */
  maxImmediateConflicts?: number;
  /** For metrics/logs; called after each reconcile (exceptions in it are ignored). */
  onResult?(key: string, outcome: ReconcileResult, durationMs: number): void;
  /** Queue latency: time from being queued (ready) to starting. */
  onDequeue?(key: string, waitedMs: number): void;
}

interface Delayed {
  readyAt: number;
  handle: unknown;
  /** An urgent requeue: resumes started work, ahead of every other key. */
  resume?: boolean;
}

/** Global token bucket: `burst` tokens, refilled at `qps` per second. */
class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    private readonly qps: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }
  /** Takes a token and returns 0, or returns how many ms until one is available. */
  take(now: number): number {
    if (!Number.isFinite(this.qps)) return 0;
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.qps) / 1000);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.qps));
  }
  /** Gives a token back (a reconcile that turned out to cost no AWS call). */
  refund(): void {
    if (Number.isFinite(this.qps)) this.tokens = Math.min(this.burst, this.tokens + 1);
  }
}

export class WorkQueue {
  private readonly clock: Clock;
  private readonly concurrency: number;
  private readonly baseBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly jitter: number;
  private readonly random: () => number;
  private readonly maxImmediateConflicts: number;
  private readonly bucket: TokenBucket;

  /** Ready keys in FIFO order (a Set keeps insertion order and de-duplicates). */
  private readonly queue = new Set<string>();
  /** Keys marked urgent, in the order they were marked (a subset of queued, dirty or in-flight keys). */
  private readonly urgent = new Set<string>();
  /** Keys due again to finish work they started (urgent requeues), in the order they became due: ahead of the urgent ones. */
  private readonly resumed = new Set<string>();
  /** When each ready or dirty key became ready, for onDequeue. */
  private readonly readySince = new Map<string, number>();
  /** Keys being reconciled. */
  private readonly processing = new Set<string>();
  /** Keys added while in flight: run once more when the current run ends. */
  private readonly dirty = new Set<string>();
  /** At most one pending delayed add per key. */
  private readonly delayed = new Map<string, Delayed>();
  private readonly failureCounts = new Map<string, number>();
  private readonly conflictCounts = new Map<string, number>();

  private started = false;
  private stopping = false;
  private pumpTimer: unknown = undefined;
  private idleWaiters: Array<() => void> = [];
  private drained: Promise<void> | undefined;
  private resolveDrained: (() => void) | undefined;

  constructor(
    private readonly handler: (key: string) => Promise<ReconcileOutcome>,
    private readonly opts: WorkQueueOptions,
  ) {
    if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) {
      throw new RangeError(`WorkQueue: concurrency must be a positive integer, got ${opts.concurrency}`);
    }
    const qps = opts.qps ?? 20;
    const burst = opts.burst ?? 50;
    if (!(qps > 0)) throw new RangeError(`WorkQueue: qps must be > 0 (Infinity disables the limit), got ${qps}`);
    if (!(burst >= 1)) throw new RangeError(`WorkQueue: burst must be >= 1, got ${burst}`);
    this.clock = opts.clock ?? realClock;
    this.concurrency = opts.concurrency;
    this.baseBackoffMs = Math.max(0, opts.baseBackoffMs ?? 1000);
    this.maxBackoffMs = Math.max(this.baseBackoffMs, opts.maxBackoffMs ?? 300_000);
    this.jitter = Math.min(1, Math.max(0, opts.jitter ?? 0.1));
    this.random = opts.random ?? Math.random;
    this.maxImmediateConflicts = Math.max(0, opts.maxImmediateConflicts ?? 5);
    this.bucket = new TokenBucket(qps, burst, this.clock.now());
  }

  /**
   * Queues `key` to run promptly. De-duplicated while waiting; if the key is in
   * flight it is marked dirty and runs once more afterwards. Cancels a pending
   * delayed add of the key (this one is sooner), including a backoff retry.
   */
  add(key: string, opts: { urgent?: boolean } = {}): void {
    if (this.stopping) return;
    // A key waiting to resume started work absorbs adds (such as the echo of its own writes): it runs when due,
    // ahead of every other key, within its requeue delay; run now, it would find AWS still propagating.
    if (this.delayed.get(key)?.resume) return;
    this.cancelDelayed(key);
    this.markReady(key, opts.urgent ?? false);
    this.pump();
  }

  /**
   * Delayed add; if the key already has a sooner (or immediate) schedule, that one wins. `urgent`: due, it
   * waits in the urgent lane; `resume`: it resumes started work, ahead of every lane, absorbing adds until due.
   */
  addAfter(key: string, delayMs: number, opts: { urgent?: boolean; resume?: boolean } = {}): void {
    if (this.stopping) return;
    if (!(delayMs > 0)) {
      this.add(key, { urgent: !!(opts.urgent || opts.resume) });
      return;
    }
    if (this.queue.has(key) || this.dirty.has(key)) return; // already due now
    const readyAt = this.clock.now() + delayMs;
    const existing = this.delayed.get(key);
    if (existing && existing.readyAt <= readyAt) return;
    if (existing) this.clock.clearTimeout(existing.handle);
    const handle = this.clock.setTimeout(() => {
      const cur = this.delayed.get(key);
      if (cur?.handle !== handle) return;
      this.delayed.delete(key);
      if (this.stopping) return;
      if (opts.resume) this.resumed.add(key);
      this.markReady(key, opts.urgent ?? false);
      this.pump();
    }, delayMs);
    this.delayed.set(key, { readyAt, handle, ...(opts.resume ? { resume: true } : {}) });
  }

  /**
   * client-go's AddRateLimited: runs the key after its current backoff (at
   * once if it has no failures). For events the controller caused itself.
   */
  addRateLimited(key: string): void {
    const n = this.failureCounts.get(key) ?? 0;
    if (n === 0) this.add(key);
    else this.addAfter(key, this.backoffFor(n - 1));
  }

  /** Forgets a key's failures and any pending delayed add (e.g. the object is gone for good). */
  forget(key: string): void {
    this.urgent.delete(key);
    this.resumed.delete(key);
    this.failureCounts.delete(key);
    this.conflictCounts.delete(key);
    this.cancelDelayed(key);
  }

  start(): void {
    if (this.stopping) throw new Error('WorkQueue: start() after shutdown()');
    if (this.started) return;
    this.started = true;
    this.pump();
  }

  /** Stops starting new work and drops pending delays; resolves when in-flight reconciles finish. */
  shutdown(): Promise<void> {
    if (!this.drained) {
      this.stopping = true;
      if (this.pumpTimer !== undefined) {
        this.clock.clearTimeout(this.pumpTimer);
        this.pumpTimer = undefined;
      }
      for (const d of this.delayed.values()) this.clock.clearTimeout(d.handle);
      this.delayed.clear();
      this.drained = new Promise<void>((resolve) => (this.resolveDrained = resolve));
      this.checkIdle();
    }
    return this.drained;
  }

  /** Keys waiting to run (not in flight, not delayed). */
  get depth(): number {
    return this.queue.size;
  }

  get inFlight(): number {
    return this.processing.size;
  }

  /** Keys with a pending delayed add (backoff, requeue-after). */
  get delayedCount(): number {
    return this.delayed.size;
  }

  /** Whether the queue keeps anything for `key` (waiting, in flight, delayed, urgent, failure or conflict counts). */
  holds(key: string): boolean {
    return (
      this.queue.has(key) || this.urgent.has(key) || this.resumed.has(key) || this.readySince.has(key) || this.processing.has(key) ||
      this.dirty.has(key) || this.delayed.has(key) || this.failureCounts.has(key) || this.conflictCounts.has(key)
    );
  }

  /** Current backoff exponent of a key: its number of consecutive failures. */
  failures(key: string): number {
    return this.failureCounts.get(key) ?? 0;
  }

  /** Resolves when nothing is queued or in flight (delayed keys excluded). After shutdown: when nothing is in flight. */
  idle(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.idleWaiters.push(resolve);
      this.checkIdle();
    });
  }

  /** Backoff before retry number n+1 (n = failures so far, 0-based), with jitter, capped. */
  private backoffFor(n: number): number {
    return backoff(n, { baseMs: this.baseBackoffMs, maxMs: this.maxBackoffMs, jitter: this.jitter }, this.random);
  }

  private cancelDelayed(key: string): void {
    const d = this.delayed.get(key);
    if (d) {
      this.clock.clearTimeout(d.handle);
      this.delayed.delete(key);
    }
  }

  private markReady(key: string, urgent = false): void {
    if (urgent) this.urgent.add(key);
    if (!this.readySince.has(key)) this.readySince.set(key, this.clock.now());
    if (this.processing.has(key)) this.dirty.add(key);
    else this.queue.add(key);
  }

  private pump(): void {
    if (!this.started || this.stopping || this.pumpTimer !== undefined) return;
    while (this.queue.size > 0 && this.processing.size < this.concurrency) {
      const wait = this.bucket.take(this.clock.now());
      if (wait > 0) {
        this.pumpTimer = this.clock.setTimeout(() => {
          this.pumpTimer = undefined;
          this.pump();
        }, wait);
        return;
      }
      const key = this.nextKey();
      this.queue.delete(key);
      this.dispatch(key);
    }
  }

  /** The oldest resumed key, else the oldest waiting urgent key, else the oldest waiting key. Drops marks of keys no longer pending. */
  private nextKey(): string {
    for (const lane of [this.resumed, this.urgent]) {
      for (const k of lane) {
        if (this.queue.has(k)) {
          lane.delete(k);
          return k;
        }
        if (!this.processing.has(k)) lane.delete(k);
      }
    }
    return this.queue.values().next().value as string;
  }

  private dispatch(key: string): void {
    const now = this.clock.now();
    const since = this.readySince.get(key) ?? now;
    this.readySince.delete(key);
    this.processing.add(key);
    this.safely(() => this.opts.onDequeue?.(key, Math.max(0, now - since)));
    const startedAt = now;
    // The handler runs in a microtask: a synchronous throw becomes a rejection,
    // and a handler that calls add() re-enters a consistent queue.
    void Promise.resolve()
      .then(() => this.handler(key))
      .then(
        (outcome) => this.finish(key, validOutcome(outcome), startedAt),
        (error: unknown) => this.finish(key, { kind: 'error', error }, startedAt),
      )
      .catch(() => {
        // finish() should not throw; if it did, keep the queue moving
        this.processing.delete(key);
        this.pump();
        this.checkIdle();
      });
  }

  private finish(key: string, result: ReconcileResult, startedAt: number): void {
    this.processing.delete(key);
    // A run that resumes later (an urgent requeue) absorbs the adds made while it ran, as a waiting resume does.
    const urgentRequeue = result.kind === 'done' && result.urgent === true;
    const resumes = urgentRequeue && (result.requeueAfterMs ?? 0) > 0;
    if (resumes) this.readySince.delete(key);
    if (resumes || !this.dirty.has(key)) {
      this.urgent.delete(key);
      this.resumed.delete(key);
    }
    if (this.dirty.delete(key) && !this.stopping && !resumes) {
      this.queue.add(key); // readySince was recorded when it was marked dirty
      this.cancelDelayed(key);
    }
    switch (result.kind) {
      case 'done':
      case 'terminal':
        if (result.kind === 'done' && result.noAwsCall) {
          this.bucket.refund();
          // A pump waiting for a token may start one now.
          if (this.pumpTimer !== undefined) {
            this.clock.clearTimeout(this.pumpTimer);
            this.pumpTimer = undefined;
          }
        }
        this.failureCounts.delete(key);
        this.conflictCounts.delete(key);
        if (result.requeueAfterMs !== undefined && result.requeueAfterMs >= 0) {
          this.addAfter(key, result.requeueAfterMs, { resume: urgentRequeue });
        }
        break;
      case 'conflict': {
        const c = (this.conflictCounts.get(key) ?? 0) + 1;
        this.conflictCounts.set(key, c);
        if (c <= this.maxImmediateConflicts) this.add(key);
        else this.backOff(key, undefined);
        break;
      }
      case 'retry':
        this.conflictCounts.delete(key);
        this.backOff(key, result.delayMs, result.maxDelayMs);
        break;
      case 'error':
        this.conflictCounts.delete(key);
        this.backOff(key, undefined);
        break;
    }
    this.safely(() => this.opts.onResult?.(key, result, Math.max(0, this.clock.now() - startedAt)));
    this.pump();
    this.checkIdle();
  }

  private backOff(key: string, floorMs: number | undefined, capMs?: number): void {
    const n = this.failureCounts.get(key) ?? 0;
    this.failureCounts.set(key, n + 1);
    const backoff = capMs !== undefined && capMs >= 0 ? Math.min(this.backoffFor(n), capMs) : this.backoffFor(n);
    const delay = Math.max(backoff, floorMs !== undefined && floorMs > 0 ? floorMs : 0);
    // A key that failed is not converged: its retry waits with the urgent keys, not behind re-checks of converged ones.
    this.addAfter(key, delay, { urgent: true });
  }

  private checkIdle(): void {
    if (this.processing.size > 0) return;
    if (this.stopping) {
      this.resolveDrained?.();
      this.resolveDrained = undefined;
    } else if (this.queue.size > 0) {
      return;
    }
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch {
      // metrics/log callbacks must not break the queue
    }
  }
}

function validOutcome(o: unknown): ReconcileResult {
  const kind = (o as { kind?: unknown } | null | undefined)?.kind;
  if (kind === 'done' || kind === 'retry' || kind === 'conflict' || kind === 'terminal') return o as ReconcileOutcome;
  const what = typeof kind === 'string' ? `kind '${kind}'` : typeof o;
  return { kind: 'error', error: new TypeError(`reconcile handler returned an invalid outcome (${what})`) };
}
