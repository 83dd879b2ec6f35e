// Property-based tests over generated claims: whatever the claim, the
// compiled policy never grants a forbidden action, a "*" resource (but the ECR
// registry login, alone, when the claim asks for ECR) or anything the claim
// did not name; it fits IAM's limits or the claim is refused with
// the limit named; and compiling twice gives the same bytes.

import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { compileClaim, DEFAULT_FORBIDDEN_ACTIONS, INLINE_POLICY_MAX_CHARS, policySize } from '../../src/compiler/index.js';
import type { Permissions } from '../../src/api/types.js';
import type { PolicyStatement } from '../../src/compiler/types.js';
import { configWith } from '../fixtures/claims.js';
import { list } from '../fixtures/policy.js';

const A = '111122223333';
const B = '222233334444';
const REGION = 'ap-southeast-1';

const LAB_FORBIDDEN = ['iam:PassRole', 's3:DeleteObject', 'sts:TagSession', 'kms:Create*', 'logs:*'];
const PROD_FORBIDDEN = ['iam:*', 'sts:*', 'organizations:*', 'account:*']; // the example config's
const FORBIDDEN: Record<string, string[]> = { 'team-prod': PROD_FORBIDDEN, 'lab-x': LAB_FORBIDDEN, unlisted: DEFAULT_FORBIDDEN_ACTIONS };

const config = configWith((raw) => {
  raw.accounts.push({ accountId: B, assumeRoleArn: `arn:aws:iam::${B}:role/awi-controller` });
  raw.guardrails.push({
    namespaces: ['lab-*'],
    allowedAccounts: [A, B],
    allowedResourcePatterns: ['arn:*'],
    allowedAssumeRoleArns: [`arn:aws:iam::${B}:role/*`],
    allowManagedPolicies: true,
    allowedManagedPolicyArns: [`arn:aws:iam::${A}:policy/*`],
    allowRawStatements: true,
    forbiddenActions: LAB_FORBIDDEN,
  });
});

// --- generators -------------------------------------------------------------

const access = <T extends string>(levels: T[]) => fc.subarray(levels, { minLength: 1 });
// Large claims (max > 10) have at least half the maximum entries per service, to reach IAM's size limit.
const some = <T>(arb: fc.Arbitrary<T>, max: number) => fc.array(arb, { minLength: max > 10 ? Math.ceil(max / 2) : 1, maxLength: max });
const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

const bucket = fc.stringMatching(/^[a-z][a-z0-9-]{1,24}[a-z0-9]$/);
const prefix = fc.stringMatching(/^[a-z0-9][a-z0-9/_.-]{0,60}$/);
const simpleName = fc.stringMatching(/^[A-Za-z0-9_-]{3,40}$/);
const uuid = fc.uuid({ version: 4 });
const RAW_ACTIONS = ['s3:GetObject', 's3:*', 's3:Get*', 'iam:PassRole', 'iam:Pass*', 'iam:GetRole', 'ec2:DescribeInstances', '*', 'sts:AssumeRole', 'kms:CreateKey', 'kms:Decrypt', 'logs:PutLogEvents', 'logs:*'];
const RAW_RESOURCES = [
  '*',
  'arn:aws:s3:::lab-bucket/*',
  'arn:aws:s3:::*',
  `arn:aws:logs:${REGION}:${A}:log-group:lab:*`,
  `arn:aws:logs:${REGION}:${A}:log-group:*`,
  `arn:aws:dynamodb:${REGION}:${A}:table/*`,
  `arn:aws:ec2:${REGION}:${A}:instance/i-0123456789abcdef0`,
];

function intentsArb(max: number) {
  return fc.record(
    {
      s3: some(fc.record({ bucket, prefix: optional(prefix), access: access(['read', 'write', 'list', 'delete']) }), max),
      sqs: some(fc.record({ queue: simpleName, access: access(['send', 'consume']) }), max),
      sns: some(fc.record({ topic: simpleName, access: fc.constant(['publish' as const]) }), max),
      dynamodb: some(
        fc.record({ table: simpleName, access: access(['read', 'write']), indexes: fc.boolean() }).map((t) => ({ ...t, indexes: t.indexes && t.access.includes('read') })),
        max,
      ),
      kms: some(
        fc.record({
          key: fc.oneof({ arbitrary: uuid, weight: 3 }, { arbitrary: uuid.map((id) => `arn:aws:kms:${REGION}:${B}:key/${id}`), weight: 1 }),
          access: access(['decrypt', 'encrypt', 'generateDataKey']),
          viaService: optional(fc.constantFrom('s3', 'sqs', 'secretsmanager')),
        }),
        Math.min(max, 10),
      ),
      secretsManager: some(
        fc.oneof(
          fc.record({ name: fc.stringMatching(/^[A-Za-z0-9/_+=.@-]{1,60}$/), access: fc.constant(['read' as const]) }),
          fc.record({ namePrefix: fc.stringMatching(/^[A-Za-z0-9/_+=.@-]{1,60}$/), access: fc.constant(['read' as const]) }),
        ),
        max,
      ),
      ssmParameters: some(fc.record({ path: fc.stringMatching(/^\/?[A-Za-z0-9_.-][A-Za-z0-9_./-]{0,60}$/), access: fc.constant(['read' as const]) }), max),
      ecrPull: some(fc.record({ repository: fc.stringMatching(/^[a-z0-9]{1,8}([._-][a-z0-9]{1,8}){0,2}(\/[a-z0-9]{1,8}([._-][a-z0-9]{1,8}){0,2}){0,2}$/).filter((r) => r.length >= 2) }), max),
      ecrAuthorizationToken: fc.boolean(),
    },
    { requiredKeys: [] },
  );
}

