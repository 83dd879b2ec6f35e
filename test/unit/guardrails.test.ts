// Guardrails: which guardrails apply to a namespace, tenant patterns with
// placeholders, role-chaining allow-lists, forbidden actions (every action
// they match), IAM/STS writes, wildcard resources, accounts, regions and
// partitions, managed policies, raw statements, pinned owner/environment.

import { describe, expect, it } from '@jest/globals';
import { compileClaim, DEFAULT_FORBIDDEN_ACTIONS, effectiveGuardrail, expandPlaceholders, forbids } from '../../src/compiler/index.js';
import { isIamOrStsWrite } from '../../src/compiler/actions.js';
import { globCovers, globsIntersect } from '../../src/compiler/glob.js';
import { outsideIamCharacters } from '../../src/compiler/guardrails.js';
import type { CompileOptions, Problem } from '../../src/compiler/types.js';
import type { PlatformConfig } from '../../src/config/types.js';
import type { AwsWorkloadIdentityClaim, RawStatement } from '../../src/api/types.js';
import { claimWith, configWith, exampleConfig, loadExample } from '../fixtures/claims.js';

const A = '111122223333';
const B = '222233334444';
const KEY = '12345678-1234-1234-1234-123456789012';

const config = configWith((raw) => {
  raw.accounts.push({ accountId: B, assumeRoleArn: `arn:aws:iam::${B}:role/awi-controller` });
  raw.guardrails.push(
    {
      namespaces: ['lab-*'],
      allowedAccounts: [A, B],
      allowedResourcePatterns: ['arn:aws:s3:::lab-bucket/*', 'arn:aws:logs:*:*:log-group:lab:*', `arn:aws:ec2:ap-southeast-1:${A}:instance/*`, 'arn:aws:s3:::lab-*', 'arn:aws:sqs:*:*:lab-*'],
      allowedAssumeRoleArns: [`arn:aws:iam::${B}:role/reports-*`],
      allowManagedPolicies: true,
      allowedManagedPolicyArns: ['arn:aws:iam::aws:policy/*'],
      allowRawStatements: true,
      forbiddenActions: ['iam:PassRole', 's3:DeleteObject'],
    },
    {
      namespaces: ['lab-restricted'],
      allowedAccounts: [A],
      allowedServices: ['s3', 'sqs'],
      allowedResourcePatterns: ['arn:aws:s3:::lab-*', 'arn:aws:sqs:*:*:lab-*'],
      allowManagedPolicies: true,
      allowedManagedPolicyArns: ['arn:aws:iam::aws:policy/ReadOnly*'],
      allowRawStatements: false,
    },
  );
});

function problemsOf(claim: AwsWorkloadIdentityClaim, cfg: PlatformConfig = config, options: CompileOptions = {}): Problem[] {
  const result = compileClaim(claim, cfg, options);
  return result.ok ? [] : result.problems;
}
const rules = (found: Problem[]) => found.map((p) => `${p.field}: ${p.rule}`);

const inNamespace = (namespace: string, mutate: (c: AwsWorkloadIdentityClaim) => void = () => {}) =>
  claimWith((c) => {
    c.metadata.namespace = namespace;
    c.spec.permissions = { s3: [{ bucket: 'lab-bucket', prefix: 'x/', access: ['read'] }] };
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
    expect(g.forbiddenActions).toEqual(['iam:PassRole', 's3:DeleteObject']);
    expect(g.resourcePatternSets).toHaveLength(2);
    // lab-restricted has no allowedAssumeRoleArns: no role, whatever lab-* allows.
    expect(g.assumeRolePatternSets).toEqual([[`arn:aws:iam::${B}:role/reports-*`], []]);
    expect(g.source).toBe('namespaces matching lab-* (guardrails[1]) and lab-restricted (guardrails[2])');
  });

  it('a namespace that matches no guardrail may not claim an identity at all', () => {
    const g = effectiveGuardrail('unlisted', config);
    expect(g).toMatchObject({ isDefault: true, allowManagedPolicies: false, allowRawStatements: false, forbiddenActions: DEFAULT_FORBIDDEN_ACTIONS });
    // Not even a role without reach: its owner and environment tags would be the claim's word alone.
    const empty = inNamespace('unlisted', (c) => {
      c.spec.environment = 'prod';
      c.spec.owner = 'platform-team';
    });
    expect(problemsOf(empty)).toEqual([
      {
        reason: 'GuardrailViolation',
        field: 'metadata.namespace',
        rule: 'namespace-governed',
        message:
          "namespace unlisted matches no guardrail of the platform configuration, so it may not claim an AWS identity: ask the platform team to add it to a guardrail's namespaces",
      },
    ]);
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
    const cfg = configWith((r) => r.guardrails.push({ namespaces: ['lab-x'], allowedAccounts: ['333344445555'], allowedResourcePatterns: ['arn:*'] }));
    expect(problemsOf(inNamespace('lab-x', (c) => (c.spec.aws.accountId = '333344445555')), cfg)).toContainEqual(
      expect.objectContaining({ rule: 'account-known', field: 'spec.aws.accountId' }),
    );
  });
});

