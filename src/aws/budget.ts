// A shared, adaptive AWS call budget: one token bucket per account and service,
// shared by every worker, so that awi stays within its share of an account's
// IAM/EKS/STS quota (which is shared with Terraform, CI and other controllers).
//
// The rate adapts like TCP's AIMD, judged per window of answers rather than
// per answer: at the end of each window (WINDOW_MS and at least MIN_SAMPLES
// answers) the share of throttled answers is compared with the background
// share the bucket has learned. Clearly more throttling than that cuts the
// rate by 30%, and the next window (of twice the answers) judges the cut, if
// the cut held calls back (else it stays unjudged and costs nothing): against
// a quota awi was over, the share of
// throttled answers falls at the lower rate, and the cut stays; if it does not
// fall, the throttling does not come from awi's rate (a busy account, the test
// bed's random fault injection), so the cut only cost work: it is undone and
// that share becomes the background, which later windows with less
// throttling decay. Calls that go through win the rate back
// in proportion to time (the whole configured rate in RECOVERY_MS). Against a
// real quota this settles near the quota; against throttling that does not
// depend on the rate it keeps the configured rate instead of collapsing
// towards the floor (the background halves every 15 windows, so the cut is
// re-judged now and then). A busy account therefore slows the whole controller down
// evenly (every attempt, retries included, waits for a token of the shared
// bucket), instead of pushing individual claims into long per-claim backoffs.
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
/** A window of answers closes after this long, once it holds MIN_SAMPLES answers. */
const WINDOW_MS = 2000;
const MIN_SAMPLES = 20;
/** A window must exceed the background share of throttled answers by at least this much (and by two standard errors) to cut. */
const MIN_EXCESS = 0.05;
/** Each window with less throttling than the background moves the background this far towards it. */
const BACKGROUND_DECAY = 0.5;
/**
 * The learned background halves in this many windows whatever they say, so a
 * share learned by mistake (a noisy window) cannot hide a quota for long: the
 * next cut re-judges it. Counted in windows, not time: a window of few calls
 * is long, and probing at every other one would ratchet the rate down.
 */
const BACKGROUND_HALF_LIFE_WINDOWS = 15;
/** A window without excess throttling wins back the configured rate times its length over this... */
const RECOVERY_MS = 10_000;
/** ...but at most this share of the current rate (a long window at a low rate must not overshoot a low quota). */
const MAX_CLIMB = 0.25;
/** A share of throttled answers this high after a cut keeps the cut, whatever the cause. */
const NEARLY_ALL = 0.9;
/** Calls at this share of the rate or more in a window: the rate, not the work, decided how many were made. */
const LIMITED = 0.95;
/** Weight of the latest window in the recent share of throttled answers. */
const RECENT_WEIGHT = 0.3;
/** Standard deviation of that moving average relative to one window's: sqrt(w / (2 - w)). */
const RECENT_SPREAD = Math.sqrt(RECENT_WEIGHT / (2 - RECENT_WEIGHT));
const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 5000;

/** Answers in the current window. */
interface Window {
  start: number;
  throttled: number;
  answers: number;
}

/** A cut being judged: the rate before it and the recent share of throttled answers. */
interface Probe {
  rateBefore: number;
  shareBefore: number;
}

/**
 * Whether a cut relieved a quota awi was over rather than only costing calls.
 * Over a quota q at rate r the throttled share is 1 - q/r, and at 0.7 r it is
 * 1 - q/0.7r (none once under q); against throttling that does not depend on
 * the rate it stays. The line is halfway between the two. `shareBefore` must be
 * the recent share, not that of the window that called for the cut alone: that
 * window was picked for being high, and the next one would fall back anyway.
 * Nearly everything still throttled: keep backing off, whatever the cause.
 */
export function cutRelievedQuota(shareBefore: number, shareAfter: number, background = 0): boolean {
  // With a background share b on top of the quota, 1 - share = (1 - b) min(1, q/r): the cut cannot go below b.
  const shareUnderQuota = Math.max(background, 1 - (1 - shareBefore) / DECREASE_FACTOR);
  return shareAfter < (shareBefore + shareUnderQuota) / 2 || shareAfter >= NEARLY_ALL;
}

/** One adaptive token bucket. Pure arithmetic over an injected clock; no timers. */
export class AdaptiveBucket {
  private tokens: number;
  private last: number;
  private window: Window;
  private probe: Probe | undefined;
  /** Share of throttled answers over the last windows (moving average). */
  private recentShare: number | undefined;
  /** Share of throttled answers that does not depend on awi's rate, as learned from cuts that did not relieve it. */
  background = 0;
  rate: number;

