// A shared, adaptive AWS call budget: one token bucket per account and service,
// shared by every worker, so that awi stays within its share of an account's
// IAM/EKS/STS quota (which is shared with Terraform, CI and other controllers).
//
// The rate adapts like TCP's AIMD: a Throttling answer cuts the bucket's rate
// by 30% (at most once per cool-down, so one burst of throttles counts once),
// and calls that go through win it back in proportion to time (the whole
// configured rate in RECOVERY_MS of success). Against a real quota this settles
// near the quota; against throttling that does not depend on the rate (a busy
// account, or the test bed's fault injection) it settles at a useful rate
// instead of collapsing to the floor, as a per-success step would. A busy
// account therefore slows the whole controller down evenly, instead of pushing
// individual claims into long per-claim backoffs.
//
// Retries live here too (the SDK clients are built with maxAttempts 1): each
// attempt waits for a token, so retries cannot drain a per-client quota that
// concurrent workers share, and they are paced by the same budget.
import { setTimeout as sleep } from 'node:timers/promises';
import type { AwsBudgetConfig } from '../config/types.js';
import { isRetryableAws, isThrottled } from './errors.js';
import { noteAwsCall } from './call-scope.js';

export interface BudgetSettings {
  /** Calls per second per account and service when AWS does not throttle. */
  ratePerSecond: number;
  /** Tokens a bucket can save up for a burst. */
  burst: number;
  /** Floor of the adaptive rate. */
  minRatePerSecond: number;
  /** Attempts per call, the first included, for throttling, 5xx and network errors. */
  maxAttempts: number;
}

export type BudgetSettingsByService = Record<string, BudgetSettings>;

export interface BudgetClock {
  now(): number;
  sleep(ms: number): Promise<void>;
  random(): number;
}

const systemClock: BudgetClock = { now: () => Date.now(), sleep: (ms) => sleep(ms), random: Math.random };

/** Listener for metrics: rate changes, throttles and waits. */
export interface BudgetObserver {
  rate?(account: string, service: string, ratePerSecond: number): void;
  throttled?(account: string, service: string): void;
  waited?(account: string, service: string, ms: number): void;
}

const DECREASE_FACTOR = 0.7;
const DECREASE_COOLDOWN_MS = 1000;
/** Time without throttling in which the rate climbs from the floor back to the configured rate. */
const RECOVERY_MS = 10_000;
const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 5000;

/** One adaptive token bucket. Pure arithmetic over an injected clock; no timers. */
export class AdaptiveBucket {
  private tokens: number;
  private last: number;
  private lastDecrease = Number.NEGATIVE_INFINITY;
  private lastIncrease: number;
  rate: number;

  constructor(private readonly s: BudgetSettings, private readonly now: () => number) {
    this.rate = s.ratePerSecond;
    this.tokens = s.burst;
    this.last = now();
    this.lastIncrease = this.last;
  }

  /**
   * Reserves one token and returns how long the caller must wait for it (0: go now).
   * Tokens may go negative: waiters queue in reservation order.
   */
  reserve(): number {
    this.refill();
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.rate) * 1000);
  }

  /** AWS said Throttling: cut the rate by 30%, once per cool-down. Returns true when the rate changed. */
  onThrottle(): boolean {
    const t = this.now();
    if (t - this.lastDecrease < DECREASE_COOLDOWN_MS) return false;
    this.refill();
    this.lastDecrease = t;
    this.lastIncrease = t;
    this.rate = Math.max(this.s.minRatePerSecond, this.rate * DECREASE_FACTOR);
    return true;
  }

  /**
   * A call went through: climb towards the configured rate in proportion to the
   * time since the last change. Returns true when the rate changed.
   */
  onSuccess(): boolean {
    const t = this.now();
    if (this.rate >= this.s.ratePerSecond) {
      this.lastIncrease = t;
      return false;
    }
    const gain = (this.s.ratePerSecond * (t - this.lastIncrease)) / RECOVERY_MS;
    if (gain <= 0) return false;
    this.refill();
    this.lastIncrease = t;
    this.rate = Math.min(this.s.ratePerSecond, this.rate + gain);
    return true;
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.s.burst, this.tokens + ((t - this.last) / 1000) * this.rate);
    this.last = t;
  }
}

export class CallBudget {
  private readonly buckets = new Map<string, AdaptiveBucket>();
  private readonly clock: BudgetClock;

  constructor(
    private readonly settings: BudgetSettingsByService,
    private readonly observer: BudgetObserver = {},
    clock?: BudgetClock,
  ) {
    this.clock = clock ?? systemClock;
  }

  settingsFor(service: string): BudgetSettings {
    const s = this.settings[service] ?? this.settings['default'];
    if (!s) throw new Error(`no AWS call budget for service ${service}`);
    return s;
  }

  bucket(account: string, service: string): AdaptiveBucket {
    const key = `${account}/${service}`;
    let b = this.buckets.get(key);
    if (!b) {
      b = new AdaptiveBucket(this.settingsFor(service), () => this.clock.now());
      this.buckets.set(key, b);
      this.observer.rate?.(account, service, b.rate);
    }
    return b;
  }

  /**
   * Runs one AWS call within the budget: waits for a token before each attempt,
   * adapts the rate to what AWS answers, retries retryable failures with jittered
   * exponential backoff up to maxAttempts, then rethrows the last error.
   */
  async run<T>(account: string, service: string, call: () => Promise<T>): Promise<T> {
    const b = this.bucket(account, service);
    const { maxAttempts } = this.settingsFor(service);
    for (let attempt = 1; ; attempt++) {
      const wait = b.reserve();
      if (wait > 0) {
        this.observer.waited?.(account, service, wait);
        await this.clock.sleep(wait);
      }
      noteAwsCall();
      try {
        const out = await call();
        if (b.onSuccess()) this.observer.rate?.(account, service, b.rate);
        return out;
      } catch (err) {
        if (isThrottled(err)) {
          this.observer.throttled?.(account, service);
          if (b.onThrottle()) this.observer.rate?.(account, service, b.rate);
        }
        if (!isRetryableAws(err) || attempt >= maxAttempts) throw err;
        // Full jitter: spread retries of concurrent workers apart.
        await this.clock.sleep(Math.round(this.clock.random() * Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** attempt)));
      }
    }
  }

  /** SDK middleware (initialize step) that sends every call of one client through the budget. */
  middleware(account: string, service: string) {
    return {
      middleware: (next: (args: unknown) => Promise<unknown>) => (args: unknown) => this.run(account, service, () => next(args)),
      // Low priority: inside the call counter, so a logical call is counted once however often it is retried.
      options: { step: 'initialize' as const, name: 'awiCallBudget', priority: 'low' as const },
    };
  }
}

/** The platform config's budget as settings per service; the floor is a twentieth of each rate. */
export function budgetSettings(c: AwsBudgetConfig): BudgetSettingsByService {
  const service = (ratePerSecond: number): BudgetSettings => ({
    ratePerSecond, burst: c.burst, minRatePerSecond: ratePerSecond / 20, maxAttempts: c.maxAttempts,
  });
  return { iam: service(c.iamCallsPerSecond), eks: service(c.eksCallsPerSecond), sts: service(c.stsCallsPerSecond), default: service(c.iamCallsPerSecond) };
}
