// The AWS fake's credential exchanges against AWS's documented behaviour, with
// an in-memory IAM (no moto) and jose-signed service-account tokens:
// - EKS Auth AssumeRoleForPodIdentity: the association role's trust is
//   evaluated with the six session tags EKS sets, unless the association
//   disables session tags; a target role is assumed by the association's role
//   (role chaining) with the association's external ID; the session policy is
//   passed with the final assume.
// - STS AssumeRoleWithWebIdentity: InvalidIdentityToken when the role's account
//   has no IAM OIDC provider for the token's issuer, or the provider's client
//   ID list lacks the token's audience.
import { beforeAll, describe, expect, it } from '@jest/globals';
import type { FakeResponse } from '../../testbed/awsfake/protocol.js';
import { PropagationTracker } from '../../testbed/awsfake/propagation.js';
import { assumeRoleWithWebIdentity } from '../../testbed/awsfake/sts-webidentity.js';
import { awsRejection as rejection, exchangeWorld, tokenIssuer, type ExchangeWorld as World, type TokenIssuer } from '../harness/awsfake-memory.js';

const ACCOUNT = '111122223333';
const OTHER = '444455556666';
const ISSUER = 'https://oidc.example.test/id/ABC';
const HOST_PATH = 'oidc.example.test/id/ABC';
const CLUSTER = 'demo';
const CLUSTER_ARN = `arn:aws:eks:us-east-1:${ACCOUNT}:cluster/${CLUSTER}`;
const PODS = 'pods.eks.amazonaws.com';

let tokens: TokenIssuer;
beforeAll(async () => {
  tokens = await tokenIssuer(ISSUER);
});

const podToken = (namespace: string, serviceAccount: string, audience: string[]): Promise<string> => tokens.podToken({ namespace, serviceAccount, audience });
const world = (): World => exchangeWorld({ name: CLUSTER, accountId: ACCOUNT, region: 'us-east-1', issuer: ISSUER, jwks: tokens.jwks });
const body = (out: FakeResponse): Record<string, any> => JSON.parse(String(out.body)) as Record<string, any>;

/** The trust awi-like tools write: EKS Auth may assume and tag, only for this namespace/ServiceAccount on this cluster. */
function scopedPodTrust(namespace: string, sa: string): object {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Service: PODS },
        Action: ['sts:AssumeRole', 'sts:TagSession'],
        Condition: {
          StringEquals: {
            'aws:RequestTag/kubernetes-namespace': namespace,
            'aws:RequestTag/kubernetes-service-account': sa,
            'aws:RequestTag/eks-cluster-arn': CLUSTER_ARN,
          },
        },
      },
    ],
  };
}

function chainTrust(principalRoleArn: string, externalId?: string, actions = ['sts:AssumeRole', 'sts:TagSession']): object {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: principalRoleArn },
        Action: actions,
        ...(externalId !== undefined ? { Condition: { StringEquals: { 'sts:ExternalId': externalId } } } : {}),
      },
    ],
  };
}

