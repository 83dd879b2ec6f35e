import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import YAML from 'yaml';
import type { AwsWorkloadIdentityClaim } from '../../src/api/types.js';
import { parsePlatformConfig } from '../../src/config/index.js';
import { cleanupTarget } from '../../src/controller/cleanup.js';

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
});