  constructor(private readonly s: BudgetSettings, private readonly now: () => number) {
    this.rate = s.ratePerSecond;
    this.tokens = s.burst;
    this.last = now();
    this.window = { start: this.last, throttled: 0, answers: 0 };
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

  /** AWS answered Throttling. Returns true when the rate changed. */
  onThrottle(): boolean {
    return this.onAnswer(true);
  }

  /** AWS answered something else than Throttling (a success, a 5xx, a refusal). Returns true when the rate changed. */
  onSuccess(): boolean {
    return this.onAnswer(false);
  }

  private onAnswer(throttled: boolean): boolean {
    const before = this.rate;
    this.refill();
    this.window.answers += 1;
    if (throttled) this.window.throttled += 1;
    const t = this.now();
    // The window that judges a cut holds twice as many answers: a wrong judgement costs more than a late one.
    const samples = this.probe ? 2 * MIN_SAMPLES : MIN_SAMPLES;
    if (t - this.window.start >= WINDOW_MS && this.window.answers >= samples) this.closeWindow(t);
    return this.rate !== before;
  }

  private closeWindow(t: number): void {
    const { start, throttled, answers } = this.window;
    const share = throttled / answers;
    const sent = (answers * 1000) / (t - start);
    const recentBefore = this.recentShare ?? share;
    this.recentShare = recentBefore + (share - recentBefore) * RECENT_WEIGHT;
    this.window = { start: t, throttled: 0, answers: 0 };
    this.background *= 0.5 ** (1 / BACKGROUND_HALF_LIFE_WINDOWS);
    const probe = this.probe;
    this.probe = undefined;
    if (probe) {
      // A cut that held nothing back (fewer calls to make than even the lower rate allows) tells nothing and
      // costs nothing: it stays, and the next cut (if throttling persists) will bind.
      if (sent < LIMITED * this.rate) return;
      if (!cutRelievedQuota(probe.shareBefore, share, this.background)) {
        this.background = (probe.shareBefore + share) / 2;
        this.rate = probe.rateBefore;
      }
      return;
    }
    // A cut needs excess throttling in this window and in the moving average (not one noisy window, nor
    // the tail of throttling that has stopped); the moving average is what the cut is judged against.
    const standardError = Math.sqrt((Math.max(this.background, MIN_EXCESS) * (1 - this.background)) / answers);
    const excess = (x: number, spread: number) => x > this.background + Math.max(MIN_EXCESS, 2 * standardError * spread);
    if (excess(share, 1) && excess(this.recentShare, RECENT_SPREAD)) {
      const cut = Math.max(this.s.minRatePerSecond, this.rate * DECREASE_FACTOR);
      if (cut < this.rate) {
        this.probe = { rateBefore: this.rate, shareBefore: this.recentShare };
        this.rate = cut;
        // The cut binds at once: tokens saved up at the higher rate would let the next window through unchanged.
        this.tokens = Math.min(this.tokens, 0);
      }
      return;
    }
    if (excess(share, 1)) return; // one noisy window: hold
    // No more throttling than the background: climb back towards the configured rate, by at most a
    // quarter per window, so that a low rate (a low quota) is not overshot by a long window's climb.
    const climb = Math.min((this.s.ratePerSecond * (t - start)) / RECOVERY_MS, this.rate * MAX_CLIMB);
    this.rate = Math.min(this.s.ratePerSecond, this.rate + climb);
    if (share < this.background) this.background += (share - this.background) * BACKGROUND_DECAY;
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
        const throttled = isThrottled(err);
        if (throttled) this.observer.throttled?.(account, service);
        if (throttled ? b.onThrottle() : b.onSuccess()) this.observer.rate?.(account, service, b.rate);
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

/**
 * The platform config's budget as settings per service; the floor is a twentieth of each rate. EKS Auth
 * (the Pod Identity token exchange) has its own quotas: its own bucket at the EKS rate, so that its calls
 * (never throttled when EKS is) do not blur the EKS bucket's view of throttling.
 */
export function budgetSettings(c: AwsBudgetConfig): BudgetSettingsByService {
  const service = (ratePerSecond: number): BudgetSettings => ({
    ratePerSecond, burst: c.burst, minRatePerSecond: ratePerSecond / 20, maxAttempts: c.maxAttempts,
  });
  return {
    iam: service(c.iamCallsPerSecond), eks: service(c.eksCallsPerSecond), 'eks-auth': service(c.eksCallsPerSecond),
    sts: service(c.stsCallsPerSecond), default: service(c.iamCallsPerSecond),
  };
}
