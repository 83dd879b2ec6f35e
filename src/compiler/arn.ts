// ARN building blocks. Partitions matter outside the commercial regions:
// arn:aws-cn:... in China, arn:aws-us-gov:... in GovCloud.

export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  if (region.startsWith('us-isof-')) return 'aws-iso-f';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  if (region.startsWith('eu-isoe-')) return 'aws-iso-e';
  if (region.startsWith('eusc-')) return 'aws-eusc';
  return 'aws';
}

export function iamRoleArn(partition: string, accountId: string, path: string, name: string): string {
  return `arn:${partition}:iam::${accountId}:role${path}${name}`;
}

export function eksClusterArn(partition: string, region: string, accountId: string, name: string): string {
  return `arn:${partition}:eks:${region}:${accountId}:cluster/${name}`;
}

/** https://oidc.eks.r.amazonaws.com/id/X/ -> oidc.eks.r.amazonaws.com/id/X (the IAM condition-key prefix). */
export function issuerHostPath(url: string): string {
  return url.replace(/^https:\/\//, '').replace(/\/+$/, '');
}

export function oidcProviderArn(partition: string, accountId: string, hostPath: string): string {
  return `arn:${partition}:iam::${accountId}:oidc-provider/${hostPath}`;
}

export interface ParsedArn {
  partition: string;
  service: string;
  region: string;
  account: string;
  resource: string;
}

export function parseArn(arn: string): ParsedArn | undefined {
  const parts = arn.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') return undefined;
  const [, partition = '', service = '', region = '', account = ''] = parts;
  return { partition, service, region, account, resource: parts.slice(5).join(':') };
}
