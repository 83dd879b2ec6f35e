import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import YAML from 'yaml';
import type { AwsWorkloadIdentityClaim } from '../../src/api/types.js';
import { parsePlatformConfig } from '../../src/config/index.js';
import { appliedRecord, lastValid } from '../../src/controller/applied.js';
import { cleanupTarget } from '../../src/controller/cleanup.js';
import { compileClaim } from '../../src/compiler/compile.js';

const examples = path.join(process.cwd(), 'deploy', 'examples');
const config = parsePlatformConfig(YAML.parse(readFileSync(path.join(examples, 'platform-config.yaml'), 'utf8')));
const claim = (): AwsWorkloadIdentityClaim => YAML.parse(readFileSync(path.join(examples, 'checkout-api-s3-read.yaml'), 'utf8')) as AwsWorkloadIdentityClaim;

describe('cleanupTarget', () => {
  it('takes the role from the compiled claim', () => {
    expect(cleanupTarget(claim(), config)).toEqual({
      accountId: '111122223333',
      roleName: 'prod-platform-a-checkout-prod-checkout-api-aws-sa',
      roleArn: 'arn:aws:iam::111122223333:role/awi/prod-platform-a-checkout-prod-checkout-api-aws-sa',
      deletionPolicy: 'Delete',
      owner: { cluster: 'arn:aws:eks:ap-southeast-1:111122223333:cluster/prod-platform-a', namespace: 'checkout-prod', claim: 'checkout-api-s3-read' },
      serviceAccount: { namespace: 'checkout-prod', name: 'checkout-api-aws-sa' },
    });
  });

  it('falls back to the role recorded in status when the claim no longer compiles, so nothing is orphaned', () => {
    const c = claim();
    c.spec.aws.accountId = '999999999999'; // now refused by a guardrail
    c.spec.deletionPolicy = 'Retain';
    c.status = { roleArn: 'arn:aws:iam::111122223333:role/awi/prod-platform-a-checkout-prod-checkout-api-aws-sa' };
    expect(cleanupTarget(c, config)).toMatchObject({ accountId: '111122223333', roleName: 'prod-platform-a-checkout-prod-checkout-api-aws-sa', deletionPolicy: 'Retain' });
  });

  it('has nothing to clean up for a claim that never compiled and never got a role', () => {
    const c = claim();
    c.spec.aws.accountId = '999999999999';
    expect(cleanupTarget(c, config)).toBeUndefined();
  });

  it('after a bad edit, cleans up from the last valid spec: its ServiceAccount and role, not the edited ones', () => {
    const c = claim();
    const compiled = compileClaim(c, config);
    if (!compiled.ok) throw new Error('example must compile');
    c.metadata.generation = 4;
    c.status = { applied: appliedRecord(c, compiled.desired) };
    c.spec = { ...c.spec, serviceAccountName: 'renamed-sa', aws: { ...c.spec.aws, accountId: '999999999999' } };
    expect(cleanupTarget(c, config)).toMatchObject({
      roleName: 'prod-platform-a-checkout-prod-checkout-api-aws-sa',
      serviceAccount: { namespace: 'checkout-prod', name: 'checkout-api-aws-sa' },
      deletionPolicy: 'Delete',
    });
  });
});

describe('lastValid', () => {
  it('compiles the recorded spec again, with the generation it came from', () => {
    const c = claim();
    c.metadata.generation = 3;
    const compiled = compileClaim(c, config);
    if (!compiled.ok) throw new Error('example must compile');
    const record = appliedRecord(c, compiled.desired);
    expect(record).toMatchObject({ generation: 3, mechanism: 'PodIdentity', roleArn: compiled.desired.role.arn, policyDigest: compiled.desired.digests.policy });
    c.spec.aws.accountId = '999999999999';
    c.status = { applied: record };
    const last = lastValid(c, config);
    expect(last?.generation).toBe(3);
    expect(last?.desired).toEqual(compiled.desired);
  });

  it('is undefined without a record, or when the recorded spec no longer compiles either', () => {
    const c = claim();
    expect(lastValid(c, config)).toBeUndefined();
    const compiled = compileClaim(c, config);
    if (!compiled.ok) throw new Error('example must compile');
    c.status = { applied: { ...appliedRecord(c, compiled.desired), spec: { ...c.spec, aws: { ...c.spec.aws, accountId: '999999999999' } } } };
    expect(lastValid(c, config)).toBeUndefined();
  });
});