describe('tenant patterns', () => {
  const values = { namespace: 'team-a', cluster: 'c1', account: A, region: 'eu-west-1', partition: 'aws' };

  it('placeholders expand to the claim namespace, cluster, account, region and partition', () => {
    expect(expandPlaceholders('arn:{partition}:sqs:{region}:{account}:{cluster}-{namespace}_*', values)).toBe(`arn:aws:sqs:eu-west-1:${A}:c1-team-a_*`);
    expect(expandPlaceholders('arn:aws:s3:::x/{unknown}/*', values)).toBe('arn:aws:s3:::x/{unknown}/*');
  });

  it.each([
    // pattern, value (a compiled resource, wildcards literal), covered?
    ['arn:aws:s3:::data/team-a/*', 'arn:aws:s3:::data/team-a/*', true],
    ['arn:aws:s3:::data/team-a/*', 'arn:aws:s3:::data/team-a/logs/*', true],
    ['arn:aws:s3:::data/team-a/*', 'arn:aws:s3:::data/*', false],
    ['arn:aws:s3:::data/team-a/*', 'arn:aws:s3:::data/team-a*', false],
    ['arn:aws:s3:::data/team-a/*', 'arn:aws:s3:::data/team-ab/*', false],
    ['arn:aws:secretsmanager:r:1:secret:team-a/db-??????', 'arn:aws:secretsmanager:r:1:secret:team-a/db-??????', true],
    // A "?" stands for one character: it cannot cover a value's "*".
    ['arn:aws:secretsmanager:r:1:secret:team-a/db-??????', 'arn:aws:secretsmanager:r:1:secret:team-a/db-******', false],
    ['arn:aws:sqs:*:*:lab-*', 'arn:aws:sqs:ap-southeast-1:111122223333:lab-jobs', true],
    ['arn:*', 'arn:aws:s3:::anything/*', true],
  ])('%s covers %s: %s', (pattern, value, covered) => {
    expect(globCovers(pattern, value)).toBe(covered);
  });

  const tenants = configWith((r) => {
    r.guardrails = [
      {
        namespaces: ['*'],
        allowedAccounts: [A],
        allowedResourcePatterns: ['arn:{partition}:s3:::shared/{namespace}/*', 'arn:{partition}:sqs:{region}:{account}:{namespace}_*'],
        sharedResources: [{ namespaces: ['team-b'], resourcePatterns: [`arn:aws:kms:ap-southeast-1:${A}:key/${KEY}`] }],
      },
    ];
  });

  it('one guardrail isolates every namespace: each reaches what is named after it', () => {
    const own = (ns: string) =>
      claimWith((c) => {
        c.metadata.namespace = ns;
        c.spec.permissions = { s3: [{ bucket: 'shared', prefix: `${ns}/`, access: ['read', 'write'] }], sqs: [{ queue: `${ns}_jobs`, access: ['consume'] }] };
      });
    expect(problemsOf(own('team-a'), tenants)).toEqual([]);
    expect(problemsOf(own('team-b'), tenants)).toEqual([]);
    const intruder = claimWith((c) => {
      c.metadata.namespace = 'team';
      c.spec.permissions = { s3: [{ bucket: 'shared', prefix: 'team-a/', access: ['read'] }], sqs: [{ queue: 'team-a_jobs', access: ['send'] }] };
    });
    const found = problemsOf(intruder, tenants);
    expect(rules(found)).toEqual(['spec.permissions.s3[0]: resource-allowed', 'spec.permissions.sqs[0]: resource-allowed']);
    expect(found[0]!.message).toContain('allowedResourcePatterns for team: arn:aws:s3:::shared/team/*, arn:aws:sqs:ap-southeast-1:111122223333:team_*');
  });

  it('listing a bucket reaches only the prefix: a prefix-less claim on the shared bucket is refused', () => {
    const found = problemsOf(
      claimWith((c) => {
        c.metadata.namespace = 'team-a';
        c.spec.permissions = { s3: [{ bucket: 'shared', access: ['list'] }] };
      }),
      tenants,
    );
    expect(found).toEqual([expect.objectContaining({ field: 'spec.permissions.s3[0]', rule: 'resource-allowed' })]);
    expect(found[0]!.message).toContain('resource arn:aws:s3:::shared/*');
  });

  it('a prefix without its trailing slash would reach other prefixes: refused', () => {
    const found = problemsOf(
      claimWith((c) => {
        c.metadata.namespace = 'team-a';
        c.spec.permissions = { s3: [{ bucket: 'shared', prefix: 'team-a', access: ['read'] }] };
      }),
      tenants,
    );
    expect(rules(found)).toEqual(['spec.permissions.s3[0]: resource-allowed']);
    expect(found[0]!.message).toContain('resource arn:aws:s3:::shared/team-a*');
  });

  it('shared resources reach the namespaces named, not the others', () => {
    const withKey = (ns: string) =>
      claimWith((c) => {
        c.metadata.namespace = ns;
        c.spec.permissions = { kms: [{ key: KEY, access: ['decrypt'] }] };
      });
    expect(problemsOf(withKey('team-b'), tenants)).toEqual([]);
    expect(rules(problemsOf(withKey('team-a'), tenants))).toEqual(['spec.permissions.kms[0]: resource-allowed']);
  });
});

