// Every example compiles to the properties its README lists, checked one by
// one (test/fixtures/examples.md; the claims are read from deploy/examples/).

import { describe, expect, it } from '@jest/globals';
import { compileClaim } from '../../src/compiler/index.js';
import type { DesiredState } from '../../src/compiler/types.js';
import { exampleConfig, loadExample } from '../fixtures/claims.js';
import { allActions, allResources, granting, list, onlyStatementGranting, resourcesFor } from '../fixtures/policy.js';

function compiled(name: string): DesiredState {
  const result = compileClaim(loadExample(name), exampleConfig());
  if (!result.ok) throw new Error(`${name} did not compile: ${JSON.stringify(result.problems)}`);
  return result.desired;
}

const BOUNDARY = 'arn:aws:iam::111122223333:policy/awi-workload-boundary';
const ISSUER = 'oidc.eks.ap-southeast-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE';

describe('checkout-api-s3-read.yaml (Pod Identity)', () => {
  const d = compiled('checkout-api-s3-read');
  const policy = d.permissionPolicy.document;

  it('s3:ListBucket on the bucket ARN only, with StringLike s3:prefix limited to the prefix', () => {
    const list_ = onlyStatementGranting(policy, 's3:ListBucket');
    expect(list(list_.Resource)).toEqual(['arn:aws:s3:::company-prod-data']);
    expect(list_.Condition).toEqual({ StringLike: { 's3:prefix': ['checkout-api/', 'checkout-api/*'] } });
  });

  it('s3:GetObject on the prefix only', () => {
    expect(resourcesFor(policy, 's3:GetObject')).toEqual(['arn:aws:s3:::company-prod-data/checkout-api/*']);
  });

  it('no other S3 action, no * in any action, no other bucket', () => {
    expect(allActions(policy)).toEqual(['s3:GetObject', 's3:ListBucket']);
    expect(allActions(policy).some((a) => a.includes('*'))).toBe(false);
    for (const resource of allResources(policy)) expect(resource.startsWith('arn:aws:s3:::company-prod-data')).toBe(true);
    expect(allResources(policy)).toEqual(['arn:aws:s3:::company-prod-data', 'arn:aws:s3:::company-prod-data/checkout-api/*']);
  });

  it('trust: principal service pods.eks.amazonaws.com with sts:AssumeRole and sts:TagSession', () => {
    expect(d.mechanism).toBe('PodIdentity');
    const [statement, ...others] = d.role.trustPolicy.Statement;
    expect(others).toEqual([]);
    expect(statement!.Principal).toEqual({ Service: 'pods.eks.amazonaws.com' });
    expect(list(statement!.Action).sort()).toEqual(['sts:AssumeRole', 'sts:TagSession']);
    // Narrowed to this cluster, namespace and ServiceAccount through the Pod Identity session tags.
    expect(statement!.Condition?.StringEquals).toEqual({
      'aws:RequestTag/eks-cluster-arn': 'arn:aws:eks:ap-southeast-1:111122223333:cluster/prod-platform-a',
      'aws:RequestTag/kubernetes-namespace': 'checkout-prod',
      'aws:RequestTag/kubernetes-service-account': 'checkout-api-aws-sa',
    });
  });

  it('binding: a Pod Identity association for the cluster, namespace and ServiceAccount, pointing at the role', () => {
    expect(d.binding).toEqual({
      kind: 'PodIdentityAssociation',
      clusterName: 'prod-platform-a',
      namespace: 'checkout-prod',
      serviceAccount: 'checkout-api-aws-sa',
      roleArn: d.role.arn,
      tags: d.role.tags,
    });
  });

  it('the ServiceAccount carries no role-arn annotation', () => {
    expect(d.serviceAccount.annotations).toEqual({});
    expect(d.serviceAccount).toMatchObject({ namespace: 'checkout-prod', name: 'checkout-api-aws-sa' });
  });

  it('the role carries the permissions boundary and the ownership tags', () => {
    expect(d.role.permissionsBoundaryArn).toBe(BOUNDARY);
    expect(d.role.tags).toEqual({
      'awi.dev/managed-by': 'awi',
      'awi.dev/cluster': 'arn:aws:eks:ap-southeast-1:111122223333:cluster/prod-platform-a',
      'awi.dev/namespace': 'checkout-prod',
      'awi.dev/claim': 'checkout-api-s3-read',
      'awi.dev/owner': 'checkout-team',
      'awi.dev/environment': 'prod',
      platform: 'awi',
    });
    expect(d.role.name).toBe('prod-platform-a-checkout-prod-checkout-api-aws-sa');
    expect(d.role.arn).toBe('arn:aws:iam::111122223333:role/awi/prod-platform-a-checkout-prod-checkout-api-aws-sa');
  });
});