describe('EKS Auth AssumeRoleForPodIdentity: session tags', () => {
  it('passes the six session tags, so a trust conditioned on them admits the right ServiceAccount only', async () => {
    const w = world();
    const role = w.iam.role(`arn:aws:iam::${ACCOUNT}:role/app`, scopedPodTrust('team-a', 'app'));
    w.associate({ namespace: 'team-a', serviceAccount: 'app', roleArn: role });
    w.associate({ namespace: 'team-b', serviceAccount: 'app', roleArn: role });

    const out = await w.exchange(await podToken('team-a', 'app', [PODS]));
    expect(body(out).assumedRoleUser.arn).toMatch(new RegExp(`^arn:aws:sts::${ACCOUNT}:assumed-role/app/`));
    expect(out.detail?.sessionTags).toEqual({
      'eks-cluster-arn': CLUSTER_ARN,
      'eks-cluster-name': CLUSTER,
      'kubernetes-namespace': 'team-a',
      'kubernetes-service-account': 'app',
      'kubernetes-pod-name': 'app-7d9f',
      'kubernetes-pod-uid': 'pod-uid-1',
    });
    // Same role, another namespace: the kubernetes-namespace tag does not match the trust.
    expect((await rejection(w.exchange(await podToken('team-b', 'app', [PODS])))).code).toBe('AccessDeniedException');
  });

  it('disableSessionTags=true: no tags, so a trust that needs them refuses (AccessDeniedException); one that does not still admits', async () => {
    const w = world();
    const scoped = w.iam.role(`arn:aws:iam::${ACCOUNT}:role/scoped`, scopedPodTrust('ns', 'scoped'));
    const plain = w.iam.role(`arn:aws:iam::${ACCOUNT}:role/plain`, { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: PODS }, Action: 'sts:AssumeRole' }] });
    const a = w.associate({ namespace: 'ns', serviceAccount: 'scoped', roleArn: scoped });
    w.associate({ namespace: 'ns', serviceAccount: 'plain', roleArn: plain, disableSessionTags: true });
    await expect(w.exchange(await podToken('ns', 'scoped', [PODS]))).resolves.toBeDefined();

    w.eks.handle({ method: 'POST', path: `/clusters/${CLUSTER}/pod-identity-associations/${a.associationId}`, query: new URLSearchParams(), body: Buffer.from('{"disableSessionTags":true}') });
    const err = await rejection(w.exchange(await podToken('ns', 'scoped', [PODS])));
    expect(err.code).toBe('AccessDeniedException');
    expect(err.message).toContain('aws:RequestTag/kubernetes-namespace');

    // A trust without sts:TagSession and without tag conditions works when tags are disabled...
    const out = await w.exchange(await podToken('ns', 'plain', [PODS]));
    expect(out.detail?.sessionTags).toBeNull();
    // ...and not when they are enabled (EKS Auth then needs sts:TagSession).
    const plainAssoc = w.eks.find(CLUSTER, 'ns', 'plain')!;
    plainAssoc.disableSessionTags = false;
    expect((await rejection(w.exchange(await podToken('ns', 'plain', [PODS])))).message).toContain('sts:TagSession');
  });
});

describe('EKS Auth AssumeRoleForPodIdentity: target role (role chaining)', () => {
  it('returns credentials for the target role when its trust allows the association role with the external ID', async () => {
    const w = world();
    const first = w.iam.role(`arn:aws:iam::${ACCOUNT}:role/first`, scopedPodTrust('ns', 'app'));
    const a = w.associate({ namespace: 'ns', serviceAccount: 'app', roleArn: first, targetRoleArn: `arn:aws:iam::${OTHER}:role/target` });
    w.iam.role(`arn:aws:iam::${OTHER}:role/target`, chainTrust(first, a.externalId as string));
    const out = await w.exchange(await podToken('ns', 'app', [PODS]));
    expect(body(out).assumedRoleUser.arn).toMatch(new RegExp(`^arn:aws:sts::${OTHER}:assumed-role/target/`));
    expect(body(out).assumedRoleUser.assumeRoleId).toMatch(/^AROATARGET:/);
    expect(w.iam.mints.map((m) => m.roleArn)).toEqual([`arn:aws:iam::${OTHER}:role/target`]);
    expect(out.detail).toMatchObject({ roleArn: first, targetRoleArn: `arn:aws:iam::${OTHER}:role/target`, assumedRoleArn: `arn:aws:iam::${OTHER}:role/target` });
  });

  it('refuses when the target role does not trust the association role, or the external ID differs, or the target is missing', async () => {
    const w = world();
    const first = w.iam.role(`arn:aws:iam::${ACCOUNT}:role/first`, scopedPodTrust('ns', 'app'));
    const someoneElse = `arn:aws:iam::${ACCOUNT}:role/someone-else`;
    const target = w.iam.role(`arn:aws:iam::${OTHER}:role/target`, chainTrust(someoneElse));
    const a = w.associate({ namespace: 'ns', serviceAccount: 'app', roleArn: first, targetRoleArn: target });
    const token = await podToken('ns', 'app', [PODS]);
    expect((await rejection(w.exchange(token))).message).toContain(`does not allow ${first}`);

    w.iam.role(target, chainTrust(first, 'not-the-association-external-id'));
    expect((await rejection(w.exchange(token))).message).toContain('sts:ExternalId');

    // With tags on, the target must also allow sts:TagSession.
    w.iam.role(target, chainTrust(first, a.externalId as string, ['sts:AssumeRole']));
    expect((await rejection(w.exchange(token))).message).toContain('sts:TagSession');

    w.iam.roles.delete(target);
    expect((await rejection(w.exchange(token))).message).toContain('does not exist');
    expect(w.iam.mints).toEqual([]);
  });

  it('the association role itself must still trust EKS Auth', async () => {
    const w = world();
    const first = w.iam.role(`arn:aws:iam::${ACCOUNT}:role/first`, chainTrust(`arn:aws:iam::${ACCOUNT}:role/x`));
    const a = w.associate({ namespace: 'ns', serviceAccount: 'app', roleArn: first, targetRoleArn: `arn:aws:iam::${OTHER}:role/target` });
    w.iam.role(`arn:aws:iam::${OTHER}:role/target`, chainTrust(first, a.externalId as string));
    expect((await rejection(w.exchange(await podToken('ns', 'app', [PODS])))).message).toContain(`does not allow ${PODS}`);
  });
});

