// Acceptance tests of the AWS fake on the test bed: real ServiceAccount tokens
// from the control plane, real AWS SDK v3 clients through AWS_ENDPOINT_URL.
import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api } from '@kubernetes/client-node';
import {
  CreateOpenIDConnectProviderCommand,
  CreateRoleCommand,
  DeleteOpenIDConnectProviderCommand,
  GetOpenIDConnectProviderCommand,
  GetRoleCommand,
  ListOpenIDConnectProvidersCommand,
  IAMClient,
  NoSuchEntityException,
} from '@aws-sdk/client-iam';
import {
  AssumeRoleWithWebIdentityCommand,
  ExpiredTokenException,
  GetCallerIdentityCommand,
  InvalidIdentityTokenException,
  STSClient,
} from '@aws-sdk/client-sts';
import {
  CreatePodIdentityAssociationCommand,
  DeletePodIdentityAssociationCommand,
  DescribeAddonCommand,
  DescribeClusterCommand,
  DescribePodIdentityAssociationCommand,
  ListAddonsCommand,
  EKSClient,
  InvalidParameterException,
  ListPodIdentityAssociationsCommand,
  paginateListPodIdentityAssociations,
  ResourceInUseException,
  ResourceNotFoundException,
  UpdatePodIdentityAssociationCommand,
} from '@aws-sdk/client-eks';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { awsClientConfig, awsFake, freshNamespace, kubeConfig, testbed } from '../../testbed/harness/testbed.js';
import { assumeRoleForPodIdentity, EksAuthError } from '../../testbed/awsfake/client.js';

const SA = 's3-reader';
const STS_AUD = 'sts.amazonaws.com';
const PODS = 'pods.eks.amazonaws.com';

const iam = (): IAMClient => new IAMClient(awsClientConfig());
const sts = (): STSClient => new STSClient(awsClientConfig());
const eks = (): EKSClient => new EKSClient(awsClientConfig());

function hostPath(): string {
  return testbed().issuer.replace(/^https?:\/\//, '').replace(/\/+$/, '');
}

function providerArn(): string {
  return `arn:aws:iam::${testbed().accountId}:oidc-provider/${hostPath()}`;
}

async function serviceAccount(namespace: string, name = SA): Promise<void> {
  await kubeConfig().makeApiClient(CoreV1Api).createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
}

async function saToken(namespace: string, name: string, audiences: string[]): Promise<string> {
  const tr = await kubeConfig()
    .makeApiClient(CoreV1Api)
    .createNamespacedServiceAccountToken({ name, namespace, body: { spec: { audiences, expirationSeconds: 600 } } });
  return tr.status!.token!;
}

function irsaTrust(namespace: string, sa = SA): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: providerArn() },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: { StringEquals: { [`${hostPath()}:sub`]: `system:serviceaccount:${namespace}:${sa}`, [`${hostPath()}:aud`]: STS_AUD } },
      },
    ],
  });
}

function podIdentityTrust(service = PODS, actions = ['sts:AssumeRole', 'sts:TagSession']): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: actions }] });
}

async function createRole(name: string, trust: string): Promise<string> {
  const out = await iam().send(new CreateRoleCommand({ RoleName: name, Path: '/awi/', AssumeRolePolicyDocument: trust }));
  return out.Role!.Arn!;
}

async function webIdentity(roleArn: string, token: string) {
  return sts().send(new AssumeRoleWithWebIdentityCommand({ RoleArn: roleArn, RoleSessionName: 'test', WebIdentityToken: token }));
}

/** The IAM OIDC provider for the test issuer (created once per reset). */
async function ensureProvider(): Promise<void> {
  try {
    await iam().send(new CreateOpenIDConnectProviderCommand({ Url: testbed().issuer, ClientIDList: [STS_AUD, 'vault'], ThumbprintList: ['0'.repeat(40)] }));
  } catch (err) {
    if ((err as Error).name !== 'EntityAlreadyExistsException') throw err;
  }
}

beforeAll(async () => {
  await awsFake().reset();
});

