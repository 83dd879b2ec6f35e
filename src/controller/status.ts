// The claim's status, decided. Pure: the reconciler gathers what happened
// (desired state, blockers, applied steps, propagation, problems, a failure)
// and patches; these functions say which conditions that makes, with which
// messages, and which of them deserve an Event (event-policy.ts).
import type { AwsWorkloadIdentityClaim, ClaimStatus } from '../api/types.js';
import { summarizeProblems } from '../compiler/problems.js';
import type { DesiredState, Problem } from '../compiler/types.js';
import { sentence, type Condition, type ConditionInput, type ConditionType } from './conditions.js';
import type { EventIntent } from './event-policy.js';
import type { Blocker, Step } from './plan.js';
import { CONDITION_ORDER, RESOURCES, stepResource } from './resources/index.js';

/** A status patch (JSON merge patch: null removes a field), typed by the CRD's generated status type. */
export type ClaimStatusPatch = { [K in keyof ClaimStatus]?: ClaimStatus[K] | null };

/** Why the claim's current spec was refused, and which generation's spec awi enforces instead. */
export interface Refusal {
  problems: Problem[];
  generation: number;
}

/**
 * Ready and one condition per resource, from what one reconcile found and did:
 * a blocker names its resource (the others are not evaluated); an AWS
 * resource written in this reconcile (or any, while AWS still propagates an
 * earlier write) waits for IAM; a Kubernetes one does not.
 */
export function resourceConditions(d: DesiredState, blockers: readonly Blocker[], applied: readonly Step[], propagating: boolean): ConditionInput[] {
  const touched = new Set(applied.map(stepResource));
  const perResource = CONDITION_ORDER.map((r): ConditionInput => {
    const m = RESOURCES[r];
    const type = m.condition;
    const blocker = blockers.find((b) => b.resource === r);
    if (blocker) return { type, status: 'False', reason: blocker.reason, message: blocker.message };
    if (blockers.length) return { type, status: 'Unknown', reason: 'Blocked', message: `Not evaluated: ${blockers[0]!.message}` };
    if (propagating || (touched.has(r) && m.store === 'AWS')) {
      return { type, status: 'False', reason: 'IAMPropagating', message: m.readyMessage(d, false) };
    }
    return { type, status: 'True', reason: 'Reconciled', message: m.readyMessage(d, true) };
  });
  // The summary names the cause: a blocker first, then the first resource not ready.
  const notReady = perResource.find((c) => c.status === 'False') ?? perResource.find((c) => c.status !== 'True');
  const summary: ConditionInput = notReady
    ? { type: 'Ready', status: 'False', reason: notReady.reason, message: notReady.message }
    : { type: 'Ready', status: 'True', reason: 'Reconciled', message: `Pods using ServiceAccount ${d.serviceAccount.namespace}/${d.serviceAccount.name} get role ${d.role.arn} through ${d.mechanism}.` };
  return [summary, ...perResource];
}

/** Ready False for `reason`, and every resource condition Unknown ("Not evaluated: ..."). */
function notEvaluated(ready: ConditionInput, reason: string, message: string, first: ConditionInput[] = []): ConditionInput[] {
  const blocked = (type: ConditionType): ConditionInput => ({ type, status: 'Unknown', reason, message });
  const given = new Set(first.map((c) => c.type));
  return [ready, ...first, ...CONDITION_ORDER.map((r) => RESOURCES[r].condition).filter((t) => !given.has(t)).map(blocked)];
}

/** A missing prerequisite that stops every write (the IRSA OIDC provider): nothing evaluated. */
export function prerequisiteConditions(p: { reason: string; message: string }): ConditionInput[] {
  return notEvaluated({ type: 'Ready', status: 'False', reason: p.reason, message: p.message }, p.reason, `Not evaluated: ${p.message}`);
}

/** The first problems, one per line, then "and N more": a status condition must stay small whatever the claim. */
export function problemsMessage(problems: Problem[]): string {
  return summarizeProblems(problems);
}

/** Ready says the spec was refused; the other conditions describe the last valid state awi keeps enforcing. */
export function withRefusal(conditions: ConditionInput[], r: Refusal): ConditionInput[] {
  const reason = r.problems[0]!.reason;
  const message = `${sentence(problemsMessage(r.problems))} awi keeps enforcing the last valid spec (generation ${r.generation}) until the claim is fixed.`;
  return conditions.map((c) => (c.type === 'Ready' ? { type: 'Ready', status: 'False', reason, message } : c));
}