describe('billing-worker-sqs.yaml (IRSA)', () => {
  const d = compiled('billing-worker-sqs');
  const policy = d.permissionPolicy.document;
  const queue = 'arn:aws:sqs:ap-southeast-1:111122223333:checkout-events-prod';

  it('sqs:SendMessage, GetQueueAttributes, GetQueueUrl on the queue only; no receive or delete', () => {
    expect(allActions(policy)).toEqual(['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage']);
    for (const action of allActions(policy)) expect(resourcesFor(policy, action)).toEqual([queue]);
    expect(granting(policy, 'sqs:ReceiveMessage')).toEqual([]);
    expect(granting(policy, 'sqs:DeleteMessage')).toEqual([]);
  });

  it('trust: the OIDC provider, sts:AssumeRoleWithWebIdentity, StringEquals on sub and aud, no StringLike', () => {
    expect(d.mechanism).toBe('IRSA');
    const [statement, ...others] = d.role.trustPolicy.Statement;
    expect(others).toEqual([]);
    expect(statement!.Principal).toEqual({ Federated: `arn:aws:iam::111122223333:oidc-provider/${ISSUER}` });
    expect(list(statement!.Action)).toEqual(['sts:AssumeRoleWithWebIdentity']);
    expect(statement!.Condition).toEqual({
      StringEquals: {
        [`${ISSUER}:sub`]: 'system:serviceaccount:billing-prod:billing-worker-aws-sa',
        [`${ISSUER}:aud`]: 'sts.amazonaws.com',
      },
    });
    expect(JSON.stringify(d.role.trustPolicy)).not.toContain('StringLike');
    expect(JSON.stringify(d.role.trustPolicy)).not.toContain('*');
  });

  it('binding: the ServiceAccount annotated eks.amazonaws.com/role-arn with the role ARN', () => {
    expect(d.binding).toEqual({
      kind: 'IRSAAnnotation',
      namespace: 'billing-prod',
      serviceAccount: 'billing-worker-aws-sa',
      annotations: { 'eks.amazonaws.com/role-arn': d.role.arn },
    });
    expect(d.serviceAccount.annotations).toEqual({ 'eks.amazonaws.com/role-arn': d.role.arn });
    expect(d.serviceAccount.name).toBe('billing-worker-aws-sa');
  });
});