describe('role chaining', () => {
  const assume = (ns: string, roleArn: string) => inNamespace(ns, (c) => (c.spec.permissions = { assumeRoles: [{ roleArn }] }));

  it('only roles on the guardrail allow-list', () => {
    expect(problemsOf(assume('lab-x', `arn:aws:iam::${B}:role/reports-reader`))).toEqual([]);
    const found = problemsOf(assume('lab-x', `arn:aws:iam::${B}:role/OrganizationAccountAccessRole`));
    expect(found).toEqual([expect.objectContaining({ field: 'spec.permissions.assumeRoles[0].roleArn', rule: 'assume-role-allowed' })]);
    expect(found[0]!.message).toContain(`allowedAssumeRoleArns: arn:aws:iam::${B}:role/reports-*`);
  });

  it('never open by default: the shipped config and unmatched namespaces allow none', () => {
    const prod = claimWith((c) => (c.spec.permissions = { assumeRoles: [{ roleArn: `arn:aws:iam::${A}:role/awi/prod-platform-a-other-prod-sa` }] }));
    // The example config forbids sts:* too; either refusal is enough, the allow-list one must be there.
    expect(problemsOf(prod, exampleConfig())).toContainEqual(expect.objectContaining({ rule: 'assume-role-allowed' }));
    // A guardrail without allowedAssumeRoleArns allows none.
    const noList = configWith((r) => r.guardrails.push({ namespaces: ['open'], allowedAccounts: [A], allowedResourcePatterns: ['arn:*'] }));
    expect(problemsOf(assume('open', `arn:aws:iam::${A}:role/cdk-hnb659fds-deploy-role`), noList)).toEqual([
      expect.objectContaining({ field: 'spec.permissions.assumeRoles[0].roleArn', rule: 'assume-role-allowed' }),
    ]);
  });

  it('roles named in other accounts must be allowed accounts too', () => {
    const found = problemsOf(
      inNamespace('orders-prod', (c) => {
        c.spec.permissions = {
          kms: [{ key: `arn:aws:kms:ap-southeast-1:999988887777:key/${KEY}`, access: ['decrypt'] }],
          assumeRoles: [{ roleArn: 'arn:aws:iam::999988887777:role/reports' }],
        };
      }),
      exampleConfig(),
    );
    expect(rules(found)).toEqual(
      expect.arrayContaining(['spec.permissions.kms[0].key: account-allowed', 'spec.permissions.assumeRoles[0].roleArn: account-allowed']),
    );
  });
});

