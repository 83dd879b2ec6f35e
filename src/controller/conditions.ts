// Status conditions in the Kubernetes shape. Pure: the caller passes "now".
import type { ResourceCondition } from './resources/index.js';

/** Ready (the summary) and one per resource kind of the registry (resources/index.ts). */
export type ConditionType = 'Ready' | ResourceCondition;

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export type ConditionInput = Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;

/**
 * Merges freshly computed conditions into the previous ones: lastTransitionTime
 * moves only when the status flips. Returns the conditions in a stable order.
 */
export function mergeConditions(previous: Condition[] | undefined, next: ConditionInput[], generation: number | undefined, now: string): Condition[] {
  const before = new Map((previous ?? []).map((c) => [c.type, c]));
  return next.map((c) => {
    const old = before.get(c.type);
    return {
      type: c.type,
      status: c.status,
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
      lastTransitionTime: old && old.status === c.status ? old.lastTransitionTime : now,
      reason: c.reason,
      message: c.message,
    };
  });
}

/** Conditions whose status, reason or message differ: each is worth an Event. */
export function changedConditions(previous: Condition[] | undefined, next: Condition[]): Condition[] {
  const before = new Map((previous ?? []).map((c) => [c.type, c]));
  return next.filter((c) => {
    const old = before.get(c.type);
    return !old || old.status !== c.status || old.reason !== c.reason || old.message !== c.message;
  });
}

/** Events follow the condition: only a True condition is Normal news. */
export const eventTypeFor = (c: Pick<Condition, 'status'>): 'Normal' | 'Warning' => (c.status === 'True' ? 'Normal' : 'Warning');

/** Ends a message with a full stop, so that sentences appended to it never run together. */
export function sentence(text: string): string {
  const t = text.trim();
  return t === '' || /[.!?]$/.test(t) ? t : `${t}.`;
}

/**
 * The message of a Kubernetes API error: the Status object's `message`, not
 * the client's dump of status line, body and headers.
 */
export function kubeErrorMessage(err: unknown, code: number): string {
  const body = (err as { body?: unknown } | undefined)?.body;
  let status: unknown = body;
  if (typeof body === 'string') {
    try {
      status = JSON.parse(body);
    } catch {
      status = undefined;
    }
  }
  const message = (status as { message?: unknown } | undefined)?.message;
  if (typeof message === 'string' && message.trim() !== '') return `The Kubernetes API answered ${code}: ${sentence(message)}`;
  const reason = (status as { reason?: unknown } | undefined)?.reason;
  return `The Kubernetes API answered ${code}${typeof reason === 'string' && reason ? ` (${reason})` : ''}.`;
}
