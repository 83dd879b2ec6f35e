// Which reconciles deserve a Kubernetes Event. Pure: the reconciler asks,
// src/kube/events.ts records (and folds repeats into one Event series).
//
// Events tell decisions, like cert-manager's and ACK's: resources created or
// changed, drift corrected, a claim refused or failing, Ready reached, deleted,
// retained, an old binding retired. Intermediate states (IAMPropagating, not
// verified yet) are in the conditions, never in Events: a happy-path claim
// gets two (Created, then Reconciled), not one per condition change.
import type { Condition } from './conditions.js';

export interface EventIntent {
  type: 'Normal' | 'Warning';
  /** UpperCamelCase, what happened (Created, DriftCorrected, RoleNotOwned...). */
  reason: string;
  /** What awi did or tried (events.k8s.io/v1 `action`): Create, Update, Correct, Reconcile, Delete, Retain, Retire. */
  action: string;
  note: string;
}

/** Ready=False reasons that say "wait", not "something is wrong": no Event. */
export const QUIET_REASONS: ReadonlySet<string> = new Set(['IAMPropagating', 'NotVerified', 'Blocked']);

/**
 * The Events a status write deserves, given the conditions before and after.
 * - Ready turned True (or its True message changed): one Normal Event.
 * - Each cause of failure (a False condition whose reason is not a wait):
 *   one Warning Event per write, also when nothing changed since the last
 *   one. A refusal retried ten times is ten occurrences, which the recorder
 *   folds into one Event series (x10), not ten Events.
 * A cause is named by the condition that carries it (RoleReady for a foreign
 * role, CredentialsVerified for a refused exchange, even while Ready waits
 * for IAM), so the note says which piece failed; by Ready when no other
 * condition shares its reason (Throttled, AWSError).
 */
export function statusEvents(previous: Condition[] | undefined, next: Condition[]): EventIntent[] {
  const out: EventIntent[] = [];
  const ready = next.find((c) => c.type === 'Ready');
  if (ready?.status === 'True') {
    const before = previous?.find((c) => c.type === 'Ready');
    const changed = !before || before.status !== 'True' || before.reason !== ready.reason || before.message !== ready.message;
    if (changed) out.push({ type: 'Normal', reason: ready.reason, action: 'Reconcile', note: ready.message });
  }
  const causes = new Map<string, Condition>();
  for (const c of next) {
    if (c.status !== 'False' || QUIET_REASONS.has(c.reason)) continue;
    const seen = causes.get(c.reason);
    if (!seen || seen.type === 'Ready') causes.set(c.reason, c);
  }
  for (const [reason, c] of causes) out.push({ type: 'Warning', reason, action: 'Reconcile', note: `${c.type}=${c.status}: ${c.message}` });
  return out;
}

/**
 * The Event for the steps one reconcile applied: none when it applied none;
 * DriftCorrected (Warning: someone changed what awi owns) when the desired
 * state had not changed; otherwise Created when it created something (the
 * ServiceAccount, the role, the association), or Updated. `applied`: the applied steps' kinds and descriptions, in order.
 */
export function appliedEvent(applied: { kind: string; description: string }[], driftCorrection: boolean): EventIntent | undefined {
  if (!applied.length) return undefined;
  const list = applied.map((s) => s.description).join('; ');
  if (driftCorrection) return { type: 'Warning', reason: 'DriftCorrected', action: 'Correct', note: `Restored the claimed state: ${list}.` };
  return applied.some((s) => s.kind.startsWith('Create'))
    ? { type: 'Normal', reason: 'Created', action: 'Create', note: `Applied: ${list}.` }
    : { type: 'Normal', reason: 'Updated', action: 'Update', note: `Applied: ${list}.` };
}
