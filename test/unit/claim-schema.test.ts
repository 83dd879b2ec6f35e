// Structural validation of claims (ajv against the schema the CRD is made of).

import { describe, expect, it } from '@jest/globals';
import { validateClaimStructure } from '../../src/api/validate.js';
import { baseClaim, claimWith, loadExample, VALID_EXAMPLES } from '../fixtures/claims.js';

const rulesOf = (claim: unknown) => validateClaimStructure(claim).map((p) => `${p.field}: ${p.rule}`);

describe('claim schema', () => {
  it.each(VALID_EXAMPLES)('accepts the example %s', (name) => {
    expect(validateClaimStructure(loadExample(name))).toEqual([]);
  });

  it('refuses an unknown access level, naming the field, the value and the allowed levels', () => {
    const problems = validateClaimStructure(loadExample('unknown-access'));
    expect(problems).toEqual([
      {
        reason: 'InvalidSpec',
        field: 'spec.permissions.sqs[0].access[0]',
        rule: 'sqs-access',
        message: '"admin" is not a valid access level for SQS; allowed: send, consume',
      },
    ]);
  });

  it('refuses unknown fields (a typo must not be ignored)', () => {
    const claim = claimWith((c) => ((c.spec.permissions.s3![0] as any).acess = ['read']));
    expect(rulesOf(claim)).toContain('spec.permissions.s3[0].acess: unknown-field');
  });

  it('refuses an account id written as a number, with a hint', () => {
    const claim = claimWith((c) => ((c.spec.aws as any).accountId = 111122223333));
    const [problem] = validateClaimStructure(claim);
    expect(problem).toMatchObject({ field: 'spec.aws.accountId', rule: 'type' });
    expect(problem!.message).toContain('quote it in YAML');
  });

  it.each([
    ['a 11-digit account', (c: any) => (c.spec.aws.accountId = '11112222333'), 'spec.aws.accountId: account-id'],
    ['a bad region', (c: any) => (c.spec.aws.region = 'Asia'), 'spec.aws.region: region'],
    ['an upper-case bucket', (c: any) => (c.spec.permissions.s3[0].bucket = 'Company'), 'spec.permissions.s3[0].bucket: bucket-name'],
    ['a prefix with a leading slash', (c: any) => (c.spec.permissions.s3[0].prefix = '/orders/'), 'spec.permissions.s3[0].prefix: s3-prefix'],
    ['a queue URL', (c: any) => (c.spec.permissions.sqs = [{ queue: 'https://sqs/q', access: ['send'] }]), 'spec.permissions.sqs[0].queue: queue-name'],
    ['an 81-character queue', (c: any) => (c.spec.permissions.sqs = [{ queue: 'q'.repeat(81), access: ['send'] }]), 'spec.permissions.sqs[0].queue: queue-name'],
    ['a KMS alias', (c: any) => (c.spec.permissions.kms = [{ key: 'alias/orders', access: ['decrypt'] }]), 'spec.permissions.kms[0].key: kms-key'],
    ['a role ARN with a wildcard', (c: any) => (c.spec.permissions.assumeRoles = [{ roleArn: 'arn:aws:iam::222233334444:role/*' }]), 'spec.permissions.assumeRoles[0].roleArn: role-arn'],
    ['a duplicate access level', (c: any) => (c.spec.permissions.s3[0].access = ['read', 'read']), 'spec.permissions.s3[0].access: duplicate'],
    ['an empty access list', (c: any) => (c.spec.permissions.s3[0].access = []), 'spec.permissions.s3[0].access: min-items'],
    ['no permissions at all', (c: any) => (c.spec.permissions = {}), 'spec.permissions: min-properties'],
    ['a missing owner', (c: any) => delete c.spec.owner, 'spec.owner: required'],
    ['an unknown mechanism', (c: any) => (c.spec.mechanism = 'Kiam'), 'spec.mechanism: mechanism'],
    ['a too long session', (c: any) => (c.spec.maxSessionDurationSeconds = 50000), 'spec.maxSessionDurationSeconds: maximum'],
    ['a wrong apiVersion', (c: any) => (c.apiVersion = 'awi.dev/v1'), 'apiVersion: api-version'],
    ['an owner with spaces', (c: any) => (c.spec.owner = 'the team'), 'spec.owner: tag-value'],
  ])('refuses %s', (_, mutate, expected) => {
    expect(rulesOf(claimWith(mutate as never))).toContain(expected);
  });

  it('reports every problem, not just the first', () => {
    const claim = claimWith((c: any) => {
      c.spec.aws.region = 'nowhere';
      c.spec.permissions.sqs = [{ queue: 'q', access: ['admin'] }];
      delete c.spec.owner;
    });
    expect(rulesOf(claim)).toEqual(
      expect.arrayContaining(['spec.aws.region: region', 'spec.permissions.sqs[0].access[0]: sqs-access', 'spec.owner: required']),
    );
  });

  it('ignores status (written by the controller)', () => {
    const claim = { ...baseClaim(), status: { anything: true } };
    expect(validateClaimStructure(claim)).toEqual([]);
  });
});
