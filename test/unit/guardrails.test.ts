// Guardrails: which guardrails apply to a namespace, forbidden actions
// (wildcards both ways), wildcard resources, accounts, services, managed
// policies and raw statements.

import { describe, expect, it } from '@jest/globals';
import { compileClaim, DEFAULT_FORBIDDEN_ACTIONS, effectiveGuardrail, forbids } from '../../src/compiler/index.js';
import { wildcardOutsideName } from '../../src/compiler/guardrails.js';
import type { Problem } from '../../src/compiler/types.js';
import type { PlatformConfig } from '../../src/config/types.js';
import type { AwsWorkloadIdentityClaim, RawStatement } from '../../src/api/types.js';
import { claimWith, configWith, exampleConfig, loadExample } from '../fixtures/claims.js';

const A = '111122223333';
const B = '222233334444';

const config = configWith((raw) => {
  raw.accounts.push({ accountId: B, assumeRoleArn: `arn:aws:iam::${B}:role/awi-controller` });
  raw.guardrails.push(
    { namespaces: ['lab-*'], allowedAccounts: [A, B], allowManagedPolicies: true, allowRawStatements: true, forbiddenActions: ['*', 'iam:PassRole', 's3:*'] },
    { namespaces: ['lab-restricted'], allowedAccounts: [A], allowedServices: ['s3', 'sqs'], allowedResourcePatterns: ['arn:aws:s3:::lab-*', 'arn:aws:sqs:*:*:lab-*'], allowManagedPolicies: true, allowedManagedPolicyArns: ['arn:aws:iam::aws:policy/ReadOnly*'], allowRawStatements: false },
  );
});

function problemsOf(claim: AwsWorkloadIdentityClaim, cfg: PlatformConfig = config): Problem[] {
  const result = compileClaim(claim, cfg);
  return result.ok ? [] : result.problems;
}

const inNamespace = (namespace: string, mutate: (c: AwsWorkloadIdentityClaim) => void = () => {}) =>
  claimWith((c) => {
    c.metadata.namespace = namespace;
    mutate(c);
  });

const raw = (actions: string[], resources: string[], effect: 'Allow' | 'Deny' = 'Allow'): RawStatement => ({ effect, actions, resources });

describe('which guardrails apply', () => {
  it('every matching guardrail applies and the strictest answer wins', () => {
    const g = effectiveGuardrail('lab-restricted', config);
    expect(g.allowedAccounts).toEqual([A]);
    expect(g.allowedServices).toEqual(['s3', 'sqs']);
    expect(g.allowRawStatements).toBe(false);
    expect(g.allowManagedPolicies).toBe(true);
    expect(g.forbiddenActions).toEqual(['*', 'iam:PassRole', 's3:*']);
    expect(g.source).toBe('namespaces matching lab-* (guardrails[1]) and lab-restricted (guardrails[2])');
  });

  it('a namespace that matches no guardrail gets the strict defaults', () => {
    const g = effectiveGuardrail('unlisted', config);
    expect(g).toMatchObject({ allowedAccounts: [A, B], allowManagedPolicies: false, allowRawStatements: false, forbiddenActions: DEFAULT_FORBIDDEN_ACTIONS });
    expect(problemsOf(inNamespace('unlisted', (c) => (c.spec.permissions.managedPolicyArns = ['arn:aws:iam::aws:policy/ReadOnlyAccess'])))).toContainEqual(
      expect.objectContaining({ rule: 'managed-policies-allowed' }),
    );
  });

  it('account-not-allowed.yaml: account 999999999999 is not allowed for namespaces matching *-prod', () => {
    expect(problemsOf(loadExample('account-not-allowed'), exampleConfig())).toEqual([
      {
        reason: 'GuardrailViolation',
        field: 'spec.aws.accountId',
        rule: 'account-allowed',
        message: 'account 999999999999 is not allowed for namespaces matching *-prod (guardrails[0]); allowed accounts: 111122223333',
      },
    ]);
  });

  it('an allowed account the controller cannot act in is refused', () => {
    const cfg = configWith((r) => r.guardrails.push({ namespaces: ['lab-x'], allowedAccounts: ['333344445555'] }));
    expect(problemsOf(inNamespace('lab-x', (c) => (c.spec.aws.accountId = '333344445555')), cfg)).toContainEqual(
      expect.objectContaining({ rule: 'account-known', field: 'spec.aws.accountId' }),
    );
  });

  it('keys and roles named in other accounts must be allowed accounts too', () => {
    const found = problemsOf(
      inNamespace('orders-prod', (c) => {
        c.spec.permissions.kms = [{ key: 'arn:aws:kms:ap-southeast-1:999988887777:key/12345678-1234-1234-1234-123456789012', access: ['decrypt'] }];
        c.spec.permissions.assumeRoles = [{ roleArn: 'arn:aws:iam::999988887777:role/reports' }];
      }),
    );
    expect(found.map((p) => `${p.field}: ${p.rule}`)).toEqual([
      'spec.permissions.kms[0].key: account-allowed',
      'spec.permissions.assumeRoles[0].roleArn: account-allowed',
    ]);
  });
});

