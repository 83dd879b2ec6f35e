// Each intent, beyond what the examples cover.

import { describe, expect, it } from '@jest/globals';
import type { AwsWorkloadIdentityClaim, Permissions } from '../../src/api/types.js';
import { claimSpecSchema } from '../../src/api/schema.js';
import { compileClaim } from '../../src/compiler/index.js';
import { ecrRepositoryArn } from '../../src/compiler/intents/ecr.js';
import { INTENTS, INTENT_ORDER } from '../../src/compiler/intents/index.js';
import type { CompileResult, DesiredState, PolicyDocument } from '../../src/compiler/types.js';
import { claimWith, configWith, exampleConfig } from '../fixtures/claims.js';
import { allActions, allResources, granting, list, onlyStatementGranting, resourcesFor } from '../fixtures/policy.js';

const A = '111122223333';
const R = 'ap-southeast-1';

// A namespace where everything is allowed, to look at the intents alone.
const openConfig = configWith((raw) => {
  raw.accounts.push({ accountId: '222233334444', assumeRoleArn: 'arn:aws:iam::222233334444:role/awi-controller' });
  raw.guardrails.push({
    namespaces: ['lab'],
    allowedAccounts: [A, '222233334444'],
    allowedResourcePatterns: ['arn:*'],
    allowedAssumeRoleArns: ['arn:aws:iam::*:role/*'],
    allowManagedPolicies: true,
    allowedManagedPolicyArns: ['arn:aws:iam::aws:policy/*', `arn:aws:iam::${A}:policy/*`],
    allowRawStatements: true,
    forbiddenActions: ['iam:PassRole'],
  });
});

function compileIn(namespace: string, permissions: Permissions, mutate?: (c: AwsWorkloadIdentityClaim) => void): CompileResult {
  const claim = claimWith((c) => {
    c.metadata.namespace = namespace;
    c.spec.permissions = permissions;
    mutate?.(c);
  });
  return compileClaim(claim, namespace === 'lab' ? openConfig : exampleConfig());
}

function policyOf(permissions: Permissions, mutate?: (c: AwsWorkloadIdentityClaim) => void): PolicyDocument {
  return desiredOf(permissions, mutate).permissionPolicy.document;
}

function desiredOf(permissions: Permissions, mutate?: (c: AwsWorkloadIdentityClaim) => void): DesiredState {
  const result = compileIn('lab', permissions, mutate);
  if (!result.ok) throw new Error(JSON.stringify(result.problems, null, 2));
  return result.desired;
}

describe('S3', () => {
  it('list alone: ListBucket under the prefix, no object action', () => {
    const policy = policyOf({ s3: [{ bucket: 'logs-bucket', prefix: 'app/', access: ['list'] }] });
    expect(allActions(policy)).toEqual(['s3:ListBucket']);
    expect(onlyStatementGranting(policy, 's3:ListBucket').Condition).toEqual({ StringLike: { 's3:prefix': ['app/', 'app/*'] } });
  });

  it('read, write and delete share one statement on the objects', () => {
    const policy = policyOf({ s3: [{ bucket: 'logs-bucket', prefix: 'app/', access: ['read', 'write', 'delete'] }] });
    const objects = onlyStatementGranting(policy, 's3:PutObject');
    expect(list(objects.Action)).toEqual(['s3:DeleteObject', 's3:GetObject', 's3:PutObject']);
    expect(list(objects.Resource)).toEqual(['arn:aws:s3:::logs-bucket/app/*']);
  });

  it('no prefix: the whole bucket, and listing without a condition', () => {
    const policy = policyOf({ s3: [{ bucket: 'logs-bucket', access: ['read'] }] });
    expect(resourcesFor(policy, 's3:GetObject')).toEqual(['arn:aws:s3:::logs-bucket/*']);
    expect(onlyStatementGranting(policy, 's3:ListBucket').Condition).toBeUndefined();
  });

  it('two buckets with the same access merge into one statement with both resources', () => {
    const policy = policyOf({
      s3: [
        { bucket: 'bucket-one', prefix: 'a/', access: ['write'] },
        { bucket: 'bucket-two', prefix: 'b/', access: ['write'] },
      ],
    });
    expect(policy.Statement).toHaveLength(1);
    expect(list(policy.Statement[0]!.Resource)).toEqual(['arn:aws:s3:::bucket-one/a/*', 'arn:aws:s3:::bucket-two/b/*']);
  });

  it('uses the partition of the region (a cluster in China)', () => {
    const china = configWith((raw) => {
      raw.cluster.region = 'cn-north-1';
      delete raw.cluster.oidcIssuer;
      raw.roles.permissionsBoundaryArn = 'arn:aws-cn:iam::111122223333:policy/awi-workload-boundary';
      raw.guardrails = [{ namespaces: ['lab'], allowedAccounts: [A], allowedResourcePatterns: ['arn:aws-cn:s3:::cn-bucket/*'] }];
    });
    const claim = claimWith((c) => {
      c.metadata.namespace = 'lab';
      c.spec.aws.region = 'cn-north-1';
      c.spec.permissions = { s3: [{ bucket: 'cn-bucket', access: ['read'] }] };
    });
    const result = compileClaim(claim, china);
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    expect(allResources(result.desired.permissionPolicy.document)).toEqual(['arn:aws-cn:s3:::cn-bucket', 'arn:aws-cn:s3:::cn-bucket/*']);
  });
});

