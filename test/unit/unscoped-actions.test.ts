// Actions AWS authorizes only on "*" (ecr:GetAuthorizationToken,
// cloudwatch:PutMetricData with its cloudwatch:namespace condition, the X-Ray
// daemon's four actions): grantable by intent, or by a raw statement where raw
// statements are allowed, and never as a general wildcard: any other action on
// "*" keeps the resource-not-wildcard rule.

import { describe, expect, it } from '@jest/globals';
import { compileClaim } from '../../src/compiler/index.js';
import { UNSCOPED_ACTIONS, unscopedGrantVerdict } from '../../src/compiler/unscoped-actions.js';
import type { Problem, PolicyStatement } from '../../src/compiler/types.js';
import type { PlatformConfig } from '../../src/config/types.js';
import type { AwsWorkloadIdentityClaim, RawStatement } from '../../src/api/types.js';
import { claimWith, configWith } from '../fixtures/claims.js';

const A = '111122223333';

/** lab-* may write raw statements; tenant-prod (the shipped tenant guardrail) may not. */
const config = configWith((raw) => {
  raw.guardrails.push({
    namespaces: ['lab-*'],
    allowedAccounts: [A],
    allowedResourcePatterns: ['arn:aws:s3:::lab-bucket/*'],
    allowRawStatements: true,
    forbiddenActions: ['iam:*'],
  });
});

const claimIn = (namespace: string, permissions: AwsWorkloadIdentityClaim['spec']['permissions']) =>
  claimWith((c) => {
    c.metadata.namespace = namespace;
    c.spec.permissions = permissions;
  });

function compile(claim: AwsWorkloadIdentityClaim, cfg: PlatformConfig = config) {
  return compileClaim(claim, cfg);
}
const rules = (found: Problem[]) => found.map((p) => `${p.field}: ${p.rule}`);
const problems = (claim: AwsWorkloadIdentityClaim, cfg?: PlatformConfig) => {
  const r = compile(claim, cfg);
  return r.ok ? [] : r.problems;
};
const statements = (claim: AwsWorkloadIdentityClaim): PolicyStatement[] => {
  const r = compile(claim);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.desired.permissionPolicy.document.Statement;
};
const raw = (actions: string[], resources: string[], conditions?: RawStatement['conditions']): RawStatement => ({
  effect: 'Allow',
  actions,
  resources,
  ...(conditions ? { conditions } : {}),
});