/**
 * A claim refused with nothing to fall back on: Ready and PolicyReady name
 * the problems, the rest is not evaluated. When the status can list only the
 * first problems, one Warning Event names them all, once per new refusal.
 */
export function refusedStatus(claim: AwsWorkloadIdentityClaim, problems: Problem[]): { conditions: ConditionInput[]; events: EventIntent[] } {
  const first = problems[0]!;
  // Say so when what was made for an earlier spec is left unenforced (its spec no longer compiles either).
  const applied = claim.status?.applied;
  const summary = problemsMessage(problems);
  const message = applied
    ? `${sentence(summary)} The last valid spec (generation ${applied.generation}) no longer compiles either: role ${applied.roleArn} and its binding are left as they are, not enforced, until the claim is fixed or deleted.`
    : summary;
  const omitted = Number(/\nand (\d+) more$/.exec(summary)?.[1] ?? 0);
  const previous = previousConditions(claim).find((c) => c.type === 'Ready');
  const events: EventIntent[] = omitted > 0 && previous?.message !== message
    ? [{
        type: 'Warning', reason: 'ProblemsSummarized', action: 'Reconcile',
        note: `${problems.length} problems, the status lists the first ${problems.length - omitted} (all are in the controller's log, "claim refused"): ${problems.map((p) => `${p.field} (${p.rule})`).join('; ')}`,
      }]
    : [];
  const conditions = notEvaluated(
    { type: 'Ready', status: 'False', reason: first.reason, message },
    first.reason, 'Not evaluated: the claim was refused.',
    [{ type: 'PolicyReady', status: 'False', reason: first.reason, message }],
  );
  return { conditions, events };
}

/** A failed reconcile: Ready says why and that awi retries; the other conditions stay as they were. */
export function failureConditions(previous: readonly Condition[] | undefined, reason: string, message: string): ConditionInput[] {
  const keep = (previous ?? []).filter((c) => c.type !== 'Ready').map(({ type, status, reason: r, message: m }) => ({ type, status, reason: r, message: m }));
  return [{ type: 'Ready', status: 'False', reason, message: `${sentence(message)} Retrying with backoff.` }, ...keep];
}

/** The claim's conditions as last written. */
export function previousConditions(claim: AwsWorkloadIdentityClaim): Condition[] {
  return claim.status?.conditions ?? [];
}

export const isReady = (conditions: readonly Pick<Condition, 'type' | 'status'>[] | undefined): boolean =>
  conditions?.find((c) => c.type === 'Ready')?.status === 'True';

/**
 * Steps taken while the desired state stayed the same are corrections of
 * drift: after Ready at this generation, or at any time while refused (the
 * last valid state does not change).
 */
export function isDriftCorrection(claim: AwsWorkloadIdentityClaim, refused: boolean): boolean {
  if (refused) return true;
  return isReady(claim.status?.conditions) && claim.status?.observedGeneration === claim.metadata.generation;
}

/** How long lastDriftCheckTime and lastSyncTime may stay as they are, by default. */
export const DEFAULT_STATUS_TIME_RECORD_MS = 15 * 60_000;

/**
 * A status time that moves at a coarse interval, so that a resync that finds
 * nothing to do writes no status: `previous` while it is younger than
 * `recordMs` and nothing forces a new one; else `now`.
 */
export function coarseTime(previous: string | undefined, now: string, force: boolean, recordMs = DEFAULT_STATUS_TIME_RECORD_MS): string {
  if (force || !previous) return now;
  const age = Date.parse(now) - Date.parse(previous);
  return Number.isFinite(age) && age >= 0 && age < recordMs ? previous : now;
}

/** Would patching `next` onto `current` change nothing? (null in a merge patch removes: same as absent.) */
export function statusUnchanged(current: object | undefined, next: object): boolean {
  if (!current) return false;
  const have = current as Record<string, unknown>;
  return Object.entries(next).every(([k, v]) => canonicalJson(v ?? undefined) === canonicalJson(have[k] ?? undefined));
}

function canonicalJson(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
