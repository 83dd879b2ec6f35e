// Which claims count as converged (re-checked after the unconverged ones).
import { describe, expect, it } from '@jest/globals';
import type { KubernetesObject } from '@kubernetes/client-node';
import { converged, slimClaim, slimMetadata } from '../../src/controller/controller.js';

const claim = (status: unknown, meta: Record<string, unknown> = {}): KubernetesObject =>
  ({ apiVersion: 'awi.dev/v1alpha1', kind: 'AwsWorkloadIdentityClaim', metadata: { name: 'c', namespace: 'n', generation: 2, ...meta }, status }) as KubernetesObject;
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

describe('what the watches keep', () => {
  const cases = [
    claim({ observedGeneration: 2, conditions: [{ type: 'PolicyReady', status: 'True', message: 'long'.repeat(100) }, ...ready('True')] }),
    claim(undefined),
    claim({ observedGeneration: 1, conditions: ready('True') }),
    claim({ observedGeneration: 2, conditions: ready('False') }, { deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['awi.dev/cleanup'] }),
  ];

  it('a slim claim decides converged() exactly as the whole claim does', () => {
    for (const c of cases) expect(converged(slimClaim(c))).toBe(converged(c));
  });

  it('keeps the claim identity, generation, finalizers, ServiceAccount and Ready; drops the rest', () => {
    const deleting = cases[3]!;
    const fat = {
      ...deleting,
      metadata: { ...deleting.metadata, uid: 'u1', resourceVersion: '7', managedFields: [{ manager: 'kubectl' }], annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' } },
      spec: { serviceAccountName: 'sa', permissions: { s3: [{ bucket: 'b', access: ['read'] }] } },
    } as never;
    expect(slimClaim(fat)).toEqual({
      apiVersion: 'awi.dev/v1alpha1', kind: 'AwsWorkloadIdentityClaim',
      metadata: { name: 'c', namespace: 'n', uid: 'u1', resourceVersion: '7', generation: 2, deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['awi.dev/cleanup'] },
      spec: { serviceAccountName: 'sa' },
      status: { observedGeneration: 2, conditions: [{ type: 'Ready', status: 'False' }] },
    });
  });

  it('keeps a ServiceAccount\'s labels (the SA watch maps them to claims), not its annotations or secrets', () => {
    const sa = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 's', namespace: 'n', uid: 'u', resourceVersion: '3', labels: { 'awi.dev/claim': 'c' }, annotations: { a: 'b' } }, secrets: [{ name: 'x' }] } as never;
    expect(slimMetadata(sa)).toEqual({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 's', namespace: 'n', uid: 'u', resourceVersion: '3', labels: { 'awi.dev/claim': 'c' } } });
  });
});