describe('forbidden actions', () => {
  it.each([
    // forbidden, granted, refused?
    ['s3:*', 's3:*', true],
    ['*', 's3:*', true],
    ['*', '*', true],
    ['iam:PassRole', 'iam:Pass*', true],
    ['iam:PassRole', 'iam:*', true],
    ['iam:PassRole', '*', true],
    ['iam:PassRole', 'iam:passrole', true],
    ['iam:PassRole', 'iam:PassRole', true],
    ['iam:PassRole', 'iam:P?ssRole', true],
    ['s3:*', 's3:Get*', true],
    ['s3:*', 's3:GetObject', false],
    ['*', 's3:GetObject', false],
    ['iam:*', 'iam:GetRole', false],
    ['iam:PassRole', 'iam:GetRole', false],
    ['iam:PassRole', 's3:*', false],
    ['kms:*', 's3:*', false],
  ])('forbidden %s, granted %s: refused = %s', (forbidden, granted, refused) => {
    expect(forbids(forbidden, granted)).toBe(refused);
  });

  it('refuses forbidden actions in raw statements, naming the action', () => {
    const found = problemsOf(inNamespace('lab-x', (c) => (c.spec.permissions.rawStatements = [raw(['s3:*', 'ec2:DescribeInstances', 'iam:Pass*'], ['arn:aws:s3:::lab-bucket/*'])])));
    expect(found.map((p) => `${p.field}: ${p.rule}`)).toEqual([
      'spec.permissions.rawStatements[0].actions[0]: action-forbidden',
      'spec.permissions.rawStatements[0].actions[2]: action-forbidden',
    ]);
    expect(found[0]!.message).toContain('forbiddenActions: *, s3:*');
    expect(found[1]!.message).toContain('forbiddenActions: *, iam:PassRole');
  });

  it('refuses a compiled action the platform forbids by name', () => {
    const cfg = configWith((r) => r.guardrails[0].forbiddenActions.push('s3:DeleteObject'));
    const found = problemsOf(claimWith((c) => (c.spec.permissions.s3 = [{ bucket: 'company-data', access: ['read', 'delete'] }])), cfg);
    expect(found).toEqual([expect.objectContaining({ field: 'spec.permissions.s3[0]', rule: 'action-forbidden' })]);
  });

  it('a Deny statement may name anything', () => {
    expect(problemsOf(inNamespace('lab-x', (c) => (c.spec.permissions.rawStatements = [raw(['*'], ['*'], 'Deny')])))).toEqual([]);
  });

  it('refuses known broad AWS-managed policies where what they grant is forbidden', () => {
    const found = problemsOf(inNamespace('lab-x', (c) => (c.spec.permissions.managedPolicyArns = ['arn:aws:iam::aws:policy/AdministratorAccess', 'arn:aws:iam::aws:policy/AmazonS3FullAccess'])));
    expect(found.map((p) => `${p.field}: ${p.rule}`)).toEqual([
      'spec.permissions.managedPolicyArns[0]: action-forbidden',
      'spec.permissions.managedPolicyArns[1]: action-forbidden',
    ]);
  });
});