describe('the curated list', () => {
  it('holds exactly the actions checked against the Service Authorization Reference', () => {
    expect(UNSCOPED_ACTIONS.map((a) => a.action).sort()).toEqual([
      'cloudwatch:PutMetricData',
      'ecr:GetAuthorizationToken',
      'xray:GetSamplingRules',
      'xray:GetSamplingTargets',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
    expect(UNSCOPED_ACTIONS.find((a) => a.action === 'cloudwatch:PutMetricData')?.requiredConditionKey).toBe('cloudwatch:namespace');
  });

  it('accepts only "*" alone, only listed actions, and PutMetricData only with a namespace condition', () => {
    expect(unscopedGrantVerdict(['ecr:GetAuthorizationToken'], ['*'], undefined).ok).toBe(true);
    expect(unscopedGrantVerdict(['ECR:getauthorizationtoken'], ['*'], undefined).ok).toBe(true); // IAM action names are case-insensitive
    expect(unscopedGrantVerdict(['ecr:GetAuthorizationToken', 's3:GetObject'], ['*'], undefined).ok).toBe(false);
    expect(unscopedGrantVerdict(['ecr:*'], ['*'], undefined).ok).toBe(false);
    expect(unscopedGrantVerdict(['ecr:GetAuthorizationToken'], ['*', 'arn:aws:s3:::x'], undefined).ok).toBe(false);
    expect(unscopedGrantVerdict(['cloudwatch:PutMetricData'], ['*'], undefined).ok).toBe(false);
    expect(unscopedGrantVerdict(['cloudwatch:PutMetricData'], ['*'], { StringEquals: { 'cloudwatch:namespace': 'app' } }).ok).toBe(true);
    expect(unscopedGrantVerdict(['cloudwatch:PutMetricData'], ['*'], { StringLike: { 'cloudwatch:namespace': 'app/*' } }).ok).toBe(true);
    // Conditions that do not narrow: a negation, ...IfExists, or a value that is only a wildcard.
    expect(unscopedGrantVerdict(['cloudwatch:PutMetricData'], ['*'], { StringNotEquals: { 'cloudwatch:namespace': 'AWS/EC2' } }).ok).toBe(false);
    expect(unscopedGrantVerdict(['cloudwatch:PutMetricData'], ['*'], { StringEqualsIfExists: { 'cloudwatch:namespace': 'app' } }).ok).toBe(false);
    expect(unscopedGrantVerdict(['cloudwatch:PutMetricData'], ['*'], { StringLike: { 'cloudwatch:namespace': '*' } }).ok).toBe(false);
  });
});

describe('intents', () => {
  it('ECR login, CloudWatch metrics in named namespaces and X-Ray tracing compile to statements on "*" in a tenant namespace', () => {
    const claim = claimIn('orders-prod', {
      ecrAuthorizationToken: true,
      cloudwatchMetrics: [{ namespace: 'orders' }, { namespace: 'orders/batch' }],
      xrayTracing: true,
    });
    const found = statements(claim);
    const byAction = (action: string) => found.find((s) => (s.Action as string[]).includes(action));
    expect(byAction('ecr:GetAuthorizationToken')).toMatchObject({ Effect: 'Allow', Resource: ['*'] });
    expect(byAction('ecr:GetAuthorizationToken')?.Condition).toBeUndefined();
    // One statement per namespace, each on "*" with its condition; PutMetricData never shares a statement with the unconditioned actions.
    const metrics = found.filter((s) => (s.Action as string[]).includes('cloudwatch:PutMetricData'));
    expect(metrics.map((s) => [s.Action, s.Resource, s.Condition])).toEqual(
      expect.arrayContaining([
        [['cloudwatch:PutMetricData'], ['*'], { StringEquals: { 'cloudwatch:namespace': 'orders' } }],
        [['cloudwatch:PutMetricData'], ['*'], { StringEquals: { 'cloudwatch:namespace': 'orders/batch' } }],
      ]),
    );
    expect(metrics).toHaveLength(2);
    expect(byAction('xray:PutTraceSegments')?.Action).toEqual(
      expect.arrayContaining(['xray:GetSamplingRules', 'xray:GetSamplingTargets', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments']),
    );
  });

  it('still answers to allowedServices and forbiddenActions', () => {
    const narrow = configWith((raw) => {
      raw.guardrails[0].allowedServices = ['s3'];
      raw.guardrails[0].forbiddenActions.push('xray:PutTraceSegments');
    });
    expect(rules(problems(claimIn('orders-prod', { ecrAuthorizationToken: true, xrayTracing: true }), narrow))).toEqual(
      expect.arrayContaining([
        'spec.permissions.ecrAuthorizationToken: service-allowed',
        'spec.permissions.xrayTracing: service-allowed',
        'spec.permissions.xrayTracing: action-forbidden',
      ]),
    );
  });

  it('refuses the namespaces CloudWatch reserves for AWS', () => {
    expect(rules(problems(claimIn('orders-prod', { cloudwatchMetrics: [{ namespace: 'AWS/EC2' }] })))).toEqual([
      'spec.permissions.cloudwatchMetrics[0].namespace: metric-namespace-reserved',
    ]);
  });

  it('refuses a namespace with characters CloudWatch does not accept (schema)', () => {
    expect(rules(problems(claimIn('orders-prod', { cloudwatchMetrics: [{ namespace: 'orders*' }] })))).toEqual([
      'spec.permissions.cloudwatchMetrics[0].namespace: metric-namespace',
    ]);
  });
});

describe('raw statements on "*"', () => {
  it('grants a listed action on "*" where raw statements are allowed', () => {
    const found = statements(claimIn('lab-one', { rawStatements: [raw(['ecr:GetAuthorizationToken'], ['*'])] }));
    expect(found).toEqual([expect.objectContaining({ Action: ['ecr:GetAuthorizationToken'], Resource: ['*'] })]);
    const metrics = statements(claimIn('lab-one', { rawStatements: [raw(['cloudwatch:PutMetricData'], ['*'], { StringEquals: { 'cloudwatch:namespace': ['lab'] } })] }));
    expect(metrics[0]).toMatchObject({ Resource: ['*'], Condition: { StringEquals: { 'cloudwatch:namespace': 'lab' } } });
  });

  it('keeps resource-not-wildcard for any other action on "*", and for a mix', () => {
    for (const actions of [['s3:GetObject'], ['ecr:GetAuthorizationToken', 's3:GetObject'], ['ecr:BatchGetImage']]) {
      const found = problems(claimIn('lab-one', { rawStatements: [raw(actions, ['*'])] }));
      expect(rules(found)).toContain('spec.permissions.rawStatements[0].resources[0]: resource-not-wildcard');
      expect(found.find((p) => p.rule === 'resource-not-wildcard')?.message).toMatch(/not among the actions AWS authorizes only on "\*"/);
    }
  });

  it('refuses PutMetricData on "*" without its namespace condition', () => {
    const found = problems(claimIn('lab-one', { rawStatements: [raw(['cloudwatch:PutMetricData'], ['*'])] }));
    expect(rules(found)).toContain('spec.permissions.rawStatements[0].resources[0]: resource-not-wildcard');
    expect(found.find((p) => p.rule === 'resource-not-wildcard')?.message).toMatch(/needs a StringEquals or StringLike condition on cloudwatch:namespace/);
  });

  it('refuses a wildcard action even when every action it could stand for is listed', () => {
    expect(rules(problems(claimIn('lab-one', { rawStatements: [raw(['xray:Put*'], ['*'])] })))).toEqual(
      expect.arrayContaining(['spec.permissions.rawStatements[0].actions[0]: action-not-wildcard', 'spec.permissions.rawStatements[0].resources[0]: resource-not-wildcard']),
    );
  });

  it('is still a raw statement: refused where raw statements are not allowed', () => {
    expect(rules(problems(claimIn('orders-prod', { rawStatements: [raw(['ecr:GetAuthorizationToken'], ['*'])] })))).toEqual([
      'spec.permissions.rawStatements: raw-statements-allowed',
    ]);
  });
});
