// Fault rules: which calls get throttled, fail with a 5xx, or are delayed.
// Deterministic: no Math.random; the clock is injected. Pure apart from the
// per-rule counters the engine keeps.
import { AwsError } from './protocol.js';
import type { FaultKind, FaultRule, ServiceName } from './types.js';

const KINDS: ReadonlySet<string> = new Set<FaultKind>(['throttle', 'unavailable', 'internal', 'latency']);

/** `*` matches any run of characters (also across `:`); everything else literally. */
export function apiMatches(pattern: string, api: string): boolean {
  if (pattern === '*') return true;
  const re = new RegExp('^' + pattern.split('*').map(escapeRe).join('.*') + '$');
  return re.test(api);
}

function escapeRe(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

/** Validates untrusted input (the admin API) into rules; throws an Error saying what is wrong. */
export function validateRules(input: unknown): FaultRule[] {
  const list = Array.isArray(input) ? input : input && typeof input === 'object' && Array.isArray((input as { rules?: unknown }).rules) ? (input as { rules: unknown[] }).rules : undefined;
  if (!list) throw new Error('fault rules must be a JSON array (or {"rules": [...]})');
  return list.map((raw, i) => {
    const where = `rule ${i}`;
    if (!raw || typeof raw !== 'object') throw new Error(`${where}: must be an object`);
    const r = raw as Record<string, unknown>;
    if (typeof r.api !== 'string' || r.api === '') throw new Error(`${where}: "api" must be a non-empty string like "iam:CreateRole"`);
    if (typeof r.fault !== 'string' || !KINDS.has(r.fault)) throw new Error(`${where}: "fault" must be one of ${[...KINDS].join(', ')}`);
    const num = (k: string, min: number, max = Infinity, int = false): number | undefined => {
      const v = r[k];
      if (v === undefined || v === null) return undefined;
      if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (int && !Number.isInteger(v))) {
        throw new Error(`${where}: "${k}" must be a${int ? 'n integer' : ' number'} in [${min}, ${max}]`);
      }
      return v;
    };
    const rule: FaultRule = { api: r.api, fault: r.fault as FaultKind };
    const rate = num('rate', 0, 1);
    const seed = num('seed', 0, 2 ** 32 - 1, true);
    const everyNth = num('everyNth', 1, Infinity, true);
    const fromMs = num('fromMs', 0);
    const untilMs = num('untilMs', 0);
    const forMs = num('forMs', 0);
    const latencyMs = num('latencyMs', 0, 600_000);
    const maxCount = num('maxCount', 0, Infinity, true);
    if (rate !== undefined) rule.rate = rate;
    if (seed !== undefined) rule.seed = seed;
    if (everyNth !== undefined) rule.everyNth = everyNth;
    if (fromMs !== undefined) rule.fromMs = fromMs;
    if (untilMs !== undefined) rule.untilMs = untilMs;
    if (forMs !== undefined) rule.forMs = forMs;
    if (latencyMs !== undefined) rule.latencyMs = latencyMs;
    if (maxCount !== undefined) rule.maxCount = maxCount;
    if (typeof r.message === 'string') rule.message = r.message;
    if (rule.fault === 'latency' && rule.latencyMs === undefined) throw new Error(`${where}: a latency rule needs "latencyMs"`);
    if (rule.rate !== undefined && rule.everyNth !== undefined) throw new Error(`${where}: use either "rate" or "everyNth"`);
    return rule;
  });
}

/** mulberry32: small, seedable, good enough to spread faults. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface RuleState {
  rule: FaultRule;
  setAt: number;
  /** Matching calls seen while the rule was active. */
  seen: number;
  injected: number;
  acc: number;
  random?: () => number;
}

export interface FaultDecision {
  /** Total delay to add before answering. */
  latencyMs: number;
  /** The error fault to answer with, if any. */
  error?: { kind: Exclude<FaultKind, 'latency'>; rule: FaultRule };
  /** The kind for the call log: the error kind, or "latency" when only delayed. */
  logged?: FaultKind;
}

export class FaultEngine {
  private states: RuleState[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  set(rules: FaultRule[]): void {
    const t = this.now();
    this.states = rules.map((rule) => ({ rule, setAt: t, seen: 0, injected: 0, acc: 0, ...(rule.seed !== undefined ? { random: prng(rule.seed) } : {}) }));
  }

  clear(): void {
    this.states = [];
  }

  /** The rules with how often each fired. */
  list(): Array<FaultRule & { injected: number; seen: number }> {
    return this.states.map((s) => ({ ...s.rule, injected: s.injected, seen: s.seen }));
  }

  /**
   * Decides the faults for one call of `api`. Rules are consulted in order:
   * every matching latency rule that fires adds its delay; the first error rule
   * that fires decides the error and later error rules do not see the call.
   */
  decide(api: string): FaultDecision {
    const t = this.now();
    const decision: FaultDecision = { latencyMs: 0 };
    for (const s of this.states) {
      const r = s.rule;
      if (!apiMatches(r.api, api)) continue;
      if (r.fault !== 'latency' && decision.error) continue;
      if (r.fromMs !== undefined && t < r.fromMs) continue;
      if (r.untilMs !== undefined && t >= r.untilMs) continue;
      if (r.forMs !== undefined && t >= s.setAt + r.forMs) continue;
      if (r.maxCount !== undefined && s.injected >= r.maxCount) continue;
      s.seen++;
      if (!fires(s)) continue;
      s.injected++;
      decision.latencyMs += r.latencyMs ?? 0;
      if (r.fault === 'latency') decision.logged ??= 'latency';
      else {
        decision.error = { kind: r.fault, rule: r };
        decision.logged = r.fault;
      }
    }
    return decision;
  }
}

function fires(s: RuleState): boolean {
  const r = s.rule;
  if (r.everyNth !== undefined) return s.seen % r.everyNth === 0;
  const rate = r.rate ?? 1;
  if (rate >= 1) return true;
  if (rate <= 0) return false;
  if (s.random) return s.random() < rate;
  // Error diffusion: exactly floor(n * rate) hits in the first n calls.
  s.acc += rate;
  if (s.acc >= 1 - 1e-9) {
    s.acc -= 1;
    return true;
  }
  return false;
}

/**
 * The error each service answers for an injected fault, chosen so that the
 * SDK's retry strategy engages (throttling codes / 429, 5xx).
 */
export function faultError(service: ServiceName, kind: Exclude<FaultKind, 'latency'>, message?: string): AwsError {
  const query = service === 'iam' || service === 'sts';
  switch (kind) {
    case 'throttle':
      return query ? new AwsError('Throttling', 400, message ?? 'Rate exceeded') : new AwsError('ThrottlingException', 429, message ?? 'Rate exceeded');
    case 'unavailable':
      return query
        ? new AwsError('ServiceUnavailable', 503, message ?? 'Service is unavailable. Please try again later.')
        : new AwsError('ServiceUnavailableException', 503, message ?? 'The service is unavailable. Back off and retry the operation.');
    case 'internal':
      if (query) return new AwsError('InternalFailure', 500, message ?? 'The request processing has failed because of an unknown error, exception or failure.');
      return service === 'eks'
        ? new AwsError('ServerException', 500, message ?? 'These errors are usually caused by a server-side issue.')
        : new AwsError('InternalServerException', 500, message ?? 'These errors are usually caused by a server-side issue.');
  }
}
