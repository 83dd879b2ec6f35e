// The claim's status, decided from what one reconcile found and did (src/controller/status.ts).
import { describe, expect, it } from '@jest/globals';
import type { Problem } from '../../src/compiler/types.js';
import type { Blocker } from '../../src/controller/plan.js';
import {
  failureConditions, isDriftCorrection, prerequisiteConditions, refusedStatus, resourceConditions, withRefusal,
} from '../../src/controller/status.js';
import { desiredFor, exampleClaim, POD_IDENTITY } from './reconciler-fixtures.js';

const claim = exampleClaim(POD_IDENTITY);
const d = desiredFor(claim);
const brief = (cs: { type: string; status: string; reason: string }[]) => cs.map((c) => `${c.type}=${c.status}/${c.reason}`);
const problem = (i: number): Problem => ({ reason: 'GuardrailViolation', field: `spec.permissions.s3[${i}].bucket`, rule: 'bucket-not-allowed', message: `bucket ${i} is not allowed` });

describe('resourceConditions', () => {
  const roleNotOwned: Blocker = { resource: 'Role', reason: 'RoleNotOwned', message: 'Role x is not ours.' };
  it.each([
    ['nothing to do: every condition True, Ready names role and mechanism', [], [], false,
      ['Ready=True/Reconciled', 'PolicyReady=True/Reconciled', 'RoleReady=True/Reconciled', 'BindingReady=True/Reconciled', 'ServiceAccountReady=True/Reconciled']],
    ['a blocker: its resource False, the others not evaluated, Ready names it', [roleNotOwned], [], false,
      ['Ready=False/RoleNotOwned', 'PolicyReady=Unknown/Blocked', 'RoleReady=False/RoleNotOwned', 'BindingReady=Unknown/Blocked', 'ServiceAccountReady=Unknown/Blocked']],
    ['a role write waits for IAM; the ServiceAccount (Kubernetes) does not', [], [{ kind: 'CreateServiceAccount', annotations: {} }, { kind: 'CreateRole' }], false,
      ['Ready=False/IAMPropagating', 'PolicyReady=True/Reconciled', 'RoleReady=False/IAMPropagating', 'BindingReady=True/Reconciled', 'ServiceAccountReady=True/Reconciled']],
    ['AWS still propagating an earlier write: every AWS resource waits', [], [], true,
      ['Ready=False/IAMPropagating', 'PolicyReady=False/IAMPropagating', 'RoleReady=False/IAMPropagating', 'BindingReady=False/IAMPropagating', 'ServiceAccountReady=False/IAMPropagating']],
  ] as const)('%s', (_name, blockers, applied, propagating, want) => {
    const cs = resourceConditions(d, [...blockers], [...applied], propagating);
    expect(brief(cs)).toEqual(want);
  });

  it('Ready=True says which pods get which role through what', () => {
    expect(resourceConditions(d, [], [], false)[0]!.message).toBe(`Pods using ServiceAccount ${d.serviceAccount.namespace}/${d.serviceAccount.name} get role ${d.role.arn} through PodIdentity.`);
  });
});

describe('refusal and failure', () => {
  it('a refused claim with nothing to fall back on: Ready and PolicyReady name the first problem, the rest is not evaluated', () => {
    const { conditions, events } = refusedStatus(claim, [problem(0)]);
    expect(brief(conditions)).toEqual(['Ready=False/GuardrailViolation', 'PolicyReady=False/GuardrailViolation', 'RoleReady=Unknown/GuardrailViolation', 'BindingReady=Unknown/GuardrailViolation', 'ServiceAccountReady=Unknown/GuardrailViolation']);
    expect(events).toEqual([]);
  });

  it('more problems than the status lists: one Warning names them all, not again for the same refusal', () => {
    const many = Array.from({ length: 15 }, (_, i) => problem(i));
    const first = refusedStatus(claim, many);
    expect(first.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'ProblemsSummarized' })]);
    expect(first.events[0]!.note).toContain('spec.permissions.s3[14].bucket (bucket-not-allowed)');
    const again = { ...claim, status: { conditions: [{ ...first.conditions[0]!, lastTransitionTime: 't' }] } };
    expect(refusedStatus(again, many).events).toEqual([]);
  });

  it('a refused edit keeps enforcing the last valid spec: only Ready changes', () => {
    const base = resourceConditions(d, [], [], false);
    const out = withRefusal(base, { problems: [problem(0)], generation: 3 });
    expect(out.slice(1)).toEqual(base.slice(1));
    expect(out[0]).toMatchObject({ status: 'False', reason: 'GuardrailViolation' });
    expect(out[0]!.message).toContain('awi keeps enforcing the last valid spec (generation 3)');
  });

  it('a failure changes Ready only, and says awi retries', () => {
    const previous = resourceConditions(d, [], [], false).map((c) => ({ ...c, lastTransitionTime: 't' }));
    const out = failureConditions(previous, 'Throttled', 'Rate exceeded');
    expect(out[0]).toEqual({ type: 'Ready', status: 'False', reason: 'Throttled', message: 'Rate exceeded. Retrying with backoff.' });
    expect(brief(out.slice(1))).toEqual(brief(previous.slice(1)));
  });

  it('a missing OIDC provider stops everything: nothing is evaluated', () => {
    expect(brief(prerequisiteConditions({ reason: 'OIDCProviderMissing', message: 'no provider' }))).toEqual([
      'Ready=False/OIDCProviderMissing', 'PolicyReady=Unknown/OIDCProviderMissing', 'RoleReady=Unknown/OIDCProviderMissing', 'BindingReady=Unknown/OIDCProviderMissing', 'ServiceAccountReady=Unknown/OIDCProviderMissing',
    ]);
  });
});

describe('isDriftCorrection', () => {
  const ready = [{ type: 'Ready', status: 'True' as const, reason: 'Reconciled', message: 'm', lastTransitionTime: 't' }];
  it.each([
    ['Ready at this generation: a step corrects drift', { observedGeneration: 1, conditions: ready }, false, true],
    ['a new generation: a step applies the edit', { observedGeneration: 0, conditions: ready }, false, false],
    ['never Ready: a step creates', { observedGeneration: 1, conditions: [] }, false, false],
    ['refused: the last valid state does not change, so any step corrects drift', { observedGeneration: 0, conditions: [] }, true, true],
  ])('%s', (_name, status, refused, want) => {
    expect(isDriftCorrection({ ...claim, status }, refused)).toBe(want);
  });
});