describe('forbidden actions', () => {
  it.each([
    // forbidden, granted, refused?
    ['s3:*', 's3:*', true],
    ['s3:*', 's3:GetObject', true],
    ['iam:*', 'iam:PutRolePolicy', true],
    ['iam:*', 'iam:GetRole', true],
    ['*', 's3:GetObject', true],
    ['iam:PassRole', 'iam:Pass*', true],
    ['iam:PassRole', 'iam:*', true],
    ['iam:PassRole', '*', true],
    ['iam:PassRole', 'iam:passrole', true],
    ['iam:PassRole', 'iam:P?ssRole', true],
    ['s3:Delete*', 's3:*Object', true],
    ['s3:Delete*', 's3:Get*', false],
    ['iam:PassRole', 'iam:GetRole', false],
    ['iam:PassRole', 's3:*', false],
    ['kms:*', 's3:*', false],
  ])('forbidden %s, granted %s: refused = %s', (forbidden, granted, refused) => {
    expect(forbids(forbidden, granted)).toBe(refused);
    expect(globsIntersect(granted, forbidden)).toBe(refused); // symmetric
  });

  it('refuses a concrete action an intent compiles to when a wildcard entry matches it', () => {
    const cfg = configWith((r) => r.guardrails[0].forbiddenActions.push('s3:*'));
    const found = problemsOf(claimWith((c) => (c.spec.permissions = { s3: [{ bucket: 'company-prod-data', prefix: 'orders-prod/', access: ['read'] }] })), cfg);
    expect(found).toContainEqual(expect.objectContaining({ field: 'spec.permissions.s3[0]', rule: 'action-forbidden' }));
    expect(found.map((p) => p.message)).toEqual(
      expect.arrayContaining([expect.stringContaining('action s3:GetObject is forbidden'), expect.stringContaining('action s3:ListBucket is forbidden')]),
    );
  });

  it('refuses forbidden and wildcard actions in raw statements, naming the action', () => {
    const found = problemsOf(inNamespace('lab-x', (c) => (c.spec.permissions.rawStatements = [raw(['s3:Get*', 'ec2:DescribeInstances', 'iam:Pass*'], ['arn:aws:s3:::lab-bucket/x'])])));
    expect(rules(found)).toEqual([
      'spec.permissions.rawStatements[0].actions[0]: action-not-wildcard',
      'spec.permissions.rawStatements[0].actions[2]: action-forbidden',
      'spec.permissions.rawStatements[0].actions[2]: action-not-wildcard',
      'spec.permissions.rawStatements[0].actions[2]: iam-sts-write',
    ]);
    expect(found[1]!.message).toContain('forbiddenActions: iam:PassRole');
  });

  it('a Deny statement may name anything', () => {
    expect(problemsOf(inNamespace('lab-x', (c) => (c.spec.permissions.rawStatements = [raw(['*'], ['*'], 'Deny')])))).toEqual([]);
  });
});