describe('catalog-reader-dynamodb.yaml (default mechanism)', () => {
  const d = compiled('catalog-reader-dynamodb');
  const policy = d.permissionPolicy.document;
  const table = 'arn:aws:dynamodb:ap-southeast-1:111122223333:table/product-catalog-prod';

  it('takes the mechanism from the config', () => {
    expect(d.mechanism).toBe('PodIdentity');
    expect(d.binding.kind).toBe('PodIdentityAssociation');
  });

  it('GetItem, BatchGetItem, Query, DescribeTable on the table and its indexes; no Scan', () => {
    expect(allActions(policy)).toEqual(['dynamodb:BatchGetItem', 'dynamodb:DescribeTable', 'dynamodb:GetItem', 'dynamodb:Query']);
    for (const action of allActions(policy)) expect(resourcesFor(policy, action)).toEqual([table, `${table}/index/*`]);
    expect(granting(policy, 'dynamodb:Scan')).toEqual([]);
  });

  it('no write action', () => {
    for (const write of ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']) expect(granting(policy, `dynamodb:${write}`)).toEqual([]);
  });
});

describe('invoice-exporter.yaml (Pod Identity)', () => {
  const d = compiled('invoice-exporter');
  const policy = d.permissionPolicy.document;
  const key = 'arn:aws:kms:ap-southeast-1:111122223333:key/12345678-1234-1234-1234-123456789012';

  it('s3:PutObject on the invoices prefix only; no DeleteObject, no read', () => {
    expect(resourcesFor(policy, 's3:PutObject')).toEqual(['arn:aws:s3:::company-prod-finance/invoices/*']);
    expect(allActions(policy).filter((a) => a.startsWith('s3:'))).toEqual(['s3:PutObject']);
    expect(granting(policy, 's3:DeleteObject')).toEqual([]);
    expect(granting(policy, 's3:GetObject')).toEqual([]);
  });

  it('sqs:SendMessage plus lookups on invoice-exported-prod; no receive, no delete', () => {
    const queue = 'arn:aws:sqs:ap-southeast-1:111122223333:invoice-exported-prod';
    expect(allActions(policy).filter((a) => a.startsWith('sqs:'))).toEqual(['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage']);
    expect(resourcesFor(policy, 'sqs:SendMessage')).toEqual([queue]);
    expect(granting(policy, 'sqs:ReceiveMessage')).toEqual([]);
    expect(granting(policy, 'sqs:DeleteMessage')).toEqual([]);
  });

  it('KMS on the named key only: GenerateDataKey, Decrypt and Encrypt, each with kms:ViaService = s3.<region>', () => {
    for (const action of ['kms:GenerateDataKey', 'kms:Decrypt', 'kms:Encrypt']) {
      const statements = granting(policy, action);
      expect(statements.length).toBeGreaterThan(0);
      for (const s of statements) {
        expect(list(s.Resource)).toEqual([key]);
        expect(s.Condition).toEqual({ StringEquals: { 'kms:ViaService': 's3.ap-southeast-1.amazonaws.com' } });
      }
    }
    expect(allActions(policy).filter((a) => a.startsWith('kms:'))).toEqual(['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey']);
  });
});

describe('image-builder-ecr-pull.yaml (Pod Identity)', () => {
  const d = compiled('image-builder-ecr-pull');
  const policy = d.permissionPolicy.document;
  const repositories = [
    'arn:aws:ecr:ap-southeast-1:111122223333:repository/base-images/node',
    'arn:aws:ecr:ap-southeast-1:111122223333:repository/build-prod/image-builder',
  ];

  it('BatchGetImage, GetDownloadUrlForLayer and BatchCheckLayerAvailability on the two repositories only', () => {
    for (const action of ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability']) {
      expect(resourcesFor(policy, action)).toEqual(repositories);
    }
  });

  it('registry login: ecr:GetAuthorizationToken alone on "*", the only "*" of the policy', () => {
    const login = onlyStatementGranting(policy, 'ecr:GetAuthorizationToken');
    expect([list(login.Action), list(login.Resource)]).toEqual([['ecr:GetAuthorizationToken'], ['*']]);
    expect(policy.Statement.filter((s) => list(s.Resource).includes('*'))).toEqual([login]);
  });

  it('no other ECR action (no push, no repository listing), no wildcard action', () => {
    expect(allActions(policy)).toEqual(['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetAuthorizationToken', 'ecr:GetDownloadUrlForLayer']);
  });

  it('binding: a Pod Identity association for build-prod/image-builder-aws-sa', () => {
    expect(d.binding).toMatchObject({ kind: 'PodIdentityAssociation', namespace: 'build-prod', serviceAccount: 'image-builder-aws-sa', roleArn: d.role.arn });
  });
});

describe('every example', () => {
  it.each(['checkout-api-s3-read', 'billing-worker-sqs', 'catalog-reader-dynamodb', 'invoice-exporter', 'image-builder-ecr-pull'])(
    '%s compiles to byte-identical output twice, with digests of the canonical policies',
    (name) => {
      const a = JSON.stringify(compiled(name));
      const b = JSON.stringify(compiled(name));
      expect(a).toBe(b);
      expect(compiled(name).digests.policy).toMatch(/^sha256:[0-9a-f]{64}$/);
    },
  );
});