afterEach(async () => {
  await awsFake().clearFaults();
  await awsFake().setPropagationLag(0);
});

describe('IRSA: STS AssumeRoleWithWebIdentity on the real issuer', () => {
  it('pins the namespace: demo/s3-reader gets credentials, the same SA name elsewhere gets AccessDenied', async () => {
    await awsFake().reset();
    const demo = await freshNamespace('demo');
    const demo2 = await freshNamespace('demo2');
    await serviceAccount(demo);
    await serviceAccount(demo2);
    const roleArn = await createRole('irsa-s3-reader', irsaTrust(demo));
    const good = await saToken(demo, SA, [STS_AUD]);

    // No IAM OIDC provider for the issuer yet: the token is not accepted at all.
    await expect(webIdentity(roleArn, good)).rejects.toBeInstanceOf(InvalidIdentityTokenException);
    await ensureProvider();

    const out = await webIdentity(roleArn, good);
    expect(out.Credentials?.AccessKeyId).toBeTruthy();
    expect(out.Credentials?.SessionToken).toBeTruthy();
    expect(out.Credentials!.Expiration!.getTime()).toBeGreaterThan(Date.now());
    expect(out.SubjectFromWebIdentityToken).toBe(`system:serviceaccount:${demo}:${SA}`);
    expect(out.Audience).toBe(STS_AUD);
    expect(out.Provider).toBe(providerArn());
    expect(out.AssumedRoleUser?.Arn).toBe(`arn:aws:sts::${testbed().accountId}:assumed-role/irsa-s3-reader/test`);
    expect(out.AssumedRoleUser?.AssumedRoleId).toMatch(/^ARO[A-Z0-9]+:test$/);

    // moto knows the minted credentials.
    const who = await new STSClient({
      ...awsClientConfig(),
      credentials: { accessKeyId: out.Credentials!.AccessKeyId!, secretAccessKey: out.Credentials!.SecretAccessKey!, sessionToken: out.Credentials!.SessionToken! },
    }).send(new GetCallerIdentityCommand({}));
    expect(who.Arn).toBe(`arn:aws:sts::${testbed().accountId}:assumed-role/irsa-s3-reader/test`);

    // Same ServiceAccount name, other namespace.
    const other = await saToken(demo2, SA, [STS_AUD]);
    await expect(webIdentity(roleArn, other)).rejects.toMatchObject({
      name: 'AccessDenied',
      message: 'Not authorized to perform sts:AssumeRoleWithWebIdentity',
      $metadata: { httpStatusCode: 403 },
    });
  });

  it('refuses tokens for another audience, forged tokens and unknown roles', async () => {
    await ensureProvider();
    const ns = await freshNamespace('demo');
    await serviceAccount(ns);
    const roleArn = await createRole(`irsa-aud-${ns}`, irsaTrust(ns));

    // An audience the provider knows but the trust does not allow.
    await expect(webIdentity(roleArn, await saToken(ns, SA, ['vault']))).rejects.toMatchObject({ name: 'AccessDenied' });
    // An audience the provider does not know.
    const wrongAud = await webIdentity(roleArn, await saToken(ns, SA, ['something-else'])).catch((e: unknown) => e);
    expect(wrongAud).toBeInstanceOf(InvalidIdentityTokenException);
    expect(wrongAud).toMatchObject({ message: 'Incorrect token audience', $metadata: { httpStatusCode: 400 } });
    // A token whose payload was changed after signing.
    const good = await saToken(ns, SA, [STS_AUD]);
    const [h, p, s] = good.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as { sub: string };
    claims.sub = `system:serviceaccount:${ns}:${SA}x`;
    const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
    await expect(webIdentity(roleArn, forged)).rejects.toBeInstanceOf(InvalidIdentityTokenException);
    // A role that does not exist.
    await expect(webIdentity(`arn:aws:iam::${testbed().accountId}:role/awi/nope`, good)).rejects.toMatchObject({ name: 'AccessDenied' });
    // The right token still works.
    await expect(webIdentity(roleArn, good)).resolves.toMatchObject({ Audience: STS_AUD });
  });

  it('evaluates StringLike on sub and rejects expired tokens of another (jose-signed) cluster', async () => {
    await ensureProvider();
    const ns = await freshNamespace('like');
    await serviceAccount(ns, 'app-a');
    await serviceAccount(ns, 'other');
    const trust = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: providerArn() },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: { StringLike: { [`${hostPath()}:sub`]: `system:serviceaccount:${ns}:app-*` }, StringEquals: { [`${hostPath()}:aud`]: STS_AUD } },
        },
      ],
    });
    const roleArn = await createRole(`irsa-like-${ns}`, trust);
    await expect(webIdentity(roleArn, await saToken(ns, 'app-a', [STS_AUD]))).resolves.toMatchObject({ Audience: STS_AUD });
    await expect(webIdentity(roleArn, await saToken(ns, 'other', [STS_AUD]))).rejects.toMatchObject({ name: 'AccessDenied' });

    // A second cluster with a key set we control, to sign an expired token.
    const fake = awsFake();
    const before = await fake.clusters();
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const issuer = 'https://oidc.example.test/id/ABC';
    await fake.setClusters([...before, { name: 'jose', issuer, jwks: { keys: [jwk] } }]);
    try {
      await iam().send(new CreateOpenIDConnectProviderCommand({ Url: issuer, ClientIDList: [STS_AUD], ThumbprintList: ['0'.repeat(40)] }));
      const joseProvider = `arn:aws:iam::${testbed().accountId}:oidc-provider/oidc.example.test/id/ABC`;
      const joseRole = await createRole(
        `irsa-jose-${ns}`,
        JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { Federated: joseProvider }, Action: 'sts:AssumeRoleWithWebIdentity', Condition: { StringEquals: { 'oidc.example.test/id/ABC:sub': 'system:serviceaccount:x:y' } } }],
        }),
      );
      const sign = (expSecondsFromNow: number) =>
        new SignJWT({})
          .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
          .setIssuer(issuer)
          .setSubject('system:serviceaccount:x:y')
          .setAudience(STS_AUD)
          .setIssuedAt(Math.floor(Date.now() / 1000) - 3600)
          .setExpirationTime(Math.floor(Date.now() / 1000) + expSecondsFromNow)
          .sign(privateKey);
      await expect(webIdentity(joseRole, await sign(600))).resolves.toMatchObject({ SubjectFromWebIdentityToken: 'system:serviceaccount:x:y' });
      await expect(webIdentity(joseRole, await sign(-600))).rejects.toBeInstanceOf(ExpiredTokenException);
      // The cluster's real token is not valid for the other provider's role.
      const realToken = await saToken(ns, 'app-a', [STS_AUD]);
      await expect(webIdentity(joseRole, realToken)).rejects.toMatchObject({ name: 'AccessDenied' });
    } finally {
      await fake.setClusters(before);
    }
  });
});