describe('IAM and STS writes', () => {
  it.each([
    ['iam:PutRolePolicy', true],
    ['iam:UpdateAssumeRolePolicy', true],
    ['iam:CreateAccessKey', true],
    ['iam:CreatePolicyVersion', true],
    ['iam:PassRole', true],
    ['iam:*', true],
    ['iam:*Role', true],
    ['iam:Get*', false],
    ['iam:GetRole', false],
    ['iam:ListRoles', false],
    ['sts:AssumeRole', true],
    ['sts:*', true],
    ['sts:GetCallerIdentity', false],
    ['*', true],
    ['s3:PutObject', false],
  ])('%s is an IAM or STS write: %s', (action, write) => {
    expect(isIamOrStsWrite(action)).toBe(write);
  });

  it('are refused in raw statements even where raw statements are allowed and nothing is forbidden', () => {
    const cfg = configWith((r) =>
      r.guardrails.push({ namespaces: ['open'], allowedAccounts: [A], allowedResourcePatterns: ['arn:*'], allowRawStatements: true, allowWildcardActions: true }),
    );
    const claim = inNamespace('open', (c) => {
      c.spec.permissions = {
        rawStatements: [
          raw(['iam:PutRolePolicy', 'iam:UpdateAssumeRolePolicy', 'iam:CreatePolicyVersion', 'sts:AssumeRole', 'iam:GetRole'], [`arn:aws:iam::${A}:role/awi-controller`]),
        ],
      };
    });
    expect(rules(problemsOf(claim, cfg))).toEqual([
      'spec.permissions.rawStatements[0].actions[0]: iam-sts-write',
      'spec.permissions.rawStatements[0].actions[1]: iam-sts-write',
      'spec.permissions.rawStatements[0].actions[2]: iam-sts-write',
      'spec.permissions.rawStatements[0].actions[3]: iam-sts-write',
    ]);
  });
});

describe('resources named in raw statements', () => {
  it.each([
    '*',
    'arn:aws:s3:::*',
    'arn:aws:s3:::lab-bucket/*',
    `arn:aws:iam::${A}:role/awi/*`,
    `arn:aws:sqs:ap-southeast-1:${A}:lab-*`,
    `arn:aws:sqs:*:${A}:lab-jobs`,
    `arn:aws:logs:ap-southeast-1:${A}:log-group:lab:*`,
    `arn:aws:secretsmanager:ap-southeast-1:${A}:secret:lab/db-??????`,
  ])('%s has a wildcard: refused', (resource) => {
    const found = problemsOf(inNamespace('lab-x', (c) => (c.spec.permissions = { rawStatements: [raw(['sqs:SendMessage'], [resource])] })));
    expect(found).toContainEqual(expect.objectContaining({ field: 'spec.permissions.rawStatements[0].resources[0]', rule: 'resource-not-wildcard' }));
  });

  it('a named resource inside the patterns passes; outside them, or in another account, is refused', () => {
    const at = (resource: string) => problemsOf(inNamespace('lab-x', (c) => (c.spec.permissions = { rawStatements: [raw(['ec2:DescribeInstances'], [resource])] })));
    expect(at(`arn:aws:ec2:ap-southeast-1:${A}:instance/i-0123456789abcdef0`)).toEqual([]);
    expect(rules(at(`arn:aws:ec2:ap-southeast-1:${A}:volume/vol-1`))).toEqual(['spec.permissions.rawStatements[0].resources[0]: resource-allowed']);
    expect(rules(at('arn:aws:ec2:ap-southeast-1:999988887777:instance/i-1'))).toEqual([
      'spec.permissions.rawStatements[0].resources[0]: account-allowed',
      'spec.permissions.rawStatements[0].resources[0]: resource-allowed',
    ]);
  });

  it('allowedResourcePatterns and allowedServices restrict compiled grants too', () => {
    const found = problemsOf(
      inNamespace('lab-restricted', (c) => {
        c.spec.permissions.s3 = [{ bucket: 'lab-data', access: ['read'] }, { bucket: 'prod-data', access: ['read'] }];
        c.spec.permissions.sns = [{ topic: 'lab-topic', access: ['publish'] }];
      }),
    );
    expect(rules(found)).toEqual([
      'spec.permissions.s3[1]: resource-allowed',
      'spec.permissions.sns[0]: service-allowed',
      'spec.permissions.sns[0]: resource-allowed',
    ]);
  });
});

