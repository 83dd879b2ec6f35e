// Status conditions in the Kubernetes shape. Pure: the caller passes "now".
export type ConditionType = 'Ready' | 'PolicyReady' | 'RoleReady' | 'BindingReady' | 'ServiceAccountReady';
export const conditionTypes: ConditionType[] = ['Ready', 'PolicyReady', 'RoleReady', 'BindingReady', 'ServiceAccountReady'];

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