describe('SQS, SNS, DynamoDB', () => {
  it('consume: receive, delete, change visibility and lookups; no send', () => {
    const policy = policyOf({ sqs: [{ queue: 'jobs.fifo', access: ['consume'] }] });
    expect(allActions(policy)).toEqual([
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:ReceiveMessage',
    ]);
    expect(allResources(policy)).toEqual([`arn:aws:sqs:${R}:${A}:jobs.fifo`]);
  });

  it('SNS publish on the topic', () => {
    const policy = policyOf({ sns: [{ topic: 'orders-events', access: ['publish'] }] });
    expect(allActions(policy)).toEqual(['sns:Publish']);
    expect(allResources(policy)).toEqual([`arn:aws:sns:${R}:${A}:orders-events`]);
  });

  it('DynamoDB write on the table only; reads on indexes only when asked', () => {
    const policy = policyOf({ dynamodb: [{ table: 'orders', access: ['read', 'write'] }] });
    const table = `arn:aws:dynamodb:${R}:${A}:table/orders`;
    expect(resourcesFor(policy, 'dynamodb:PutItem')).toEqual([table]);
    expect(resourcesFor(policy, 'dynamodb:Query')).toEqual([table]);
    expect(granting(policy, 'dynamodb:Scan')).toEqual([]);
  });
});

describe('KMS', () => {
  it('a key id becomes the key ARN in the claim account and region; no condition without viaService', () => {
    const policy = policyOf({ kms: [{ key: '12345678-1234-1234-1234-123456789012', access: ['decrypt'] }] });
    const statement = onlyStatementGranting(policy, 'kms:Decrypt');
    expect(list(statement.Resource)).toEqual([`arn:aws:kms:${R}:${A}:key/12345678-1234-1234-1234-123456789012`]);
    expect(statement.Condition).toBeUndefined();
    expect(allActions(policy)).toEqual(['kms:Decrypt']);
  });

  it('generateDataKey through SQS; encrypt without S3 adds no GenerateDataKey', () => {
    const key = `arn:aws:kms:${R}:${A}:key/mrk-0123456789abcdef0123456789abcdef`;
    const policy = policyOf({
      kms: [
        { key, access: ['generateDataKey'], viaService: 'sqs' },
        { key, access: ['encrypt'], viaService: 'sns' },
      ],
    });
    expect(onlyStatementGranting(policy, 'kms:GenerateDataKey').Condition).toEqual({ StringEquals: { 'kms:ViaService': `sqs.${R}.amazonaws.com` } });
    expect(list(onlyStatementGranting(policy, 'kms:Encrypt').Action)).toEqual(['kms:Encrypt']);
  });
});

describe('Secrets Manager and SSM', () => {
  it('a secret name matches its 6-character suffix; a prefix matches everything under it', () => {
    const policy = policyOf({ secretsManager: [{ name: 'orders/db', access: ['read'] }, { namePrefix: 'orders/api/', access: ['read'] }] });
    expect(allActions(policy)).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
    expect(allResources(policy)).toEqual([
      `arn:aws:secretsmanager:${R}:${A}:secret:orders/api/*`,
      `arn:aws:secretsmanager:${R}:${A}:secret:orders/db-??????`,
    ]);
  });

  it('an SSM path grants the parameter and everything below it', () => {
    const policy = policyOf({ ssmParameters: [{ path: '/orders/prod/', access: ['read'] }] });
    expect(allActions(policy)).toEqual(['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath']);
    expect(allResources(policy)).toEqual([`arn:aws:ssm:${R}:${A}:parameter/orders/prod`, `arn:aws:ssm:${R}:${A}:parameter/orders/prod/*`]);
  });
});

