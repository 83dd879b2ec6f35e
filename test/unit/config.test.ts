// The platform configuration: the example loads unchanged, defaults are
// filled in, and mistakes are reported as `path: rule` lines.

import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadPlatformConfig, parsePlatformConfig, platformConfigWarnings } from '../../src/config/index.js';
import { EXAMPLE_CONFIG_FILE, exampleConfigObject } from '../fixtures/claims.js';

function issuesOf(raw: unknown): string[] {
  try {
    parsePlatformConfig(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues.map((i) => `${i.field}: ${i.rule}`);
  }
  throw new Error('expected a ConfigError');
}

function variant(mutate: (raw: Record<string, any>) => void): Record<string, any> {
  const raw = exampleConfigObject();
  mutate(raw);
  return raw;
}

describe('platform configuration', () => {
  it('loads the example unchanged and fills in the defaults', () => {
    const config = loadPlatformConfig(EXAMPLE_CONFIG_FILE);
    expect(config.cluster).toEqual({
      name: 'prod-platform-a',
      accountId: '111122223333',
      region: 'ap-southeast-1',
      partition: 'aws',
      arn: 'arn:aws:eks:ap-southeast-1:111122223333:cluster/prod-platform-a',
      oidcIssuers: [
        {
          url: 'https://oidc.eks.ap-southeast-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE',
          hostPath: 'oidc.eks.ap-southeast-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE',
        },
      ],
    });
    expect(config.defaults).toEqual({ mechanism: 'PodIdentity', deletionPolicy: 'Delete' });
    expect(config.roles).toEqual({
      path: '/awi/',
      nameTemplate: '{cluster}-{namespace}-{serviceAccount}',
      permissionsBoundaryArn: 'arn:aws:iam::111122223333:policy/awi-workload-boundary',
      maxSessionDurationSeconds: 3600,
      tags: { platform: 'awi' },
    });
    expect(config.accounts).toEqual([{ accountId: '111122223333' }]);
    expect(config.guardrails).toHaveLength(1);
    expect(config.guardrails[0]).toMatchObject({
      namespaces: ['*-prod'],
      allowedAccounts: ['111122223333'],
      allowedRegions: ['ap-southeast-1'],
      allowedAssumeRoleArns: [],
      allowManagedPolicies: false,
      allowRawStatements: false,
      allowWildcardActions: false,
      forbiddenActions: ['iam:*', 'sts:*', 'organizations:*', 'account:*'],
      environment: { allowed: ['prod'] },
    });
    expect(config.guardrails[0]!.allowedResourcePatterns).toContain('arn:{partition}:sqs:{region}:{account}:{namespace}_*');
    expect(config.guardrails[0]!.sharedResources?.map((s) => s.namespaces)).toEqual([['checkout-prod'], ['billing-prod'], ['inventory-prod'], ['build-prod'], ['finance-prod']]);
    expect(config.limits).toEqual({ trustPolicyMaxChars: 2048, managedPoliciesPerRole: 10 });
    expect(config.controller).toMatchObject({ resyncSeconds: 300, concurrency: 4 });
  });

  it('needs only the cluster; everything else has a default', () => {
    const config = parsePlatformConfig({ cluster: { name: 'c', accountId: '111122223333', region: 'eu-west-1' } });
    expect(config.accounts).toEqual([{ accountId: '111122223333' }]);
    expect(config.guardrails).toEqual([]);
    expect(config.roles.nameTemplate).toBe('{cluster}-{namespace}-{serviceAccount}');
    expect(config.cluster.oidcIssuers).toEqual([]);
  });

  it('does not modify the object it is given', () => {
    const raw = exampleConfigObject();
    const copy = structuredClone(raw);
    parsePlatformConfig(raw);
    expect(raw).toEqual(copy);
  });

  it('accepts several issuers (several clusters may trust one role), without duplicates', () => {
    const config = parsePlatformConfig(
      variant((raw) => {
        raw.cluster.oidcIssuers = [
          { url: 'https://oidc.eks.eu-west-1.amazonaws.com/id/B' },
          { url: `${raw.cluster.oidcIssuer}/` },
          { url: 'https://oidc.eks.eu-west-1.amazonaws.com/id/C', providerArn: 'arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/C' },
        ];
      }),
    );
    expect(config.cluster.oidcIssuers.map((i) => i.hostPath)).toEqual([
      'oidc.eks.ap-southeast-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE',
      'oidc.eks.eu-west-1.amazonaws.com/id/B',
      'oidc.eks.eu-west-1.amazonaws.com/id/C',
    ]);
  });

  it.each([
    ['a typo in a key', (r: any) => (r.guardrails[0].forbidenActions = ['*']), 'guardrails[0].forbidenActions: unknown-field'],
    ['an unknown section', (r: any) => (r.guardrail = []), 'guardrail: unknown-field'],
    ['an unquoted account id', (r: any) => (r.cluster.accountId = 111122223333), 'cluster.accountId: type'],
    ['a short account id', (r: any) => (r.accounts[0].accountId = '1234'), 'accounts[0].accountId: account-id'],
    ['a missing cluster name', (r: any) => delete r.cluster.name, 'cluster.name: required'],
    ['an http issuer', (r: any) => (r.cluster.oidcIssuer = 'http://issuer'), 'cluster.oidcIssuer: issuer-url'],
    ['a bad mechanism', (r: any) => (r.defaults.mechanism = 'Kiam'), 'defaults.mechanism: enum'],
    ['a role path without slashes', (r: any) => (r.roles.path = 'awi'), 'roles.path: role-path'],
    ['an unknown placeholder', (r: any) => (r.roles.nameTemplate = '{cluster}-{ns}-{serviceAccount}'), 'roles.nameTemplate: name-template'],
    ['a template without the namespace', (r: any) => (r.roles.nameTemplate = '{cluster}-{serviceAccount}'), 'roles.nameTemplate: template-placeholders'],
    ['a reserved tag key', (r: any) => (r.roles.tags['awi.dev/owner'] = 'x'), 'roles.tags["awi.dev/owner"]: reserved-tag-key'],
    ['an aws: tag key', (r: any) => (r.roles.tags['aws:x'] = 'x'), 'roles.tags["aws:x"]: reserved-tag-key'],
    ['a trust limit above 4,096', (r: any) => (r.limits = { trustPolicyMaxChars: 8192 }), 'limits.trustPolicyMaxChars: maximum'],
    ['more than 20 managed policies', (r: any) => (r.limits = { managedPoliciesPerRole: 21 }), 'limits.managedPoliciesPerRole: maximum'],
    ['a namespace pattern with upper case', (r: any) => (r.guardrails[0].namespaces = ['*-Prod']), 'guardrails[0].namespaces[0]: namespace-pattern'],
    ['a forbidden action that is not an action', (r: any) => (r.guardrails[0].forbiddenActions = ['PassRole']), 'guardrails[0].forbiddenActions[0]: action'],
    ['a duplicate account', (r: any) => r.accounts.push({ accountId: '111122223333' }), 'accounts[1].accountId: duplicate'],
    ['zero concurrency', (r: any) => (r.controller = { concurrency: 0 }), 'controller.concurrency: minimum'],
    ['an account without a role to assume', (r: any) => r.accounts.push({ accountId: '444455556666' }), 'accounts[1].assumeRoleArn: assume-role-required'],
    ['a guardrail without resource patterns', (r: any) => delete r.guardrails[0].allowedResourcePatterns, 'guardrails[0].allowedResourcePatterns: required'],
    ['an unknown placeholder', (r: any) => (r.guardrails[0].allowedResourcePatterns = ['arn:aws:s3:::x/{team}/*']), 'guardrails[0].allowedResourcePatterns[0]: resource-pattern'],
    ['{namespace} followed by a wildcard', (r: any) => (r.guardrails[0].allowedResourcePatterns = ['arn:aws:sqs:*:*:{namespace}-*']), 'guardrails[0].allowedResourcePatterns[0]: namespace-placeholder-delimited'],
    ['{namespace} preceded by a wildcard', (r: any) => (r.guardrails[0].allowedResourcePatterns = ['arn:aws:sqs:r:1:*-{namespace}']), 'guardrails[0].allowedResourcePatterns[0]: namespace-placeholder-delimited'],
    ['{namespace} then a wildcard in a shared entry', (r: any) => (r.guardrails[0].sharedResources[0].resourcePatterns = ['arn:aws:s3:::b/{namespace}x*']), 'guardrails[0].sharedResources[0].resourcePatterns[0]: namespace-placeholder-delimited'],
    ['a role pattern that is not a role ARN', (r: any) => (r.guardrails[0].allowedAssumeRoleArns = ['arn:aws:s3:::bucket']), 'guardrails[0].allowedAssumeRoleArns[0]: assume-role-pattern'],
    ['managed policies without an allow-list', (r: any) => (r.guardrails[0].allowManagedPolicies = true), 'guardrails[0].allowedManagedPolicyArns: required-with-managed-policies'],
    ['managed policies with an empty allow-list', (r: any) => Object.assign(r.guardrails[0], { allowManagedPolicies: true, allowedManagedPolicyArns: [] }), 'guardrails[0].allowedManagedPolicyArns: required-with-managed-policies'],
    ['"*" among the forbidden actions', (r: any) => r.guardrails[0].forbiddenActions.push('*'), 'guardrails[0].forbiddenActions[4]: forbids-everything'],
    ['a pin with both forms', (r: any) => (r.guardrails[0].owner = { allowed: ['a'], fromNamespaceLabel: 'team' }), 'guardrails[0].owner: value-pin'],
    ['a pin with a bad label key', (r: any) => (r.guardrails[0].owner = { fromNamespaceLabel: 'not a label' }), 'guardrails[0].owner.fromNamespaceLabel: label-key'],
    ['an unknown region', (r: any) => (r.guardrails[0].allowedRegions = ['Mars']), 'guardrails[0].allowedRegions[0]: region'],
    ['a provider ARN of another issuer', (r: any) => (r.cluster.oidcIssuers = [{ url: 'https://a.example/x', providerArn: 'arn:aws:iam::111122223333:oidc-provider/b.example/x' }]), 'cluster.oidcIssuers[0].providerArn: provider-matches-issuer'],
  ])('refuses %s', (_, mutate, expected) => {
    expect(issuesOf(variant(mutate as never))).toContain(expected);
  });

  it('accepts delimited {namespace} placeholders and exact names', () => {
    const ok = variant((r) => {
      r.guardrails[0].allowedResourcePatterns = [
        'arn:aws:s3:::company-{namespace}',
        'arn:aws:s3:::company-{namespace}/*',
        'arn:aws:sqs:*:*:{namespace}_*',
        'arn:aws:dynamodb:*:*:table/{cluster}.{namespace}.*',
        'arn:aws:ssm:*:*:parameter/{namespace}',
      ];
    });
    expect(() => parsePlatformConfig(ok)).not.toThrow();
  });

  it('warns (does not refuse) when no permissions boundary is set', () => {
    expect(platformConfigWarnings(loadPlatformConfig(EXAMPLE_CONFIG_FILE))).toEqual([]);
    const config = parsePlatformConfig(variant((r) => delete r.roles.permissionsBoundaryArn));
    expect(platformConfigWarnings(config)).toEqual([expect.objectContaining({ field: 'roles.permissionsBoundaryArn', rule: 'boundary-recommended' })]);
  });

  it('the shipped configs load', () => {
    expect(() => loadPlatformConfig('deploy/platform-config.yaml')).not.toThrow();
    expect(() => loadPlatformConfig(EXAMPLE_CONFIG_FILE)).not.toThrow();
  });

  it('lists every issue as a `path: rule: message` line', () => {
    const raw = variant((r) => {
      r.cluster.accountId = '1';
      r.defaults.deletionPolicy = 'Keep';
    });
    try {
      parsePlatformConfig(raw, 'platform.yaml');
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect((err as Error).message).toBe(
        'invalid platform.yaml:\n' +
          '  cluster.accountId: account-id: "1" must be a 12-digit AWS account id (quote it in YAML)\n' +
          '  defaults.deletionPolicy: enum: "Keep" is not a valid deletion policy; allowed: Delete, Retain',
      );
    }
  });

  it('reports unreadable and unparsable files as ConfigError', () => {
    const dir = mkdtempSync(join(tmpdir(), 'awi-config-'));
    expect(() => loadPlatformConfig(join(dir, 'missing.yaml'))).toThrow(ConfigError);
    writeFileSync(join(dir, 'bad.yaml'), 'cluster: [\n');
    expect(() => loadPlatformConfig(join(dir, 'bad.yaml'))).toThrow(/yaml/);
    writeFileSync(join(dir, 'dup.yaml'), 'cluster: {}\ncluster: {}\n');
    expect(() => loadPlatformConfig(join(dir, 'dup.yaml'))).toThrow(ConfigError);
  });
});