// Role chaining, managed policies and raw statements: rarer, and allowed in lab-* only.
function extrasArb(max: number) {
  return fc.record(
    {
      assumeRoles: some(
        fc.record({ roleArn: simpleName.map((n) => `arn:aws:iam::${B}:role/${n}`), externalId: optional(fc.stringMatching(/^[A-Za-z0-9]{2,20}$/)) }),
        Math.min(max, 10),
      ),
      managedPolicyArns: fc.uniqueArray(simpleName.map((n) => `arn:aws:iam::${A}:policy/${n}`), { minLength: 1, maxLength: 12 }),
      rawStatements: some(
        fc.record({
          effect: fc.constant('Allow' as const),
          actions: fc.uniqueArray(fc.constantFrom(...RAW_ACTIONS), { minLength: 1, maxLength: 4 }),
          resources: fc.uniqueArray(fc.constantFrom(...RAW_RESOURCES), { minLength: 1, maxLength: 3 }),
        }),
        3,
      ),
    },
    { requiredKeys: [] },
  );
}

function permissionsArb(max: number): fc.Arbitrary<Permissions> {
  return fc
    .tuple(intentsArb(max), fc.oneof({ arbitrary: fc.constant({}), weight: 3 }, { arbitrary: extrasArb(max), weight: 1 }))
    .map(([intents, extras]) => ({ ...intents, ...extras }) as Permissions)
    .filter((p) => Object.keys(p).length > 0);
}

function claimArb(max: number) {
  return fc
    .record({
      namespace: fc.constantFrom('team-prod', 'lab-x', 'unlisted'),
      name: fc.stringMatching(/^[a-z][a-z0-9-]{0,40}[a-z0-9]$/),
      serviceAccount: fc.stringMatching(/^[a-z][a-z0-9-]{0,70}[a-z0-9]$/),
      mechanism: optional(fc.constantFrom('PodIdentity' as const, 'IRSA' as const)),
      permissions: permissionsArb(max),
    })
    .map(({ namespace, name, serviceAccount, mechanism, permissions }) =>
      // Through JSON, as a claim arrives from YAML or the API server (no undefined values).
      JSON.parse(
        JSON.stringify({
          apiVersion: 'awi.dev/v1alpha1',
          kind: 'AwsWorkloadIdentityClaim',
          metadata: { name, namespace },
          spec: { serviceAccountName: serviceAccount, owner: 'team', environment: 'prod', mechanism, aws: { accountId: A, region: REGION }, permissions },
        }),
      ),
    );
}

// --- oracles, written independently of the compiler ---------------------------

function globRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\/-]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}
const hasWildcard = (s: string) => /[*?]/.test(s);

/** A granted action (concrete: no guardrail here allows wildcard actions) must not match any forbidden entry. */
function violatesForbidden(action: string, forbidden: string[]): boolean {
  return hasWildcard(action) || forbidden.some((f) => globRegExp(f).test(action));
}

/** IAM and STS writes: never granted, except sts:AssumeRole from spec.permissions.assumeRoles. */
function iamOrStsWrite(action: string, claim: any): boolean {
  if (/^sts:AssumeRole$/i.test(action)) return !(claim.spec.permissions.assumeRoles?.length > 0);
  return /^(iam|sts):/i.test(action) && !/^iam:(Get|List)/i.test(action) && !/^sts:GetCallerIdentity$/i.test(action);
}

/** Every resource the claim names, as the ARNs it may compile to. */
function namedResources(claim: any): Set<string> {
  const p = claim.spec.permissions;
  const at = `${REGION}:${A}`;
  const named = new Set<string>();
  for (const e of p.s3 ?? []) {
    named.add(`arn:aws:s3:::${e.bucket}`);
    named.add(`arn:aws:s3:::${e.bucket}/${e.prefix ?? ''}*`);
  }
  for (const e of p.sqs ?? []) named.add(`arn:aws:sqs:${at}:${e.queue}`);
  for (const e of p.sns ?? []) named.add(`arn:aws:sns:${at}:${e.topic}`);
  for (const e of p.dynamodb ?? []) {
    named.add(`arn:aws:dynamodb:${at}:table/${e.table}`);
    if (e.indexes) named.add(`arn:aws:dynamodb:${at}:table/${e.table}/index/*`);
  }
  for (const e of p.kms ?? []) named.add(e.key.startsWith('arn:') ? e.key : `arn:aws:kms:${at}:key/${e.key}`);
  for (const e of p.secretsManager ?? []) named.add(e.name !== undefined ? `arn:aws:secretsmanager:${at}:secret:${e.name}-??????` : `arn:aws:secretsmanager:${at}:secret:${e.namePrefix}*`);
  for (const e of p.ssmParameters ?? []) {
    const path = e.path.replace(/^\/+/, '').replace(/\/+$/, '');
    named.add(`arn:aws:ssm:${at}:parameter/${path}`);
    named.add(`arn:aws:ssm:${at}:parameter/${path}/*`);
  }
  for (const e of p.ecrPull ?? []) named.add(`arn:aws:ecr:${at}:repository/${e.repository}`);
  for (const e of p.assumeRoles ?? []) named.add(e.roleArn);
  for (const e of p.rawStatements ?? []) for (const r of e.resources) named.add(r);
  return named;
}

