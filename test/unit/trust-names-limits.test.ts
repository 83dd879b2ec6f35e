// Trust policies, role names and the IAM limits.

import { describe, expect, it } from '@jest/globals';
import { compileClaim, INLINE_POLICY_MAX_CHARS, policySize, ROLE_NAME_MAX, roleName, shortenRoleName } from '../../src/compiler/index.js';
import type { DesiredState, Problem } from '../../src/compiler/types.js';
import type { PlatformConfig } from '../../src/config/types.js';
import type { AwsWorkloadIdentityClaim } from '../../src/api/types.js';
import { baseClaim, claimWith, configWith, exampleConfig } from '../fixtures/claims.js';

function ok(claim: AwsWorkloadIdentityClaim, config: PlatformConfig = exampleConfig(), alsoTrust?: 'IRSA' | 'PodIdentity'): DesiredState {
  const result = compileClaim(claim, config, alsoTrust ? { alsoTrust } : {});
  if (!result.ok) throw new Error(JSON.stringify(result.problems, null, 2));
  return result.desired;
}

function problems(claim: AwsWorkloadIdentityClaim, config: PlatformConfig = exampleConfig()): Problem[] {
  const result = compileClaim(claim, config);
  if (result.ok) throw new Error('expected problems');
  return result.problems;
}

const ISSUER = 'oidc.eks.ap-southeast-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE';