describe('regions and partitions', () => {
  const inRegion = (region: string, cfg: PlatformConfig = config) => problemsOf(inNamespace('lab-x', (c) => (c.spec.aws.region = region)), cfg);

  it.each([
    ['cn-north-1', 'region-partition'],
    ['us-gov-west-1', 'region-partition'],
    ['xx-nowhere-9', 'region-unknown'],
  ])('%s in an aws-partition cluster: %s', (region, rule) => {
    expect(inRegion(region)).toContainEqual(expect.objectContaining({ field: 'spec.aws.region', rule }));
  });

  it('a known region of the partition passes; allowedRegions narrows and may admit a region newer than awi', () => {
    expect(inRegion('eu-west-1')).toEqual([]);
    const cfg = configWith((r) => {
      r.guardrails.push({ namespaces: ['lab-*'], allowedAccounts: [A], allowedRegions: ['ap-southeast-1', 'ap-future-1'], allowedResourcePatterns: ['arn:*'] });
      r.guardrails.push({ namespaces: ['lab-x'], allowedAccounts: [A], allowedResourcePatterns: ['arn:*'] });
    });
    expect(inRegion('eu-west-1', cfg)).toEqual([expect.objectContaining({ rule: 'region-allowed' })]);
    expect(inRegion('ap-future-1', cfg)).toEqual([]);
  });

  it('an ARN in another partition or an unknown region is refused', () => {
    const found = problemsOf(inNamespace('lab-x', (c) => (c.spec.permissions = { kms: [{ key: `arn:aws-cn:kms:cn-north-1:${A}:key/${KEY}`, access: ['decrypt'] }] })));
    expect(found).toContainEqual(expect.objectContaining({ field: 'spec.permissions.kms[0].key', rule: 'arn-partition' }));
  });
});

describe('managed policies', () => {
  it('only where allowed', () => {
    const found = problemsOf(
      claimWith((c) => {
        c.spec.permissions.managedPolicyArns = ['arn:aws:iam::aws:policy/ReadOnlyAccess'];
        c.spec.permissions.rawStatements = [raw(['logs:PutLogEvents'], ['arn:aws:logs:ap-southeast-1:111122223333:log-group:orders'])];
      }),
      exampleConfig(),
    );
    expect(rules(found)).toEqual(
      expect.arrayContaining(['spec.permissions.managedPolicyArns: managed-policies-allowed', 'spec.permissions.rawStatements: raw-statements-allowed']),
    );
  });

  it('allowedManagedPolicyArns restricts which ones, case-insensitively', () => {
    const found = problemsOf(
      inNamespace('lab-restricted', (c) => {
        c.spec.permissions.s3 = [{ bucket: 'lab-data', access: ['read'] }];
        c.spec.permissions.managedPolicyArns = ['arn:aws:iam::aws:policy/readonlyaccess', 'arn:aws:iam::aws:policy/AmazonSQSFullAccess'];
      }),
    );
    expect(rules(found)).toEqual(['spec.permissions.managedPolicyArns[1]: managed-policy-allowed', 'spec.permissions.managedPolicyArns[1]: action-not-wildcard']);
  });

  it.each(['AdministratorAccess', 'administratoraccess', 'ADMINISTRATORACCESS', 'job-function/../AdministratorAccess'])(
    'broad policy %s is refused whatever its case',
    (name) => {
      const found = problemsOf(inNamespace('lab-x', (c) => (c.spec.permissions.managedPolicyArns = [`arn:aws:iam::aws:policy/${name}`])));
      expect(found).toContainEqual(expect.objectContaining({ field: 'spec.permissions.managedPolicyArns[0]', rule: 'iam-sts-write' }));
    },
  );

  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])('a managed policy named %s is judged, not looked up on Object.prototype', (name) => {
    const claim = inNamespace('lab-x', (c) => (c.spec.permissions.managedPolicyArns = [`arn:aws:iam::aws:policy/${name}`]));
    expect(() => compileClaim(claim, config)).not.toThrow();
    expect(compileClaim(claim, config).ok).toBe(true); // an AWS-managed policy the allow-list admits, with no known broad grant
    const restricted = inNamespace('lab-restricted', (c) => (c.spec.permissions.managedPolicyArns = [`arn:aws:iam::aws:policy/${name}`]));
    expect(problemsOf(restricted)).toEqual([expect.objectContaining({ rule: 'managed-policy-allowed' })]);
  });
});

