// Fault selection of the AWS fake (testbed/awsfake/faults.ts): deterministic, with an injected clock.
import { describe, expect, it } from '@jest/globals';
import { apiMatches, faultError, FaultEngine, validateRules } from '../../testbed/awsfake/faults.js';

function hits(engine: FaultEngine, api: string, n: number): number[] {
  const out: number[] = [];
  for (let i = 1; i <= n; i++) if (engine.decide(api).error) out.push(i);
  return out;
}

describe('apiMatches', () => {
  it('matches exact names, service wildcards and *', () => {
    expect(apiMatches('iam:CreateRole', 'iam:CreateRole')).toBe(true);
    expect(apiMatches('iam:CreateRole', 'iam:CreateRolePolicy')).toBe(false);
    expect(apiMatches('iam:*', 'iam:GetRole')).toBe(true);
    expect(apiMatches('iam:*', 'sts:AssumeRole')).toBe(false);
    expect(apiMatches('*', 'eks-auth:AssumeRoleForPodIdentity')).toBe(true);
    expect(apiMatches('eks:*PodIdentityAssociation', 'eks:CreatePodIdentityAssociation')).toBe(true);
    expect(apiMatches('eks:*PodIdentityAssociation', 'eks:ListPodIdentityAssociations')).toBe(false);
    expect(apiMatches('iam:Get.ole', 'iam:GetRole')).toBe(false);
  });
});

describe('FaultEngine', () => {
  it('rate without seed: exactly floor(n * rate), evenly spread', () => {
    const e = new FaultEngine(() => 0);
    e.set([{ api: 'iam:CreateRole', fault: 'throttle', rate: 0.5 }]);
    expect(hits(e, 'iam:CreateRole', 10)).toEqual([2, 4, 6, 8, 10]);
    e.set([{ api: 'iam:CreateRole', fault: 'throttle', rate: 0.25 }]);
    expect(hits(e, 'iam:CreateRole', 12)).toEqual([4, 8, 12]);
    e.set([{ api: 'iam:CreateRole', fault: 'throttle', rate: 0.3 }]);
    expect(hits(e, 'iam:CreateRole', 100)).toHaveLength(30);
  });

  it('does not count calls of other APIs', () => {
    const e = new FaultEngine(() => 0);
    e.set([{ api: 'iam:CreateRole', fault: 'throttle', rate: 0.5 }]);
    expect(e.decide('iam:GetRole').error).toBeUndefined();
    expect(e.decide('iam:GetRole').error).toBeUndefined();
    expect(hits(e, 'iam:CreateRole', 2)).toEqual([2]);
  });

  it('rate with seed: reproducible and roughly the rate', () => {
    const run = () => {
      const e = new FaultEngine(() => 0);
      e.set([{ api: '*', fault: 'unavailable', rate: 0.2, seed: 42 }]);
      return hits(e, 'iam:GetRole', 1000);
    };
    const a = run();
    expect(run()).toEqual(a);
    expect(a.length).toBeGreaterThan(150);
    expect(a.length).toBeLessThan(250);
  });

  it('everyNth, maxCount and the default rate of 1', () => {
    const e = new FaultEngine(() => 0);
    e.set([{ api: 'iam:*', fault: 'internal', everyNth: 3 }]);
    expect(hits(e, 'iam:GetRole', 9)).toEqual([3, 6, 9]);
    e.set([{ api: 'iam:*', fault: 'internal', maxCount: 2 }]);
    expect(hits(e, 'iam:GetRole', 5)).toEqual([1, 2]);
    expect(e.list()[0]).toMatchObject({ injected: 2 });
  });

  it('time windows: untilMs, fromMs and forMs', () => {
    let now = 1_000;
    const e = new FaultEngine(() => now);
    e.set([{ api: '*', fault: 'throttle', untilMs: 2_000 }]);
    expect(e.decide('iam:GetRole').error?.kind).toBe('throttle');
    now = 2_000;
    expect(e.decide('iam:GetRole').error).toBeUndefined();

    now = 10_000;
    e.set([{ api: '*', fault: 'throttle', forMs: 500 }]);
    now = 10_499;
    expect(e.decide('iam:GetRole').error).toBeDefined();
    now = 10_500;
    expect(e.decide('iam:GetRole').error).toBeUndefined();

    e.set([{ api: '*', fault: 'throttle', fromMs: 20_000 }]);
    expect(e.decide('iam:GetRole').error).toBeUndefined();
    now = 20_000;
    expect(e.decide('iam:GetRole').error).toBeDefined();
  });

  it('adds latency from every firing latency rule; the first firing error rule wins', () => {
    const e = new FaultEngine(() => 0);
    e.set([
      { api: 'iam:*', fault: 'latency', latencyMs: 100 },
      { api: '*', fault: 'latency', latencyMs: 50 },
      { api: 'iam:GetRole', fault: 'throttle', everyNth: 2 },
      { api: 'iam:*', fault: 'unavailable' },
    ]);
    const first = e.decide('iam:GetRole');
    expect(first).toMatchObject({ latencyMs: 150, error: { kind: 'unavailable' }, logged: 'unavailable' });
    const second = e.decide('iam:GetRole');
    expect(second.error?.kind).toBe('throttle');
    const other = e.decide('sts:GetCallerIdentity');
    expect(other).toEqual({ latencyMs: 50, logged: 'latency' });
    // The unavailable rule did not see the call the throttle rule took.
    expect(e.list().map((r) => r.seen)).toEqual([2, 3, 2, 1]);
  });

  it('clear removes every rule', () => {
    const e = new FaultEngine(() => 0);
    e.set([{ api: '*', fault: 'throttle' }]);
    e.clear();
    expect(e.decide('iam:GetRole')).toEqual({ latencyMs: 0 });
  });
});