describe('EKS Pod Identity', () => {
  it('DescribeCluster returns the control plane issuer', async () => {
    const out = await eks().send(new DescribeClusterCommand({ name: testbed().clusterName }));
    expect(out.cluster?.identity?.oidc?.issuer).toBe(testbed().issuer);
    expect(out.cluster?.status).toBe('ACTIVE');
    expect(out.cluster?.arn).toBe(`arn:aws:eks:${testbed().region}:${testbed().accountId}:cluster/${testbed().clusterName}`);
    await expect(eks().send(new DescribeClusterCommand({ name: 'no-such-cluster' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('gives the associated SA credentials for the role, and refuses everything else', async () => {
    const { clusterName, awsEndpoint, accountId } = testbed();
    const ns = await freshNamespace('pi');
    for (const sa of [SA, 'no-assoc', 'bad-trust', 'no-tag']) await serviceAccount(ns, sa);
    const roleArn = await createRole(`pi-s3-reader-${ns}`, podIdentityTrust());
    const created = await eks().send(
      new CreatePodIdentityAssociationCommand({ clusterName, namespace: ns, serviceAccount: SA, roleArn, tags: { 'awi.dev/managed-by': 'awi' } }),
    );
    const a = created.association!;
    expect(a.associationId).toMatch(/^a-[a-z0-9]{17}$/);
    expect(a.associationArn).toBe(`arn:aws:eks:${testbed().region}:${accountId}:podidentityassociation/${clusterName}/${a.associationId}`);
    expect(a.tags).toEqual({ 'awi.dev/managed-by': 'awi' });
    expect(a.createdAt).toBeInstanceOf(Date);

    const out = await assumeRoleForPodIdentity(awsEndpoint, clusterName, await saToken(ns, SA, [PODS]));
    expect(out.subject).toEqual({ namespace: ns, serviceAccount: SA });
    expect(out.audience).toBe(PODS);
    expect(out.podIdentityAssociation).toEqual({ associationArn: a.associationArn, associationId: a.associationId });
    expect(out.assumedRoleUser.arn).toMatch(new RegExp(`^arn:aws:sts::${accountId}:assumed-role/pi-s3-reader-${ns}/eks-${clusterName}-`));
    expect(out.credentials.expiration.getTime()).toBeGreaterThan(Date.now() + 3600_000);
    const who = await new STSClient({ ...awsClientConfig(), credentials: out.credentials }).send(new GetCallerIdentityCommand({}));
    expect(who.Arn).toBe(out.assumedRoleUser.arn);

    // No association for this ServiceAccount.
    await expect(assumeRoleForPodIdentity(awsEndpoint, clusterName, await saToken(ns, 'no-assoc', [PODS]))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      $metadata: { httpStatusCode: 404 },
    });
    // Wrong audience.
    await expect(assumeRoleForPodIdentity(awsEndpoint, clusterName, await saToken(ns, SA, [STS_AUD]))).rejects.toMatchObject({ name: 'InvalidTokenException' });
    // A role that trusts someone else.
    const ec2Role = await createRole(`pi-ec2-${ns}`, podIdentityTrust('ec2.amazonaws.com'));
    await eks().send(new CreatePodIdentityAssociationCommand({ clusterName, namespace: ns, serviceAccount: 'bad-trust', roleArn: ec2Role }));
    const err = await assumeRoleForPodIdentity(awsEndpoint, clusterName, await saToken(ns, 'bad-trust', [PODS])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EksAuthError);
    expect(err).toMatchObject({ name: 'AccessDeniedException' });
    // sts:TagSession missing: refused unless the association disables session tags.
    const noTagRole = await createRole(`pi-notag-${ns}`, podIdentityTrust(PODS, ['sts:AssumeRole']));
    const noTag = await eks().send(new CreatePodIdentityAssociationCommand({ clusterName, namespace: ns, serviceAccount: 'no-tag', roleArn: noTagRole }));
    const noTagToken = await saToken(ns, 'no-tag', [PODS]);
    await expect(assumeRoleForPodIdentity(awsEndpoint, clusterName, noTagToken)).rejects.toMatchObject({ name: 'AccessDeniedException' });
    await eks().send(new UpdatePodIdentityAssociationCommand({ clusterName, associationId: noTag.association!.associationId, disableSessionTags: true }));
    await expect(assumeRoleForPodIdentity(awsEndpoint, clusterName, noTagToken)).resolves.toMatchObject({ subject: { serviceAccount: 'no-tag' } });
    // Unknown cluster.
    await expect(assumeRoleForPodIdentity(awsEndpoint, 'nope', noTagToken)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('association API: duplicates, validation, update, pagination, delete', async () => {
    const { clusterName } = testbed();
    const ns = await freshNamespace('assoc');
    const roleArn = await createRole(`assoc-${ns}`, podIdentityTrust());
    const role2 = await createRole(`assoc2-${ns}`, podIdentityTrust());
    const client = eks();
    const first = await client.send(new CreatePodIdentityAssociationCommand({ clusterName, namespace: ns, serviceAccount: 'sa-0', roleArn }));
    await expect(client.send(new CreatePodIdentityAssociationCommand({ clusterName, namespace: ns, serviceAccount: 'sa-0', roleArn }))).rejects.toBeInstanceOf(
      ResourceInUseException,
    );
    await expect(
      client.send(new CreatePodIdentityAssociationCommand({ clusterName, namespace: ns, serviceAccount: 'sa-x', roleArn: 'arn:aws:iam::111122223333:user/bob' })),
    ).rejects.toBeInstanceOf(InvalidParameterException);
    await expect(client.send(new CreatePodIdentityAssociationCommand({ clusterName: 'nope', namespace: ns, serviceAccount: 'sa-x', roleArn }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );

    const ids = [first.association!.associationId!];
    for (let i = 1; i < 5; i++) {
      ids.push((await client.send(new CreatePodIdentityAssociationCommand({ clusterName, namespace: ns, serviceAccount: `sa-${i}`, roleArn }))).association!.associationId!);
    }
    // Pages of one, by hand and with the SDK paginator.
    const seen: string[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await client.send(new ListPodIdentityAssociationsCommand({ clusterName, namespace: ns, maxResults: 1, ...(nextToken ? { nextToken } : {}) }));
      expect(page.associations).toHaveLength(1);
      seen.push(page.associations![0]!.associationId!);
      nextToken = page.nextToken;
      pages++;
    } while (nextToken);
    expect(pages).toBe(5);
    expect(seen).toEqual(ids);
    const viaPaginator: string[] = [];
    for await (const page of paginateListPodIdentityAssociations({ client, pageSize: 2 }, { clusterName, namespace: ns })) {
      for (const s of page.associations ?? []) viaPaginator.push(s.associationId!);
    }
    expect(viaPaginator).toEqual(ids);
    const bySa = await client.send(new ListPodIdentityAssociationsCommand({ clusterName, namespace: ns, serviceAccount: 'sa-3' }));
    expect(bySa.associations?.map((s) => s.associationId)).toEqual([ids[3]]);
    await expect(client.send(new ListPodIdentityAssociationsCommand({ clusterName, nextToken: 'garbage' }))).rejects.toBeInstanceOf(InvalidParameterException);

    // Update the role.
    const updated = await client.send(new UpdatePodIdentityAssociationCommand({ clusterName, associationId: ids[1]!, roleArn: role2 }));
    expect(updated.association?.roleArn).toBe(role2);
    expect((await client.send(new DescribePodIdentityAssociationCommand({ clusterName, associationId: ids[1]! }))).association?.roleArn).toBe(role2);

    // Delete, then describe.
    const deleted = await client.send(new DeletePodIdentityAssociationCommand({ clusterName, associationId: ids[0]! }));
    expect(deleted.association?.associationId).toBe(ids[0]);
    await expect(client.send(new DescribePodIdentityAssociationCommand({ clusterName, associationId: ids[0]! }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(client.send(new DeletePodIdentityAssociationCommand({ clusterName, associationId: ids[0]! }))).rejects.toBeInstanceOf(ResourceNotFoundException);

    const all = await awsFake().associations();
    expect(all.filter((x) => x.namespace === ns).map((x) => x.associationId)).toEqual(ids.slice(1));
  });
});

describe('association target role, session tags, session policy; OIDC providers; add-ons', () => {
  it('role-chains to the target role with the external ID, honours disableSessionTags, and logs the session policy', async () => {
    const { clusterName, awsEndpoint, accountId } = testbed();
    const ns = await freshNamespace('chain');
    await serviceAccount(ns, 'app');
    // The association role: EKS Auth may assume it, only with this namespace's session tag.
    const first = await createRole(
      `chain-first-${ns}`,
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: PODS }, Action: ['sts:AssumeRole', 'sts:TagSession'], Condition: { StringEquals: { 'aws:RequestTag/kubernetes-namespace': ns } } }],
      }),
    );
    const created = await eks().send(new CreatePodIdentityAssociationCommand({ clusterName, namespace: ns, serviceAccount: 'app', roleArn: first }));
    const id = created.association!.associationId!;
    const token = await saToken(ns, 'app', [PODS]);
    expect((await assumeRoleForPodIdentity(awsEndpoint, clusterName, token)).assumedRoleUser.arn).toContain(`:assumed-role/chain-first-${ns}/`);

    // Target role: trusts the association role with the association's external ID (known after the update).
    const targetName = `chain-target-${ns}`;
    const targetArn = `arn:aws:iam::${accountId}:role/awi/${targetName}`;
    const updated = await eks().send(new UpdatePodIdentityAssociationCommand({ clusterName, associationId: id, targetRoleArn: targetArn }));
    expect(updated.association).toMatchObject({ roleArn: first, targetRoleArn: targetArn, disableSessionTags: false });
    const externalId = updated.association!.externalId!;
    expect(externalId).toBeTruthy();
    // Not created yet: refused.
    await expect(assumeRoleForPodIdentity(awsEndpoint, clusterName, token)).rejects.toMatchObject({ name: 'AccessDeniedException' });
    await createRole(
      targetName,
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: first }, Action: ['sts:AssumeRole', 'sts:TagSession'], Condition: { StringEquals: { 'sts:ExternalId': externalId } } }],
      }),
    );
    const chained = await assumeRoleForPodIdentity(awsEndpoint, clusterName, token);
    expect(chained.assumedRoleUser.arn).toContain(`:assumed-role/${targetName}/`);
    const who = await new STSClient({ ...awsClientConfig(), credentials: chained.credentials }).send(new GetCallerIdentityCommand({}));
    expect(who.Arn).toBe(chained.assumedRoleUser.arn);
    const described = await eks().send(new DescribePodIdentityAssociationCommand({ clusterName, associationId: id }));
    expect(described.association).toMatchObject({ targetRoleArn: targetArn, externalId });

    // Session tags off: the association role's trust needs the namespace tag, so EKS Auth is refused.
    await eks().send(new UpdatePodIdentityAssociationCommand({ clusterName, associationId: id, targetRoleArn: '', disableSessionTags: true }));
    await expect(assumeRoleForPodIdentity(awsEndpoint, clusterName, token)).rejects.toMatchObject({ name: 'AccessDeniedException' });

    // A session policy (needs session tags off) reaches the call log with the exchange.
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:ListBucket', Resource: '*' }] });
    await expect(eks().send(new UpdatePodIdentityAssociationCommand({ clusterName, associationId: id, policy, disableSessionTags: false }))).rejects.toBeInstanceOf(
      InvalidParameterException,
    );
    const plain = await createRole(`chain-plain-${ns}`, podIdentityTrust(PODS, ['sts:AssumeRole']));
    await eks().send(new UpdatePodIdentityAssociationCommand({ clusterName, associationId: id, roleArn: plain, policy }));
    const before = (await awsFake().callLog()).at(-1)?.seq ?? 0;
    await assumeRoleForPodIdentity(awsEndpoint, clusterName, token);
    const [entry] = await awsFake().callLog({ api: 'eks-auth:AssumeRoleForPodIdentity', sinceSeq: before });
    expect(entry?.detail).toMatchObject({ associationId: id, roleArn: plain, assumedRoleArn: plain, sessionTags: null, sessionPolicy: policy });
  });

  it('IAM OIDC providers reach moto through the front; a deleted provider makes AssumeRoleWithWebIdentity refuse', async () => {
    await ensureProvider();
    const ns = await freshNamespace('oidc');
    await serviceAccount(ns);
    const roleArn = await createRole(`irsa-oidc-${ns}`, irsaTrust(ns));
    const token = await saToken(ns, SA, [STS_AUD]);
    await expect(webIdentity(roleArn, token)).resolves.toMatchObject({ Provider: providerArn() });

    const calls0 = await awsFake().calls();
    const got = await iam().send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: providerArn() }));
    expect(got.ClientIDList).toEqual(expect.arrayContaining([STS_AUD]));
    const listed = await iam().send(new ListOpenIDConnectProvidersCommand({}));
    expect(listed.OpenIDConnectProviderList?.map((p) => p.Arn)).toContain(providerArn());
    await iam().send(new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: providerArn() }));
    await expect(iam().send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: providerArn() }))).rejects.toMatchObject({ name: 'NoSuchEntityException' });
    const calls1 = await awsFake().calls();
    expect((calls1['iam:GetOpenIDConnectProvider'] ?? 0) - (calls0['iam:GetOpenIDConnectProvider'] ?? 0)).toBe(2);
    expect((calls1['iam:DeleteOpenIDConnectProvider'] ?? 0) - (calls0['iam:DeleteOpenIDConnectProvider'] ?? 0)).toBe(1);

    const refused = await webIdentity(roleArn, token).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(InvalidIdentityTokenException);
    expect((refused as Error).message).toContain('No OpenIDConnect provider found');
    // Re-created without sts.amazonaws.com among its client IDs: still refused.
    await iam().send(new CreateOpenIDConnectProviderCommand({ Url: testbed().issuer, ClientIDList: ['vault'], ThumbprintList: ['0'.repeat(40)] }));
    await expect(webIdentity(roleArn, token)).rejects.toMatchObject({ name: 'InvalidIdentityTokenException', message: 'Incorrect token audience' });
    await iam().send(new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: providerArn() }));
    await ensureProvider();
    await expect(webIdentity(roleArn, token)).resolves.toMatchObject({ Provider: providerArn() });
  });

  it('DescribeAddon / ListAddons show the eks-pod-identity-agent add-on installed through the admin API', async () => {
    const { clusterName } = testbed();
    const name = 'eks-pod-identity-agent';
    await awsFake()
      .removeAddon(clusterName, name)
      .catch(() => undefined);
    await expect(eks().send(new DescribeAddonCommand({ clusterName, addonName: name }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    expect((await eks().send(new ListAddonsCommand({ clusterName }))).addons).not.toContain(name);
    await awsFake().installAddon(clusterName, name);
    const out = await eks().send(new DescribeAddonCommand({ clusterName, addonName: name }));
    expect(out.addon).toMatchObject({ addonName: name, clusterName, status: 'ACTIVE' });
    expect(out.addon?.createdAt).toBeInstanceOf(Date);
    expect((await eks().send(new ListAddonsCommand({ clusterName }))).addons).toContain(name);
    expect((await awsFake().addons()).map((a) => a.addonName)).toContain(name);
    await awsFake().removeAddon(clusterName, name);
    await expect(eks().send(new DescribeAddonCommand({ clusterName, addonName: name }))).rejects.toBeInstanceOf(ResourceNotFoundException);
  });
});

describe('faults, counters and the call log', () => {
  it('throttles half of CreateRole; the SDK retries and all 10 roles get created', async () => {
    const fake = awsFake();
    await fake.resetCalls();
    await fake.setFaults([{ api: 'iam:CreateRole', fault: 'throttle', rate: 0.5 }]);
    const client = new IAMClient({ ...awsClientConfig(), maxAttempts: 10 });
    const prefix = `thr-${Date.now().toString(36)}`;
    for (let i = 0; i < 10; i++) {
      await client.send(new CreateRoleCommand({ RoleName: `${prefix}-${i}`, AssumeRolePolicyDocument: podIdentityTrust() }));
    }
    for (let i = 0; i < 10; i++) await client.send(new GetRoleCommand({ RoleName: `${prefix}-${i}` }));
    const calls = await fake.calls();
    expect(calls['iam:CreateRole']).toBe(19); // exactly every second call throttled: 10 successes + 9 throttles
    expect(calls['iam:GetRole']).toBe(10);
    const log = await fake.callLog({ api: 'iam:CreateRole' });
    const throttled = log.filter((e) => e.outcome === 'Throttling');
    expect(throttled).toHaveLength(9);
    expect(throttled.every((e) => e.status === 400 && e.fault === 'throttle')).toBe(true);
    expect(log.filter((e) => e.outcome === 'ok')).toHaveLength(10);
    const [rule] = await fake.faults();
    expect(rule).toMatchObject({ seen: 19, injected: 9 });
  });

  it('5xx and throttling on EKS with maxCount, and added latency', async () => {
    const fake = awsFake();
    const { clusterName } = testbed();
    await fake.setFaults([
      { api: 'eks:DescribeCluster', fault: 'unavailable', maxCount: 2 },
      { api: 'eks:ListClusters', fault: 'throttle', maxCount: 1 },
      { api: 'sts:GetCallerIdentity', fault: 'latency', latencyMs: 300 },
    ]);
    const d = await eks().send(new DescribeClusterCommand({ name: clusterName }));
    expect(d.$metadata.attempts).toBe(3);
    const { ListClustersCommand } = await import('@aws-sdk/client-eks');
    const l = await eks().send(new ListClustersCommand({}));
    expect(l.clusters).toContain(clusterName);
    expect(l.$metadata.attempts).toBe(2);
    const t0 = Date.now();
    await sts().send(new GetCallerIdentityCommand({}));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    const log = await fake.callLog();
    expect(log.filter((e) => e.api === 'eks:DescribeCluster' && e.status === 503 && e.outcome === 'ServiceUnavailableException')).toHaveLength(2);
    expect(log.filter((e) => e.api === 'eks:ListClusters' && e.status === 429 && e.outcome === 'ThrottlingException')).toHaveLength(1);
    expect(log.some((e) => e.api === 'sts:GetCallerIdentity' && e.fault === 'latency' && e.latencyMs === 300 && e.outcome === 'ok')).toBe(true);

    // A fault that is never retried away: the caller sees the error.
    await fake.setFaults([{ api: 'iam:*', fault: 'internal' }]);
    await expect(new IAMClient({ ...awsClientConfig(), maxAttempts: 2 }).send(new GetRoleCommand({ RoleName: 'x' }))).rejects.toMatchObject({
      name: 'InternalFailure',
      $metadata: { httpStatusCode: 500, attempts: 2 },
    });
  });
});

describe('IAM propagation lag', () => {
  it('a new role is neither readable nor assumable until the lag has passed', async () => {
    const fake = awsFake();
    const { clusterName, awsEndpoint } = testbed();
    await ensureProvider();
    const ns = await freshNamespace('lag');
    await serviceAccount(ns);
    // A lag long enough that the checks below fit in it on a loaded machine.
    const lagMs = 4000;
    await fake.setPropagationLag(lagMs);
    const t0 = Date.now();
    const irsaRole = await createRole(`lag-irsa-${ns}`, irsaTrust(ns));
    const piRole = await createRole(`lag-pi-${ns}`, podIdentityTrust());
    const lastCreated = Date.now(); // each role's lag runs from its own creation
    await eks().send(new CreatePodIdentityAssociationCommand({ clusterName, namespace: ns, serviceAccount: SA, roleArn: piRole }));
    const irsaToken = await saToken(ns, SA, [STS_AUD]);
    const podToken = await saToken(ns, SA, [PODS]);

    await expect(webIdentity(irsaRole, irsaToken)).rejects.toMatchObject({ name: 'AccessDenied' });
    await expect(assumeRoleForPodIdentity(awsEndpoint, clusterName, podToken)).rejects.toMatchObject({ name: 'AccessDeniedException' });
    await expect(new IAMClient({ ...awsClientConfig(), maxAttempts: 1 }).send(new GetRoleCommand({ RoleName: `lag-irsa-${ns}` }))).rejects.toBeInstanceOf(
      NoSuchEntityException,
    );
    expect(Date.now() - t0).toBeLessThan(lagMs); // the checks above ran inside the lag

    await sleep(Math.max(0, lastCreated + lagMs + 200 - Date.now()));
    await expect(webIdentity(irsaRole, irsaToken)).resolves.toMatchObject({ Audience: STS_AUD });
    await expect(assumeRoleForPodIdentity(awsEndpoint, clusterName, podToken)).resolves.toMatchObject({ subject: { namespace: ns } });
    await expect(iam().send(new GetRoleCommand({ RoleName: `lag-irsa-${ns}` }))).resolves.toMatchObject({ Role: { Arn: irsaRole } });
  });
});