describe('ECR pull', () => {
  const PULL = ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'];
  const repo = (name: string, account = A) => `arn:aws:ecr:${R}:${account}:repository/${name}`;

  it('the three pull actions on exactly the named repositories, and the registry login alone on "*"', () => {
    const policy = policyOf({ ecrPull: [{ repository: 'orders/api' }, { repository: 'base-images/node' }] });
    expect(policy.Statement).toHaveLength(2);
    const pull = onlyStatementGranting(policy, 'ecr:BatchGetImage');
    expect(list(pull.Action)).toEqual(PULL);
    expect(list(pull.Resource)).toEqual([repo('base-images/node'), repo('orders/api')]);
    expect(pull.Condition).toBeUndefined();
    const login = onlyStatementGranting(policy, 'ecr:GetAuthorizationToken');
    expect(list(login.Action)).toEqual(['ecr:GetAuthorizationToken']);
    expect(list(login.Resource)).toEqual(['*']);
    expect(allActions(policy)).toEqual(['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetAuthorizationToken', 'ecr:GetDownloadUrlForLayer']);
    expect(allResources(policy)).toEqual(['*', repo('base-images/node'), repo('orders/api')]);
  });

  it('a repository of another registry: the ARN names that account', () => {
    const policy = policyOf({ ecrPull: [{ repository: 'shared/base', registryAccountId: '222233334444' }] });
    expect(resourcesFor(policy, 'ecr:BatchGetImage')).toEqual([repo('shared/base', '222233334444')]);
    expect(ecrRepositoryArn({ repository: 'x/y' }, { partition: 'aws-cn', accountId: '123456789012', region: 'cn-north-1' })).toBe(
      'arn:aws-cn:ecr:cn-north-1:123456789012:repository/x/y',
    );
  });

  it('ecrPull implies the login: adding ecrAuthorizationToken changes nothing (no second statement)', () => {
    const pullOnly = policyOf({ ecrPull: [{ repository: 'orders/api' }] });
    const both = policyOf({ ecrPull: [{ repository: 'orders/api' }], ecrAuthorizationToken: true });
    expect(JSON.stringify(both)).toBe(JSON.stringify(pullOnly));
    expect(granting(both, 'ecr:GetAuthorizationToken')).toHaveLength(1);
  });

  it('ecrAuthorizationToken alone is the login on "*" and nothing else; false grants nothing', () => {
    const policy = policyOf({ ecrAuthorizationToken: true });
    expect(policy.Statement.map((s) => [list(s.Action), list(s.Resource)])).toEqual([[['ecr:GetAuthorizationToken'], ['*']]]);
    expect(policyOf({ ecrAuthorizationToken: false, sns: [{ topic: 't1', access: ['publish'] }] }).Statement.some((s) => list(s.Action).some((a) => a.startsWith('ecr:')))).toBe(false);
  });

  it('a registry in an account the guardrail does not allow is refused at registryAccountId', () => {
    const result = compileIn('lab', { ecrPull: [{ repository: 'orders/api', registryAccountId: '999988887777' }] });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toContainEqual(expect.objectContaining({ field: 'spec.permissions.ecrPull[0].registryAccountId', rule: 'account-allowed' }));
  });

  it('the tenant pattern covers the namespace\'s own repositories only (shipped example config)', () => {
    const own = compileIn('orders-prod', { ecrPull: [{ repository: 'orders-prod/api' }] });
    expect(own.ok).toBe(true);
    for (const repository of ['orders-prod-x/api', 'orders-prod', 'payments-prod/api']) {
      const result = compileIn('orders-prod', { ecrPull: [{ repository }] });
      expect([repository, result.ok ? [] : result.problems.map((p) => `${p.field}: ${p.rule}`)]).toEqual([repository, ['spec.permissions.ecrPull[0]: resource-allowed']]);
    }
  });

  it('allowedServices without ecr refuses the pull and the login, each at its field', () => {
    const cfg = configWith((raw) => raw.guardrails.push({ namespaces: ['svc-lab'], allowedAccounts: [A], allowedServices: ['s3'], allowedResourcePatterns: ['arn:*'] }));
    const claim = claimWith((c) => {
      c.metadata.namespace = 'svc-lab';
      c.spec.permissions = { ecrPull: [{ repository: 'orders/api' }] };
    });
    const result = compileClaim(claim, cfg);
    expect(result.ok ? [] : result.problems.map((p) => `${p.field}: ${p.rule}`)).toEqual([
      'spec.permissions.ecrPull[0]: service-allowed',
      'spec.permissions.ecrPull: service-allowed',
    ]);
  });

  const long = (n: number) => `o/${'a'.repeat(n - 2)}`;
  it.each([
    ['Orders/api', 'Orders/api', 'ecr-repository-name'],
    ['a', 'a', 'ecr-repository-name'],
    ['orders//api', 'orders//api', 'ecr-repository-name'],
    ['orders/-api', 'orders/-api', 'ecr-repository-name'],
    ['orders/api/', 'orders/api/', 'ecr-repository-name'],
    ['orders/a..b', 'orders/a..b', 'ecr-repository-name'],
    ['257 characters', long(257), 'ecr-repository-name'],
    ['orders/*', 'orders/*', 'repository-not-pattern'],
    ['orders/ap?', 'orders/ap?', 'repository-not-pattern'],
  ])('repository %s is refused with %s', (_label, repository, rule) => {
    const result = compileIn('lab', { ecrPull: [{ repository }] });
    expect(result.ok ? [] : result.problems.map((p) => `${p.field}: ${p.rule}`)).toEqual([`spec.permissions.ecrPull[0].repository: ${rule}`]);
  });

  it.each([
    ['ab', 'ab'],
    ['a1', 'a1'],
    ['orders/api', 'orders/api'],
    ['team-a/api.v2_x', 'team-a/api.v2_x'],
    ['a/b/c/d', 'a/b/c/d'],
    ['256 characters', long(256)],
  ])('repository %s is accepted', (_label, repository) => {
    expect(compileIn('lab', { ecrPull: [{ repository }] }).ok).toBe(true);
  });
});