describe('validateRules', () => {
  it('accepts a list (or {rules}) and keeps known fields only', () => {
    expect(validateRules([{ api: 'iam:CreateRole', fault: 'throttle', rate: 0.5, junk: 1 }])).toEqual([{ api: 'iam:CreateRole', fault: 'throttle', rate: 0.5 }]);
    expect(validateRules({ rules: [{ api: '*', fault: 'latency', latencyMs: 5 }] })).toHaveLength(1);
  });

  it('explains what is wrong', () => {
    expect(() => validateRules({})).toThrow(/JSON array/);
    expect(() => validateRules([{ fault: 'throttle' }])).toThrow(/rule 0: "api"/);
    expect(() => validateRules([{ api: '*', fault: 'explode' }])).toThrow(/"fault" must be one of/);
    expect(() => validateRules([{ api: '*', fault: 'throttle', rate: 2 }])).toThrow(/"rate"/);
    expect(() => validateRules([{ api: '*', fault: 'throttle', everyNth: 0 }])).toThrow(/"everyNth"/);
    expect(() => validateRules([{ api: '*', fault: 'latency' }])).toThrow(/latencyMs/);
    expect(() => validateRules([{ api: '*', fault: 'throttle', rate: 0.5, everyNth: 2 }])).toThrow(/either/);
  });
});

describe('faultError', () => {
  it('uses each protocol\'s retryable errors', () => {
    expect(faultError('iam', 'throttle')).toMatchObject({ code: 'Throttling', status: 400, type: 'Sender' });
    expect(faultError('sts', 'unavailable')).toMatchObject({ code: 'ServiceUnavailable', status: 503, type: 'Receiver' });
    expect(faultError('iam', 'internal')).toMatchObject({ code: 'InternalFailure', status: 500 });
    expect(faultError('eks', 'throttle')).toMatchObject({ code: 'ThrottlingException', status: 429 });
    expect(faultError('eks', 'unavailable')).toMatchObject({ code: 'ServiceUnavailableException', status: 503 });
    expect(faultError('eks', 'internal')).toMatchObject({ code: 'ServerException', status: 500 });
    expect(faultError('eks-auth', 'internal')).toMatchObject({ code: 'InternalServerException', status: 500 });
    expect(faultError('iam', 'throttle', 'slow down').message).toBe('slow down');
  });
});
