// The one clock and the one backoff of the runtime (work queue, watch, leader
// election), so that tests drive all of them with one fake clock and all
// retries grow the same way.

/** Timers and time, injectable for tests. */
export interface Clock {
  /** Monotonic milliseconds, for durations and deadlines inside this process. */
  now(): number;
  /** Wall time in milliseconds since the epoch, for timestamps other processes read (a lease's renewTime). */
  wallNow(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Node fires delays above 2^31-1 ms at once: clamp (24.8 days is 'later' enough). */
const MAX_TIMER_MS = 2_147_483_647;

export const realClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, Math.min(Math.max(0, ms), MAX_TIMER_MS)),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export interface BackoffPolicy {
  /** Delay after the first failure. */
  baseMs: number;
  /** Cap of the delay, jitter included. */
  maxMs: number;
  /** Jitter as a fraction (0.1 = ±10%); clamped to [0, 1]. */
  jitter: number;
}

/**
 * Delay before the next attempt after `failures` consecutive failures
 * (0 = the first retry): base * 2^failures, capped, ±jitter, capped again.
 * `random` returns a number in [0, 1).
 */
export function backoff(failures: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const base = Math.max(0, policy.baseMs);
  const max = Math.max(base, policy.maxMs);
  const jitter = Math.min(1, Math.max(0, policy.jitter));
  const raw = Math.min(max, base * 2 ** Math.min(Math.max(0, failures), 62));
  const factor = 1 + (random() * 2 - 1) * jitter;
  return Math.max(0, Math.min(max, Math.round(raw * factor)));
}