describe('resources', () => {
  it.each([
    ['*', true],
    ['arn:aws:s3:::*', true],
    ['arn:aws:s3:::lab-*', true],
    ['arn:aws:s3:::lab-bucket/*', false],
    ['arn:aws:s3:::lab-bucket/logs/*', false],
    ['arn:aws:sqs:ap-southeast-1:111122223333:*', true],
    ['arn:aws:sqs:*:111122223333:jobs', true],
    ['arn:aws:sqs:ap-southeast-1:*:jobs', true],
    ['arn:aws:dynamodb:ap-southeast-1:111122223333:table/*', true],
    ['arn:aws:dynamodb:ap-southeast-1:111122223333:table/orders/index/*', false],
    ['arn:aws:logs:ap-southeast-1:111122223333:log-group:orders:*', false],
    ['arn:aws:logs:ap-southeast-1:111122223333:log-group:*', true],
    ['arn:aws:secretsmanager:ap-southeast-1:111122223333:secret:orders/db-??????', false],
    ['arn:aws:iam::111122223333:role/*', true],
  ])('%s is a wildcard beyond a named resource: %s', (resource, wildcard) => {
    expect(wildcardOutsideName(resource)).toBe(wildcard);
  });

  it('refuses wildcard resources in raw statements, naming the resource', () => {
    const found = problemsOf(inNamespace('lab-x', (c) => (c.spec.permissions.rawStatements = [raw(['logs:PutLogEvents'], ['arn:aws:logs:ap-southeast-1:111122223333:log-group:orders:*', '*'])])));
    expect(found).toEqual([expect.objectContaining({ field: 'spec.permissions.rawStatements[0].resources[1]', rule: 'resource-not-wildcard' })]);
  });

  it('allowedResourcePatterns and allowedServices restrict compiled grants too', () => {
    const found = problemsOf(
      inNamespace('lab-restricted', (c) => {
        c.spec.permissions.s3 = [{ bucket: 'lab-data', access: ['read'] }, { bucket: 'prod-data', access: ['read'] }];
        c.spec.permissions.sns = [{ topic: 'lab-topic', access: ['publish'] }];
      }),
    );
    expect(found.map((p) => `${p.field}: ${p.rule}`)).toEqual([
      'spec.permissions.s3[1]: resource-allowed',
      'spec.permissions.s3[1]: resource-allowed',
      'spec.permissions.sns[0]: service-allowed',
      'spec.permissions.sns[0]: resource-allowed',
    ]);
  });
});

describe('managed policies and raw statements', () => {
  it('only where allowed', () => {
    const found = problemsOf(
      claimWith((c) => {
        c.spec.permissions.managedPolicyArns = ['arn:aws:iam::aws:policy/ReadOnlyAccess'];
        c.spec.permissions.rawStatements = [raw(['logs:PutLogEvents'], ['arn:aws:logs:ap-southeast-1:111122223333:log-group:orders:*'])];
      }),
    );
    expect(found.map((p) => `${p.field}: ${p.rule}`)).toEqual([
      'spec.permissions.managedPolicyArns: managed-policies-allowed',
      'spec.permissions.rawStatements: raw-statements-allowed',
    ]);
    expect(found[0]!.message).toBe('managed policies are not allowed for namespaces matching *-prod (guardrails[0])');
  });

  it('allowedManagedPolicyArns restricts which ones', () => {
    const found = problemsOf(
      inNamespace('lab-restricted', (c) => {
        c.spec.permissions.s3 = [{ bucket: 'lab-data', access: ['read'] }];
        c.spec.permissions.managedPolicyArns = ['arn:aws:iam::aws:policy/ReadOnlyAccess', 'arn:aws:iam::aws:policy/AmazonSQSFullAccess'];
      }),
    );
    // AmazonSQSFullAccess grants sqs:*, a wildcard grant that the "*" entry forbids.
    expect(found.map((p) => `${p.field}: ${p.rule}`)).toEqual([
      'spec.permissions.managedPolicyArns[1]: managed-policy-allowed',
      'spec.permissions.managedPolicyArns[1]: action-forbidden',
    ]);
  });
});

describe('all problems at once', () => {
  it('collects every violation, not just the first', () => {
    const found = problemsOf(
      claimWith((c) => {
        c.spec.aws.accountId = '999999999999';
        c.spec.permissions.managedPolicyArns = ['arn:aws:iam::aws:policy/ReadOnlyAccess'];
        c.spec.permissions.rawStatements = [raw(['*'], ['*'])];
      }),
    );
    expect(found.map((p) => p.rule)).toEqual(['account-allowed', 'action-forbidden', 'resource-not-wildcard', 'managed-policies-allowed', 'raw-statements-allowed']);
    for (const p of found) expect(p.reason).toBe('GuardrailViolation');
  });
});