const LIMIT_IN_MESSAGE: Record<string, string> = {
  'inline-policy-size': '10,240',
  'trust-policy-size': '2,048',
  'managed-policies-per-role': '10',
  'tags-per-role': '50',
  'role-name-length': '64',
};

function checkProperties(claim: any): 'ok' | 'refused' | 'too-large' {
  const first = compileClaim(claim, config);
  const second = compileClaim(structuredClone(claim), config);
  expect(JSON.stringify(second)).toBe(JSON.stringify(first));

  if (!first.ok) {
    expect(first.problems.length).toBeGreaterThan(0);
    for (const p of first.problems) {
      expect(['InvalidSpec', 'GuardrailViolation', 'LimitExceeded']).toContain(p.reason);
      expect(p.field && p.rule && p.message).toBeTruthy();
      if (p.reason === 'LimitExceeded') expect(p.message).toContain(LIMIT_IN_MESSAGE[p.rule]);
    }
    return first.problems.some((p) => p.rule === 'inline-policy-size') ? 'too-large' : 'refused';
  }

  const d = first.desired;
  const allows: PolicyStatement[] = d.permissionPolicy.document.Statement.filter((s) => s.Effect === 'Allow');
  const forbidden = FORBIDDEN[claim.metadata.namespace]!;
  const named = namedResources(claim);
  for (const statement of allows) {
    for (const action of list(statement.Action)) {
      expect([action, violatesForbidden(action, forbidden)]).toEqual([action, false]);
      expect([action, iamOrStsWrite(action, claim)]).toEqual([action, false]);
    }
    // "*" only for the registry login, alone in its statement, and only when the claim asked for ECR.
    if (list(statement.Resource).includes('*')) {
      expect([list(statement.Action), list(statement.Resource)]).toEqual([['ecr:GetAuthorizationToken'], ['*']]);
      expect(Boolean(claim.spec.permissions.ecrPull?.length || claim.spec.permissions.ecrAuthorizationToken)).toBe(true);
      continue;
    }
    for (const resource of list(statement.Resource)) {
      expect([resource, named.has(resource)]).toEqual([resource, true]);
    }
  }
  expect(policySize(d.permissionPolicy.document)).toBeLessThanOrEqual(INLINE_POLICY_MAX_CHARS);
  expect(policySize(d.role.trustPolicy)).toBeLessThanOrEqual(2048);
  expect(d.role.name.length).toBeLessThanOrEqual(64);
  expect(Object.keys(d.role.tags).length).toBeLessThanOrEqual(50);
  expect(d.managedPolicyArns.length).toBeLessThanOrEqual(10);
  return 'ok';
}

describe('compiled policies, for any claim', () => {
  it('grant nothing forbidden or unnamed, fit the limits or name them, and are deterministic', () => {
    const outcomes = { ok: 0, refused: 0, 'too-large': 0 };
    fc.assert(
      fc.property(claimArb(4), (claim) => {
        outcomes[checkProperties(claim)]++;
      }),
      { numRuns: 400 },
    );
    expect(outcomes.ok).toBeGreaterThan(20);
    expect(outcomes.refused).toBeGreaterThan(20);
  });

  it('large claims either fit in 10,240 characters or are refused naming that limit', () => {
    const outcomes = { ok: 0, refused: 0, 'too-large': 0 };
    fc.assert(
      fc.property(claimArb(20), (claim) => {
        outcomes[checkProperties(claim)]++;
      }),
      { numRuns: 150 },
    );
    expect(outcomes['too-large']).toBeGreaterThan(0);
  });

  it('do not depend on the order of the intents in the claim', () => {
    fc.assert(
      fc.property(claimArb(4), (claim) => {
        const reversed = structuredClone(claim);
        for (const value of Object.values<unknown>(reversed.spec.permissions)) if (Array.isArray(value)) value.reverse();
        const a = compileClaim(claim, config);
        const b = compileClaim(reversed, config);
        expect(b.ok).toBe(a.ok);
        if (a.ok && b.ok) expect(JSON.stringify(b.desired)).toBe(JSON.stringify(a.desired));
      }),
      { numRuns: 200 },
    );
  });
});
