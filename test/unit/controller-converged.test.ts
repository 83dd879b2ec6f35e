// Which claims count as converged (re-checked after the unconverged ones).
import { describe, expect, it } from '@jest/globals';
import { converged } from '../../src/controller/controller.js';

const claim = (status: unknown, meta: Record<string, unknown> = {}) =>
  ({ apiVersion: 'awi.dev/v1alpha1', kind: 'AwsWorkloadIdentityClaim', metadata: { name: 'c', namespace: 'n', generation: 2, ...meta }, status }) as never;
const ready = (s: string) => [{ type: 'Ready', status: s }];

describe('converged', () => {
  it('is true only for a claim Ready at its current generation and not being deleted', () => {
    expect(converged(claim({ observedGeneration: 2, conditions: ready('True') }))).toBe(true);
    expect(converged(claim(undefined))).toBe(false); // never reconciled (or status lost)
    expect(converged(claim({ observedGeneration: 2, conditions: ready('False') }))).toBe(false);
    expect(converged(claim({ observedGeneration: 1, conditions: ready('True') }))).toBe(false); // spec changed since
    expect(converged(claim({ observedGeneration: 2, conditions: ready('True') }, { deletionTimestamp: '2026-01-01T00:00:00Z' }))).toBe(false);
  });
});
