// Start-up check: the cluster the controller talks to is the one its config
// names. Ownership tags carry the configured cluster's ARN; a controller
// pointed at another cluster (same name, other region or account) must not
// start, or it would treat that cluster's roles as its own.

import { DescribeClusterCommand, type EKSClient } from '@aws-sdk/client-eks';
import type { PlatformConfig } from '../config/types.js';
import { awsErrorCode, awsErrorMessage } from '../aws/errors.js';

export class ClusterIdentityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClusterIdentityError';
  }
}

/** Pure: why the described cluster is not the configured one, or undefined when it is. */
export function clusterMismatch(config: PlatformConfig, describedArn: string | undefined): string | undefined {
  if (!describedArn) return `EKS DescribeCluster for ${config.cluster.name} returned no ARN; expected ${config.cluster.arn}`;
  if (describedArn !== config.cluster.arn) {
    return `the cluster named ${config.cluster.name} is ${describedArn}, but the platform config says ${config.cluster.arn} (cluster.accountId, cluster.region): fix the config or the credentials`;
  }
  return undefined;
}

/** Describes the configured cluster; throws ClusterIdentityError when it is another one or cannot be described. */
export async function verifyClusterIdentity(config: PlatformConfig, eks: EKSClient): Promise<void> {
  let arn: string | undefined;
  try {
    arn = (await eks.send(new DescribeClusterCommand({ name: config.cluster.name }))).cluster?.arn;
  } catch (err) {
    throw new ClusterIdentityError(
      `cannot confirm the cluster is ${config.cluster.arn}: EKS DescribeCluster answered ${awsErrorCode(err) ?? 'an error'}: ${awsErrorMessage(err)} (the controller needs eks:DescribeCluster on its cluster)`,
    );
  }
  const mismatch = clusterMismatch(config, arn);
  if (mismatch) throw new ClusterIdentityError(mismatch);
}