describe('trust policy', () => {
  it('during a mechanism switch, trusts both mechanisms (alsoTrust); the binding follows the new one', () => {
    const d = ok(claimWith((c) => (c.spec.mechanism = 'PodIdentity')), exampleConfig(), 'IRSA');
    const principals = d.role.trustPolicy.Statement.map((s) => s.Principal);
    expect(principals).toEqual([{ Service: 'pods.eks.amazonaws.com' }, { Federated: `arn:aws:iam::111122223333:oidc-provider/${ISSUER}` }]);
    expect(d.binding.kind).toBe('PodIdentityAssociation');
    const same = ok(claimWith((c) => (c.spec.mechanism = 'PodIdentity')), exampleConfig(), 'PodIdentity');
    expect(same.role.trustPolicy.Statement).toHaveLength(1);
  });

  it('IRSA: one statement per configured issuer, each with the exact subject', () => {
    const config = configWith((raw) => {
      raw.cluster.oidcIssuers = [{ url: 'https://oidc.eks.eu-west-1.amazonaws.com/id/SECOND' }];
    });
    const d = ok(claimWith((c) => (c.spec.mechanism = 'IRSA')), config);
    expect(d.role.trustPolicy.Statement).toHaveLength(2);
    for (const s of d.role.trustPolicy.Statement) {
      const host = Object.keys(s.Condition!.StringEquals!)[0]!.replace(/:(aud|sub)$/, '');
      expect(s.Principal).toEqual({ Federated: `arn:aws:iam::111122223333:oidc-provider/${host}` });
      expect(s.Condition).toEqual({
        StringEquals: { [`${host}:aud`]: 'sts.amazonaws.com', [`${host}:sub`]: 'system:serviceaccount:orders-prod:orders-aws-sa' },
      });
    }
  });

  it('IRSA: the provider lives in the role account; an explicit provider ARN is used there', () => {
    const config = configWith((raw) => {
      delete raw.cluster.oidcIssuer;
      raw.cluster.oidcIssuers = [{ url: `https://${ISSUER}`, providerArn: `arn:aws:iam::111122223333:oidc-provider/${ISSUER}` }];
    });
    const d = ok(claimWith((c) => (c.spec.mechanism = 'IRSA')), config);
    expect(d.role.trustPolicy.Statement[0]!.Principal).toEqual({ Federated: `arn:aws:iam::111122223333:oidc-provider/${ISSUER}` });
  });

  it('IRSA without a configured issuer is refused', () => {
    const config = configWith((raw) => delete raw.cluster.oidcIssuer);
    expect(problems(claimWith((c) => (c.spec.mechanism = 'IRSA')), config)).toContainEqual(
      expect.objectContaining({ field: 'spec.mechanism', rule: 'irsa-issuer-configured' }),
    );
  });

  it('issuers that cannot fit any trust policy refuse the config at load, saying how many fit', () => {
    const issuers = Array.from({ length: 4 }, (_, i) => ({ url: `https://oidc.eks.eu-west-1.amazonaws.com/id/${String(i).repeat(32)}` }));
    expect(() => configWith((raw) => (raw.cluster.oidcIssuers = issuers))).toThrow(
      /cluster\.oidcIssuers: trust-policy-fits: 5 issuers make a trust policy of at least 2,\d{3} characters, over limits\.trustPolicyMaxChars 2,048: at most 4 issuers fit \(3 during a mechanism switch/,
    );
    // Four fit alone but not with the Pod Identity statement of a switch: refused too.
    expect(() => configWith((raw) => (raw.cluster.oidcIssuers = issuers.slice(0, 3)))).toThrow(/not the dual trust of a mechanism switch .* at most 3 issuers fit during a switch/);
    expect(() => configWith((raw) => (raw.cluster.oidcIssuers = issuers.slice(0, 2)))).not.toThrow();
  });

  it('a claim whose names make the trust policy too large is refused with the limit named; a raised limit lets it through', () => {
    const issuers = Array.from({ length: 2 }, (_, i) => ({ url: `https://oidc.eks.eu-west-1.amazonaws.com/id/${String(i).repeat(32)}` }));
    const claim = claimWith((c) => {
      c.spec.mechanism = 'IRSA';
      c.spec.serviceAccountName = `sa-${'x'.repeat(240)}`;
    });
    const found = problems(claim, configWith((raw) => (raw.cluster.oidcIssuers = issuers)));
    expect(found).toEqual([expect.objectContaining({ reason: 'LimitExceeded', rule: 'trust-policy-size' })]);
    expect(found[0]!.message).toContain('2,048');
    const raised = configWith((raw) => {
      raw.cluster.oidcIssuers = issuers;
      raw.limits = { trustPolicyMaxChars: 4096 };
    });
    expect(policySize(ok(claim, raised).role.trustPolicy)).toBeLessThanOrEqual(4096);
  });
});

describe('another account', () => {
  const otherAccount = configWith((raw) => {
    raw.accounts = [{ accountId: '111122223333' }, { accountId: '222233334444', assumeRoleArn: 'arn:aws:iam::222233334444:role/awi-controller' }];
    raw.guardrails[0].allowedAccounts = ['111122223333', '222233334444'];
  });
  const inOther = (mechanism: 'IRSA' | 'PodIdentity') =>
    claimWith((c) => {
      c.spec.mechanism = mechanism;
      c.spec.aws.accountId = '222233334444';
    });

  it('IRSA: the role, its OIDC provider and its permissions boundary live in that account', () => {
    const d = ok(inOther('IRSA'), otherAccount);
    expect(d.role.arn).toMatch(/^arn:aws:iam::222233334444:role\/awi\//);
    expect(d.role.trustPolicy.Statement[0]!.Principal).toEqual({ Federated: `arn:aws:iam::222233334444:oidc-provider/${ISSUER}` });
    expect(d.role.permissionsBoundaryArn).toBe('arn:aws:iam::222233334444:policy/awi-workload-boundary');
  });

  it('Pod Identity chains into the role through a source role in the cluster account (test/unit/cross-account-pod-identity.test.ts)', () => {
    const d = ok(inOther('PodIdentity'), otherAccount);
    expect(d.role.arn).toMatch(/^arn:aws:iam::222233334444:role\/awi\//);
    expect(d.sourceRole?.arn).toMatch(/^arn:aws:iam::111122223333:role\/awi\//);
    expect(d.binding).toMatchObject({ roleArn: d.sourceRole?.arn, targetRoleArn: d.role.arn });
  });
});

describe('role names', () => {
  const vars = { cluster: 'prod-platform-a', namespace: 'checkout-prod', serviceAccount: 'checkout-api-aws-sa', claim: 'c', account: '111122223333' };

  it('renders the template', () => {
    expect(roleName('{cluster}-{namespace}-{serviceAccount}', vars)).toBe('prod-platform-a-checkout-prod-checkout-api-aws-sa');
    expect(roleName('awi@{account}@{namespace}@{claim}', vars)).toBe('awi@111122223333@checkout-prod@c');
  });

  it('shortens a name over 64 characters with a stable hash suffix', () => {
    const long = { ...vars, namespace: 'a-very-long-namespace-name-for-the-payments-reconciliation', serviceAccount: 'reconciler-aws-sa' };
    const name = roleName('{cluster}-{namespace}-{serviceAccount}', long);
    expect(name.length).toBeLessThanOrEqual(ROLE_NAME_MAX);
    expect(name).toMatch(/^prod-platform-a-a-very-long-namespace-name-for-the-pa-[0-9a-f]{10}$/);
    expect(name).toHaveLength(64);
    expect(roleName('{cluster}-{namespace}-{serviceAccount}', long)).toBe(name);
  });

  it('distinct long names stay distinct even when they share the first 64 characters', () => {
    const base = 'x'.repeat(70);
    const names = new Set(Array.from({ length: 1000 }, (_, i) => shortenRoleName(`${base}-${i}`)));
    expect(names.size).toBe(1000);
    for (const name of names) expect(name.length).toBeLessThanOrEqual(64);
  });

  it('compiles a claim whose role name would be too long', () => {
    const claim = claimWith((c) => (c.spec.serviceAccountName = 'a-service-account-with-a-remarkably-long-and-descriptive-name'));
    const d = ok(claim);
    expect(d.role.name.length).toBeLessThanOrEqual(64);
    expect(ok(claim).role.name).toBe(d.role.name);
    expect(d.role.arn).toBe(`arn:aws:iam::111122223333:role/awi/${d.role.name}`);
  });
});

describe('limits', () => {
  it(`a permission policy over ${INLINE_POLICY_MAX_CHARS} characters is refused with the limit named`, () => {
    const claim = claimWith((c) => {
      c.spec.permissions = {
        s3: Array.from({ length: 20 }, (_, i) => ({ bucket: `company-prod-bucket-${i}`, prefix: `${'deeply/nested/'.repeat(12)}${i}/`, access: ['read', 'write'] as const })).map((e) => ({ ...e, access: [...e.access] })),
        ssmParameters: Array.from({ length: 20 }, (_, i) => ({ path: `/orders/${'segment/'.repeat(20)}${i}`, access: ['read' as const] })),
      };
    });
    const open = configWith((raw) => (raw.guardrails[0].allowedResourcePatterns = ['arn:*']));
    const found = problems(claim, open);
    expect(found).toEqual([expect.objectContaining({ reason: 'LimitExceeded', rule: 'inline-policy-size', field: 'spec.permissions' })]);
    expect(found[0]!.message).toMatch(/10,240 characters of inline policy/);
  });

  it('more managed policies than the configured limit are refused with the limit named', () => {
    const config = configWith((raw) => {
      raw.guardrails.push({ namespaces: ['lab'], allowedAccounts: ['111122223333'], allowedResourcePatterns: ['arn:*'], allowManagedPolicies: true, allowedManagedPolicyArns: ['arn:aws:iam::111122223333:policy/*'] });
    });
    const claim = claimWith((c) => {
      c.metadata.namespace = 'lab';
      c.spec.permissions.managedPolicyArns = Array.from({ length: 11 }, (_, i) => `arn:aws:iam::111122223333:policy/p${i}`);
    });
    const found = problems(claim, config);
    expect(found).toEqual([expect.objectContaining({ rule: 'managed-policies-per-role', reason: 'LimitExceeded' })]);
    expect(found[0]!.message).toContain('limit of managed policies attached per role is 10');
    const raised = configWith((raw) => {
      raw.guardrails.push({ namespaces: ['lab'], allowedAccounts: ['111122223333'], allowedResourcePatterns: ['arn:*'], allowManagedPolicies: true, allowedManagedPolicyArns: ['arn:aws:iam::111122223333:policy/*'] });
      raw.limits = { managedPoliciesPerRole: 20 };
    });
    expect(compileClaim(claim, raised).ok).toBe(true);
  });

  it('the tags fit the 50-tag limit: the config may add at most 43', () => {
    const tags = Object.fromEntries(Array.from({ length: 43 }, (_, i) => [`t${i}`, 'v']));
    const d = ok(baseClaim(), configWith((raw) => (raw.roles.tags = tags)));
    expect(Object.keys(d.role.tags).length).toBeLessThanOrEqual(50);
    expect(() => configWith((raw) => (raw.roles.tags = { ...tags, t43: 'v' }))).toThrow(/roles.tags: max-properties/);
  });

  it('a claim may shorten the session but not exceed the platform ceiling', () => {
    const config = configWith((raw) => (raw.roles.maxSessionDurationSeconds = 7200));
    expect(ok(baseClaim(), config).role.maxSessionDurationSeconds).toBe(7200);
    expect(ok(claimWith((c) => (c.spec.maxSessionDurationSeconds = 3600)), config).role.maxSessionDurationSeconds).toBe(3600);
    expect(problems(claimWith((c) => (c.spec.maxSessionDurationSeconds = 10800)), config)).toContainEqual(
      expect.objectContaining({ field: 'spec.maxSessionDurationSeconds', rule: 'session-duration' }),
    );
  });
});