describe('the intent registry', () => {
  it('has a compiler for every key of spec.permissions in the schema, compiled in the registry\'s order', () => {
    const schemaKeys = Object.keys(claimSpecSchema.properties!.permissions!.properties!);
    expect([...INTENT_ORDER].sort()).toEqual([...schemaKeys].sort());
    expect(INTENT_ORDER).toEqual(Object.keys(INTENTS));
  });
});

describe('role chaining, managed policies, raw statements', () => {
  it('sts:AssumeRole on the named role, with StringEquals sts:ExternalId when given', () => {
    const policy = policyOf({
      assumeRoles: [
        { roleArn: 'arn:aws:iam::222233334444:role/reporting', externalId: 'orders-ext-1' },
        { roleArn: 'arn:aws:iam::222233334444:role/audit' },
      ],
    });
    const statements = granting(policy, 'sts:AssumeRole');
    expect(statements).toHaveLength(2);
    const withId = statements.find((s) => s.Condition)!;
    expect(list(withId.Resource)).toEqual(['arn:aws:iam::222233334444:role/reporting']);
    expect(withId.Condition).toEqual({ StringEquals: { 'sts:ExternalId': 'orders-ext-1' } });
    expect(list(statements.find((s) => !s.Condition)!.Resource)).toEqual(['arn:aws:iam::222233334444:role/audit']);
  });

  it('managed policies are attached, sorted, where allowed', () => {
    const d = desiredOf({
      managedPolicyArns: ['arn:aws:iam::aws:policy/ReadOnlyAccess', 'arn:aws:iam::111122223333:policy/orders-extra'],
      s3: [{ bucket: 'logs-bucket', access: ['read'] }],
    });
    expect(d.managedPolicyArns).toEqual(['arn:aws:iam::111122223333:policy/orders-extra', 'arn:aws:iam::aws:policy/ReadOnlyAccess']);
  });

  it('a managed-policy-only claim compiles to an empty inline policy', () => {
    const d = desiredOf({ managedPolicyArns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'] });
    expect(d.permissionPolicy.document.Statement).toEqual([]);
  });

  it('raw statements pass through, conditions included', () => {
    const policy = policyOf({
      rawStatements: [
        {
          effect: 'Allow',
          actions: ['logs:PutLogEvents', 'logs:CreateLogStream'],
          resources: [`arn:aws:logs:${R}:${A}:log-group:orders:log-stream:app`],
          conditions: { StringEquals: { 'aws:ResourceTag/team': ['orders'] } },
        },
        { effect: 'Deny', actions: ['*'], resources: ['*'], conditions: { Bool: { 'aws:SecureTransport': ['false'] } } },
      ],
    });
    const allow = onlyStatementGranting(policy, 'logs:PutLogEvents');
    expect(list(allow.Action)).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
    expect(allow.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/team': 'orders' } });
    const deny = policy.Statement.find((s) => s.Effect === 'Deny')!;
    expect(deny).toMatchObject({ Action: ['*'], Resource: ['*'], Condition: { Bool: { 'aws:SecureTransport': 'false' } } });
  });
});

describe('output shape', () => {
  it('Sids are stable: adding an unrelated intent does not change the others', () => {
    const before = policyOf({ s3: [{ bucket: 'logs-bucket', access: ['read'] }] });
    const after = policyOf({ s3: [{ bucket: 'logs-bucket', access: ['read'] }], sns: [{ topic: 't1', access: ['publish'] }] });
    for (const statement of before.Statement) expect(after.Statement).toContainEqual(statement);
    for (const s of after.Statement) expect(s.Sid).toMatch(/^[A-Za-z0-9]+$/);
  });

  it('the order of intents in the claim does not change the output', () => {
    const a = policyOf({ sqs: [{ queue: 'q1', access: ['send'] }, { queue: 'q2', access: ['consume'] }], s3: [{ bucket: 'b-one', access: ['read'] }] });
    const b = policyOf({ s3: [{ bucket: 'b-one', access: ['read'] }], sqs: [{ queue: 'q2', access: ['consume'] }, { queue: 'q1', access: ['send'] }] });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  });

  it('defaults: mechanism, deletion policy and session duration from the config; claim values win', () => {
    const d = desiredOf({ s3: [{ bucket: 'logs-bucket', access: ['read'] }] });
    expect([d.mechanism, d.deletionPolicy, d.role.maxSessionDurationSeconds]).toEqual(['PodIdentity', 'Delete', 3600]);
    const e = desiredOf({ s3: [{ bucket: 'logs-bucket', access: ['read'] }] }, (c) => {
      c.spec.mechanism = 'IRSA';
      c.spec.deletionPolicy = 'Retain';
    });
    expect([e.mechanism, e.deletionPolicy]).toEqual(['IRSA', 'Retain']);
  });

  it('carries the claim uid and generation when known (the controller passes live objects)', () => {
    const d = desiredOf({ s3: [{ bucket: 'logs-bucket', access: ['read'] }] }, (c) => {
      c.metadata.uid = '0b7e3c1e-8d1f-4c55-9a56-2f4a2c4f9f10';
      c.metadata.generation = 7;
    });
    expect(d.claim).toEqual({ namespace: 'lab', name: 'orders', uid: '0b7e3c1e-8d1f-4c55-9a56-2f4a2c4f9f10', generation: 7 });
    expect(d.role.tags['awi.dev/claim-uid']).toBe('0b7e3c1e-8d1f-4c55-9a56-2f4a2c4f9f10');
  });

  it('labels the ServiceAccount with the claim', () => {
    const d = desiredOf({ s3: [{ bucket: 'logs-bucket', access: ['read'] }] });
    expect(d.serviceAccount.labels).toEqual({
      'app.kubernetes.io/managed-by': 'awi',
      'awi.dev/claim': 'orders',
      'awi.dev/claim-namespace': 'lab',
    });
  });

  it('a claim without a namespace is refused with the field named', () => {
    const claim = claimWith((c) => delete c.metadata.namespace);
    const result = compileClaim(claim, exampleConfig());
    expect(result).toEqual({ ok: false, problems: [expect.objectContaining({ field: 'metadata.namespace', rule: 'required' })] });
  });

  it('never throws on garbage', () => {
    for (const input of [null, undefined, 42, 'claim', [], {}, { spec: null }, { metadata: 'x', spec: { permissions: [] } }]) {
      const result = compileClaim(input, exampleConfig());
      expect(result.ok).toBe(false);
    }
  });
});
