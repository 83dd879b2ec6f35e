// The controller refuses to start against a cluster other than the
// configured one (ownership tags carry the configured cluster's ARN).

import { describe, expect, it } from '@jest/globals';
import type { EKSClient } from '@aws-sdk/client-eks';
import { ClusterIdentityError, clusterMismatch, verifyClusterIdentity } from '../../src/controller/cluster-identity.js';
import { exampleConfig } from '../fixtures/claims.js';

describe('clusterMismatch', () => {
  const config = exampleConfig(); // prod-platform-a in 111122223333, ap-southeast-1

  it('accepts the configured cluster', () => {
    expect(clusterMismatch(config, 'arn:aws:eks:ap-southeast-1:111122223333:cluster/prod-platform-a')).toBeUndefined();
  });

  it.each([
    ['same name, another region', 'arn:aws:eks:eu-west-1:111122223333:cluster/prod-platform-a'],
    ['same name, another account', 'arn:aws:eks:ap-southeast-1:444455556666:cluster/prod-platform-a'],
    ['another partition', 'arn:aws-cn:eks:ap-southeast-1:111122223333:cluster/prod-platform-a'],
  ])('refuses %s, naming both ARNs', (_, described) => {
    const why = clusterMismatch(config, described);
    expect(why).toContain(described);
    expect(why).toContain('arn:aws:eks:ap-southeast-1:111122223333:cluster/prod-platform-a');
  });

  it('refuses an answer without an ARN', () => {
    expect(clusterMismatch(config, undefined)).toMatch(/returned no ARN/);
  });
});

describe('verifyClusterIdentity', () => {
  const config = exampleConfig();
  const eks = (answer: () => unknown) => ({ send: async () => answer() }) as unknown as EKSClient;

  it('resolves for the configured cluster, throws ClusterIdentityError for another or when DescribeCluster fails', async () => {
    await expect(verifyClusterIdentity(config, eks(() => ({ cluster: { arn: config.cluster.arn } })))).resolves.toBeUndefined();
    await expect(verifyClusterIdentity(config, eks(() => ({ cluster: { arn: 'arn:aws:eks:eu-west-1:111122223333:cluster/prod-platform-a' } })))).rejects.toBeInstanceOf(ClusterIdentityError);
    const denied = Object.assign(new Error('not authorized to perform: eks:DescribeCluster'), { name: 'AccessDeniedException' });
    await expect(verifyClusterIdentity(config, eks(() => { throw denied; }))).rejects.toThrow(/needs eks:DescribeCluster/);
  });
});
