import { describe, expect, it } from '@jest/globals';
import { changedConditions, mergeConditions } from '../../src/controller/conditions.js';

describe('conditions', () => {
  const t0 = '2026-01-01T00:00:00.000Z';
  const t1 = '2026-01-01T00:05:00.000Z';
  const first = mergeConditions(undefined, [{ type: 'Ready', status: 'False', reason: 'IAMPropagating', message: 'waiting' }], 1, t0);

  it('stamps observedGeneration and a transition time on new conditions', () => {
    expect(first).toEqual([{ type: 'Ready', status: 'False', observedGeneration: 1, lastTransitionTime: t0, reason: 'IAMPropagating', message: 'waiting' }]);
  });

  it('keeps lastTransitionTime while the status stays, even if reason or message change', () => {
    const next = mergeConditions(first, [{ type: 'Ready', status: 'False', reason: 'Throttled', message: 'slow down' }], 2, t1);
    expect(next[0]).toMatchObject({ lastTransitionTime: t0, reason: 'Throttled', observedGeneration: 2 });
    expect(changedConditions(first, next)).toHaveLength(1);
  });

  it('moves lastTransitionTime when the status flips', () => {
    const next = mergeConditions(first, [{ type: 'Ready', status: 'True', reason: 'Reconciled', message: 'ok' }], 1, t1);
    expect(next[0]?.lastTransitionTime).toBe(t1);
  });

  it('reports no change for an identical recomputation', () => {
    const again = mergeConditions(first, [{ type: 'Ready', status: 'False', reason: 'IAMPropagating', message: 'waiting' }], 1, t1);
    expect(changedConditions(first, again)).toEqual([]);
  });
});
