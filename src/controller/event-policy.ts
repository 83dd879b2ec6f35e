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
 * - Ready is False for a reason that is not waiting: one Warning Event per
 *   write, also when nothing changed since the last one. A refusal or failure
 *   retried ten times is ten occurrences, which the recorder folds into one
 *   Event series (x10), not ten Events.
 * The Warning names the condition that carries the cause (RoleReady for a
 * foreign role, CredentialsVerified for a refused exchange), so the note says
 * which piece failed; Ready itself when no other condition shares its reason.
 */
export function statusEvents(previous: Condition[] | undefined, next: Condition[]): EventIntent[] {
  const ready = next.find((c) => c.type === 'Ready');
  if (!ready) return [];
  if (ready.status === 'True') {
    const before = previous?.find((c) => c.type === 'Ready');
    const changed = !before || before.status !== 'True' || before.reason !== ready.reason || before.message !== ready.message;
    return changed ? [{ type: 'Normal', reason: ready.reason, action: 'Reconcile', note: ready.message }] : [];
  }
  if (QUIET_REASONS.has(ready.reason)) return [];
  const cause = next.find((c) => c.type !== 'Ready' && c.status === 'False' && c.reason === ready.reason) ?? ready;
  return [{ type: 'Warning', reason: ready.reason, action: 'Reconcile', note: `${cause.type}=${cause.status}: ${cause.message}` }];
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
    ? { type: 'Normal', reason: 'Created', action: 'Create', note: `Created: ${list}.` }
    : { type: 'Normal', reason: 'Updated', action: 'Update', note: `Applied the claim's changes: ${list}.` };
}