describe('pinned owner and environment', () => {
  const pinned = configWith((r) => {
    r.guardrails = [
      {
        namespaces: ['*-prod'],
        allowedAccounts: [A],
        allowedResourcePatterns: ['arn:*'],
        owner: { fromNamespaceLabel: 'awi.dev/owner' },
        environment: { allowed: ['prod'] },
      },
    ];
  });
  const claim = (owner: string, environment: string) =>
    claimWith((c) => {
      c.spec.owner = owner;
      c.spec.environment = environment;
    });

  it('environment must be one of the allowed values', () => {
    expect(rules(problemsOf(claim('orders-team', 'dev'), pinned, { namespaceLabels: { 'awi.dev/owner': 'orders-team' } }))).toEqual(['spec.environment: environment-pinned']);
  });

  it('owner must equal the namespace label; a missing label or missing labels are refused', () => {
    expect(problemsOf(claim('orders-team', 'prod'), pinned, { namespaceLabels: { 'awi.dev/owner': 'orders-team' } })).toEqual([]);
    const wrong = problemsOf(claim('platform-team', 'prod'), pinned, { namespaceLabels: { 'awi.dev/owner': 'orders-team' } });
    expect(wrong).toEqual([expect.objectContaining({ field: 'spec.owner', rule: 'owner-pinned' })]);
    expect(wrong[0]!.message).toBe('owner must be "orders-team" (label awi.dev/owner of namespace orders-prod), not "platform-team"');
    expect(rules(problemsOf(claim('orders-team', 'prod'), pinned, { namespaceLabels: {} }))).toEqual(['spec.owner: owner-pinned']);
    expect(rules(problemsOf(claim('orders-team', 'prod'), pinned))).toEqual(['spec.owner: owner-pinned']);
    // A label named like an Object.prototype member is not found on the prototype.
    const proto = configWith((r) => {
      r.guardrails = [{ namespaces: ['*'], allowedAccounts: [A], allowedResourcePatterns: ['arn:*'], owner: { fromNamespaceLabel: 'constructor' } }];
    });
    expect(rules(problemsOf(claim('x', 'prod'), proto, { namespaceLabels: {} }))).toEqual(['spec.owner: owner-pinned']);
  });

  it('the tags carry the pinned values and the cluster ARN', () => {
    const result = compileClaim(claim('orders-team', 'prod'), pinned, { namespaceLabels: { 'awi.dev/owner': 'orders-team' } });
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    expect(result.desired.role.tags).toMatchObject({
      'awi.dev/owner': 'orders-team',
      'awi.dev/environment': 'prod',
      'awi.dev/cluster': 'arn:aws:eks:ap-southeast-1:111122223333:cluster/prod-platform-a',
    });
  });
});

describe('characters IAM accepts', () => {
  it.each([
    ['plain/prefix-1_2.3', undefined],
    ['tab\tand\nnewline', undefined],
    ['café', undefined], // U+00E9 is inside IAM's character set
    ['emoji-😀', 'U+1F600'],
    ['nul-\u0000', 'U+0000'],
    ['cyrillic-а', 'U+0430'],
  ])('%j: %s', (value, bad) => {
    expect(outsideIamCharacters(value)).toBe(bad);
  });

  it('an S3 prefix or a raw condition value outside them is refused, naming the field and rule iam-policy-characters', () => {
    const found = problemsOf(
      inNamespace('lab-x', (c) => {
        c.spec.permissions = {
          s3: [{ bucket: 'lab-bucket', prefix: 'x😀/', access: ['read'] }],
          rawStatements: [{ effect: 'Allow', actions: ['ec2:DescribeInstances'], resources: [`arn:aws:ec2:ap-southeast-1:${A}:instance/i-1`], conditions: { StringEquals: { 'aws:PrincipalTag/team': ['\u202e'] } } }],
        };
      }),
    );
    expect(rules(found.filter((p) => p.rule === 'iam-policy-characters'))).toEqual([
      'spec.permissions.s3[0].prefix: iam-policy-characters',
      'spec.permissions.rawStatements[0].conditions.StringEquals["aws:PrincipalTag/team"]: iam-policy-characters',
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
      exampleConfig(),
    );
    expect(found.map((p) => p.rule)).toEqual([
      'account-allowed',
      'action-forbidden',
      'action-not-wildcard',
      'iam-sts-write',
      'resource-not-wildcard',
      'resource-allowed',
      'managed-policies-allowed',
      'raw-statements-allowed',
    ]);
    for (const p of found) expect(p.reason).toBe('GuardrailViolation');
  });
});