describe('EKS Auth AssumeRoleForPodIdentity: session policy', () => {
  it('passes the association policy with the final assume and records it', async () => {
    const w = world();
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' }] });
    const role = w.iam.role(`arn:aws:iam::${ACCOUNT}:role/app`, { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: PODS }, Action: 'sts:AssumeRole' }] });
    w.associate({ namespace: 'ns', serviceAccount: 'app', roleArn: role, disableSessionTags: true, policy });
    const out = await w.exchange(await podToken('ns', 'app', [PODS]));
    expect(out.detail?.sessionPolicy).toBe(policy);
    expect(w.iam.mints).toEqual([{ roleArn: role, sessionPolicy: policy }]);
  });
});

describe('STS AssumeRoleWithWebIdentity: the IAM OIDC provider', () => {
  function irsaTrust(accountId: string): object {
    return {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: `arn:aws:iam::${accountId}:oidc-provider/${HOST_PATH}` },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: { StringEquals: { [`${HOST_PATH}:sub`]: 'system:serviceaccount:ns:app', [`${HOST_PATH}:aud`]: 'sts.amazonaws.com' } },
        },
      ],
    };
  }

  async function exchange(w: World, roleArn: string, aud = ['sts.amazonaws.com']): Promise<FakeResponse> {
    const params = new URLSearchParams({ RoleArn: roleArn, RoleSessionName: 'test', WebIdentityToken: await podToken('ns', 'app', aud) });
    return assumeRoleWithWebIdentity({ verifier: w.verifier, iam: w.iam, propagation: new PropagationTracker(0) }, params);
  }

  it('InvalidIdentityToken when the role account has no provider for the issuer (another account having one does not help)', async () => {
    const w = world();
    const role = w.iam.role(`arn:aws:iam::${OTHER}:role/app`, irsaTrust(OTHER));
    w.iam.provider(ACCOUNT, HOST_PATH, ['sts.amazonaws.com']);
    const err = await rejection(exchange(w, role));
    expect(err).toMatchObject({ code: 'InvalidIdentityToken', status: 400 });
    expect(err.message).toContain(ISSUER);
    w.iam.provider(OTHER, HOST_PATH, ['sts.amazonaws.com']);
    expect(String((await exchange(w, role)).body)).toContain(`<Arn>arn:aws:sts::${OTHER}:assumed-role/app/test</Arn>`);
  });

  it('InvalidIdentityToken when the provider client IDs lack the token audience', async () => {
    const w = world();
    const role = w.iam.role(`arn:aws:iam::${ACCOUNT}:role/app`, irsaTrust(ACCOUNT));
    w.iam.provider(ACCOUNT, HOST_PATH, ['vault']);
    const err = await rejection(exchange(w, role));
    expect(err.code).toBe('InvalidIdentityToken');
    expect(err.message).toContain('audience');
    w.iam.provider(ACCOUNT, HOST_PATH, ['vault', 'sts.amazonaws.com']);
    expect((await exchange(w, role)).status).toBe(200);
    expect(w.iam.mints).toEqual([{ roleArn: role }]);
  });
});
