// Two tenants with the shipped config (deploy/platform-config.yaml, with the
// shared KMS keys its comment shows): tenant A naming tenant B's bucket
// folder, secret prefix, key, queue or role is refused; the same claims naming
// its own compile.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import YAML from 'yaml';
import { compileClaim } from '../../src/compiler/index.js';
import { parsePlatformConfig } from '../../src/config/index.js';
import type { AwsWorkloadIdentityClaim, Permissions } from '../../src/api/types.js';

const A = '111122223333';
const R = 'ap-southeast-1';
const KEY_A = '0a0a0a0a-1111-2222-3333-444444444444';
const KEY_B = '0b0b0b0b-1111-2222-3333-444444444444';

const raw = YAML.parse(readFileSync('deploy/platform-config.yaml', 'utf8')) as Record<string, any>;
raw.guardrails[0].sharedResources = [
  { namespaces: ['team-a-prod'], resourcePatterns: [`arn:aws:kms:${R}:${A}:key/${KEY_A}`] },
  { namespaces: ['team-b-prod'], resourcePatterns: [`arn:aws:kms:${R}:${A}:key/${KEY_B}`] },
];
const config = parsePlatformConfig(raw, 'deploy/platform-config.yaml with two shared keys');

const claimIn = (namespace: string, permissions: Permissions): AwsWorkloadIdentityClaim => ({
  apiVersion: 'awi.dev/v1alpha1',
  kind: 'AwsWorkloadIdentityClaim',
  metadata: { name: 'app', namespace },
  spec: { serviceAccountName: 'app-sa', owner: 'a-team', environment: 'prod', aws: { accountId: A, region: R }, permissions },
});

/** What a tenant may ask for, naming the resources of `owner`. */
const asks = (owner: string, key: string): [string, Permissions, string][] => [
  ['bucket folder', { s3: [{ bucket: 'company-prod-data', prefix: `${owner}/`, access: ['read', 'write'] }] }, 'spec.permissions.s3[0]'],
  ['secret prefix', { secretsManager: [{ namePrefix: `${owner}/`, access: ['read'] }] }, 'spec.permissions.secretsManager[0]'],
  ['KMS key', { kms: [{ key, access: ['decrypt'] }] }, 'spec.permissions.kms[0]'],
  ['queue', { sqs: [{ queue: `${owner}_jobs`, access: ['consume'] }] }, 'spec.permissions.sqs[0]'],
  ['topic', { sns: [{ topic: `${owner}_events`, access: ['publish'] }] }, 'spec.permissions.sns[0]'],
  ['table', { dynamodb: [{ table: `${owner}_orders`, access: ['read'] }] }, 'spec.permissions.dynamodb[0]'],
  ['parameters', { ssmParameters: [{ path: `/${owner}/config`, access: ['read'] }] }, 'spec.permissions.ssmParameters[0]'],
];

describe('two tenants, the shipped config', () => {
  it.each(asks('team-b-prod', KEY_B).map(([what, p, field]) => [what, p, field] as const))("tenant A naming tenant B's %s is refused", (_, permissions, field) => {
    const result = compileClaim(claimIn('team-a-prod', permissions), config);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.problems.length).toBeGreaterThan(0);
      for (const p of result.problems) expect(p).toMatchObject({ field, rule: 'resource-allowed', reason: 'GuardrailViolation' });
    }
  });

  it.each(asks('team-a-prod', KEY_A).map(([what, p]) => [what, p] as const))('tenant A naming its own %s compiles', (_, permissions) => {
    const result = compileClaim(claimIn('team-a-prod', permissions), config);
    expect(result.ok ? [] : result.problems).toEqual([]);
  });

  it("tenant A naming tenant B's role (or any role) is refused: role chaining is closed by default", () => {
    const result = compileClaim(claimIn('team-a-prod', { assumeRoles: [{ roleArn: `arn:aws:iam::${A}:role/awi/prod-platform-a-team-b-prod-app-sa` }] }), config);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.problems).toContainEqual(expect.objectContaining({ field: 'spec.permissions.assumeRoles[0].roleArn', rule: 'assume-role-allowed' }));
    }
  });

  it("the roles of the two tenants are distinct and each trusts only its own namespace", () => {
    const roleOf = (ns: string) => {
      const result = compileClaim(claimIn(ns, { sqs: [{ queue: `${ns}_jobs`, access: ['send'] }] }), config);
      if (!result.ok) throw new Error(JSON.stringify(result.problems));
      return result.desired.role;
    };
    const [a, b] = [roleOf('team-a-prod'), roleOf('team-b-prod')];
    expect(a.arn).not.toBe(b.arn);
    expect(JSON.stringify(a.trustPolicy)).toContain('"aws:RequestTag/kubernetes-namespace":"team-a-prod"');
    expect(JSON.stringify(b.trustPolicy)).toContain('"aws:RequestTag/kubernetes-namespace":"team-b-prod"');
  });
});
