// The controller end to end on the test bed: real kube-apiserver, real SDK
// clients against the AWS fake (moto + EKS + STS web identity).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api } from '@kubernetes/client-node';
import {
  CreateRoleCommand, GetRoleCommand, GetRolePolicyCommand, IAMClient, ListRolesCommand, PutRolePolicyCommand,
  UntagRoleCommand, UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { DeletePodIdentityAssociationCommand, EKSClient } from '@aws-sdk/client-eks';
import { AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { assumeRoleForPodIdentity } from '../awsfake/client.js';
import { claimsApi, createClaim, getClaim, readyCondition, startControllerEnv, waitForClaim, waitForReady, writeCalls, type ControllerEnv } from '../harness/controller-env.js';
import { awsClientConfig, awsFake, freshNamespace, kubeConfig, testbed } from '../harness/testbed.js';
import { GROUP, PLURAL, VERSION } from '../../src/kube/claims.js';
import { mergePatch } from '../../src/kube/patch.js';

const iam = () => new IAMClient(awsClientConfig());
const eks = () => new EKSClient(awsClientConfig());
const sts = () => new STSClient(awsClientConfig());
const core = () => kubeConfig().makeApiClient(CoreV1Api);

const spec = (sa: string, mechanism: 'IRSA' | 'PodIdentity', bucket = 'company-prod-data') => ({
  serviceAccountName: sa,
  owner: 'team-a',
  environment: 'prod',
  mechanism,
  aws: { accountId: testbed().accountId, region: testbed().region },
  permissions: { s3: [{ bucket, prefix: 'app/', access: ['read'] }] },
});

async function token(namespace: string, sa: string, audience: string): Promise<string> {
  const out = await core().createNamespacedServiceAccountToken({ namespace, name: sa, body: { spec: { audiences: [audience] } } });
  return out.status!.token!;
}

async function roleNameOf(namespace: string, name: string): Promise<string> {
  const arn = (await getClaim(namespace, name))!.status!.roleArn!;
  return arn.split('/').pop()!;
}

async function deleteClaim(namespace: string, name: string): Promise<void> {
  await claimsApi().deleteNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name });
  await waitForClaim(namespace, name, (c) => c === undefined);
}

let env: ControllerEnv;
beforeAll(async () => {
  env = await startControllerEnv();
});
afterAll(async () => {
  await env?.stop();
});

describe('IRSA', () => {
  it('becomes Ready, annotates the ServiceAccount, and only that namespace gets credentials', async () => {
    const ns = await freshNamespace('it-irsa');
    await createClaim(ns, 'reader', spec('s3-reader', 'IRSA'));
    const claim = await waitForReady(ns, 'reader');
    const roleArn = claim!.status!.roleArn!;
    expect(claim!.status).toMatchObject({ mechanism: 'IRSA', policyDigest: expect.stringMatching(/^sha256:/), trustPolicyDigest: expect.stringMatching(/^sha256:/) });

    const sa = await core().readNamespacedServiceAccount({ namespace: ns, name: 's3-reader' });
    expect(sa.metadata?.annotations?.['eks.amazonaws.com/role-arn']).toBe(roleArn);
    expect(sa.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe('awi');

    const creds = await sts().send(new AssumeRoleWithWebIdentityCommand({
      RoleArn: roleArn, RoleSessionName: 'it', WebIdentityToken: await token(ns, 's3-reader', 'sts.amazonaws.com'),
    }));
    expect(creds.Credentials?.AccessKeyId).toBeTruthy();

    // The same ServiceAccount name in another namespace must not get in.
    const other = await freshNamespace('it-other');
    await core().createNamespacedServiceAccount({ namespace: other, body: { metadata: { name: 's3-reader' } } });
    await expect(sts().send(new AssumeRoleWithWebIdentityCommand({
      RoleArn: roleArn, RoleSessionName: 'it', WebIdentityToken: await token(other, 's3-reader', 'sts.amazonaws.com'),
    }))).rejects.toMatchObject({ name: 'AccessDenied' });
  });
});

describe('Pod Identity', () => {
  it('becomes Ready with an association whose role AssumeRoleForPodIdentity hands out', async () => {
    const ns = await freshNamespace('it-pod');
    await createClaim(ns, 'reader', spec('s3-reader', 'PodIdentity'));
    const claim = await waitForReady(ns, 'reader');
    const roleArn = claim!.status!.roleArn!;
    const associations = (await awsFake().associations()).filter((a) => a.namespace === ns);
    expect(associations).toHaveLength(1);
    expect(associations[0]).toMatchObject({ serviceAccount: 's3-reader', roleArn, associationId: claim!.status!.associationId });

    const sa = await core().readNamespacedServiceAccount({ namespace: ns, name: 's3-reader' });
    expect(sa.metadata?.annotations?.['eks.amazonaws.com/role-arn']).toBeUndefined();

    const out = await assumeRoleForPodIdentity(testbed().awsEndpoint, testbed().clusterName, await token(ns, 's3-reader', 'pods.eks.amazonaws.com'));
    expect(out.assumedRoleUser.arn).toContain(roleArn.split('/').pop());
  });
});

describe('steady state and changes', () => {
  it('a no-op resync makes zero AWS writes; a permission change updates only the policy', async () => {
    const ns = await freshNamespace('it-steady');
    await createClaim(ns, 'app', spec('app-sa', 'PodIdentity'));
    await waitForReady(ns, 'app');
    const key = `${ns}/app`;

    await awsFake().resetCalls();
    env.controller.queue.add(key);
    await env.controller.queue.idle();
    const calls = await awsFake().calls();
    expect(writeCalls(calls)).toEqual({});
    // It did look: through the shared role observation (pages), not per-claim role reads.
    expect(calls['iam:GetAccountAuthorizationDetails']).toBeGreaterThan(0);
    expect(calls['iam:GetRole'] ?? 0).toBe(0);

    await claimsApi().patchNamespacedCustomObject(
      { group: GROUP, version: VERSION, plural: PLURAL, namespace: ns, name: 'app', body: { spec: { permissions: { s3: [{ bucket: 'company-prod-data', prefix: 'other/', access: ['read', 'write'] }] } } } },
      mergePatch,
    );
    await waitForReady(ns, 'app');
    const doc = await iam().send(new GetRolePolicyCommand({ RoleName: await roleNameOf(ns, 'app'), PolicyName: 'awi-permissions' }));
    const text = decodeURIComponent(doc.PolicyDocument!);
    expect(text).toContain('company-prod-data/other/*');
    expect(text).toContain('s3:PutObject');
    expect(text).not.toContain('app/*');
  });

  it('restores drift on the trust policy, tags, policy, association and annotation at the next resync', async () => {
    const ns = await freshNamespace('it-drift');
    await createClaim(ns, 'pod', spec('pod-sa', 'PodIdentity'));
    await createClaim(ns, 'irsa', spec('irsa-sa', 'IRSA'));
    await waitForReady(ns, 'pod');
    await waitForReady(ns, 'irsa');
    const podRole = await roleNameOf(ns, 'pod');
    const before = await iam().send(new GetRoleCommand({ RoleName: podRole }));

    await iam().send(new UpdateAssumeRolePolicyCommand({ RoleName: podRole, PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::999999999999:root' }, Action: 'sts:AssumeRole' }] }) }));
    await iam().send(new UntagRoleCommand({ RoleName: podRole, TagKeys: ['awi.dev/owner'] }));
    await iam().send(new PutRolePolicyCommand({ RoleName: podRole, PolicyName: 'awi-permissions', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] }) }));
    const association = (await awsFake().associations()).find((a) => a.namespace === ns)!;
    await eks().send(new DeletePodIdentityAssociationCommand({ clusterName: testbed().clusterName, associationId: association.associationId }));
    await core().patchNamespacedServiceAccount(
      { namespace: ns, name: 'irsa-sa', body: { metadata: { annotations: { 'eks.amazonaws.com/role-arn': null } } } },
      mergePatch,
    );

    // The ServiceAccount edit is seen by the watch at once; AWS drift needs the resync.
    env.controller.queue.add(`${ns}/pod`);
    await waitForClaim(ns, 'pod', (c) => readyCondition(c)?.status === 'True' && (c?.status?.associationId ?? '') !== association.associationId);
    await waitForReady(ns, 'irsa');

    const after = await iam().send(new GetRoleCommand({ RoleName: podRole }));
    expect(decodeURIComponent(after.Role!.AssumeRolePolicyDocument!)).toEqual(decodeURIComponent(before.Role!.AssumeRolePolicyDocument!));
    expect(after.Role!.Tags).toEqual(expect.arrayContaining([{ Key: 'awi.dev/owner', Value: 'team-a' }]));
    const policy = decodeURIComponent((await iam().send(new GetRolePolicyCommand({ RoleName: podRole, PolicyName: 'awi-permissions' }))).PolicyDocument!);
    expect(policy).not.toContain('"s3:*"');
    expect((await awsFake().associations()).filter((a) => a.namespace === ns && a.serviceAccount === 'pod-sa')).toHaveLength(1);
    const sa = await core().readNamespacedServiceAccount({ namespace: ns, name: 'irsa-sa' });
    expect(sa.metadata?.annotations?.['eks.amazonaws.com/role-arn']).toBe((await getClaim(ns, 'irsa'))!.status!.roleArn);

    const events = await core().listNamespacedEvent({ namespace: ns });
    expect(events.items.map((e) => e.reason)).toContain('DriftCorrected');
  });
});

describe('deletion', () => {
  it('Delete removes the role, its policy, the association and the ServiceAccount', async () => {
    const ns = await freshNamespace('it-del');
    await createClaim(ns, 'gone', spec('gone-sa', 'PodIdentity'));
    await waitForReady(ns, 'gone');
    const roleName = await roleNameOf(ns, 'gone');
    await deleteClaim(ns, 'gone');
    await expect(iam().send(new GetRoleCommand({ RoleName: roleName }))).rejects.toMatchObject({ name: 'NoSuchEntityException' });
    expect((await awsFake().associations()).filter((a) => a.namespace === ns)).toEqual([]);
    await expect(core().readNamespacedServiceAccount({ namespace: ns, name: 'gone-sa' })).rejects.toMatchObject({ code: 404 });
  });

  it('a claim edited into an invalid one keeps its resources, and deleting it still cleans them up', async () => {
    const ns = await freshNamespace('it-inv');
    await createClaim(ns, 'later-bad', spec('later-sa', 'IRSA'));
    await waitForReady(ns, 'later-bad');
    const roleName = await roleNameOf(ns, 'later-bad');
    await claimsApi().patchNamespacedCustomObject(
      { group: GROUP, version: VERSION, plural: PLURAL, namespace: ns, name: 'later-bad', body: { spec: { aws: { accountId: '999999999999' } } } },
      mergePatch,
    );
    await waitForClaim(ns, 'later-bad', (c) => readyCondition(c)?.reason === 'GuardrailViolation');
    await iam().send(new GetRoleCommand({ RoleName: roleName })); // still there: a bad edit loses nothing
    await deleteClaim(ns, 'later-bad');
    await expect(iam().send(new GetRoleCommand({ RoleName: roleName }))).rejects.toMatchObject({ name: 'NoSuchEntityException' });
    await expect(core().readNamespacedServiceAccount({ namespace: ns, name: 'later-sa' })).rejects.toMatchObject({ code: 404 });
  });

  it('Retain leaves the role and the association in place, tagged as released', async () => {
    const ns = await freshNamespace('it-keep');
    await createClaim(ns, 'kept', { ...spec('kept-sa', 'PodIdentity'), deletionPolicy: 'Retain' });
    await waitForReady(ns, 'kept');
    const roleName = await roleNameOf(ns, 'kept');
    await deleteClaim(ns, 'kept');
    const role = await iam().send(new GetRoleCommand({ RoleName: roleName }));
    expect(role.Role!.Tags).toEqual(expect.arrayContaining([{ Key: 'awi.dev/released', Value: 'true' }]));
    expect((await awsFake().associations()).filter((a) => a.namespace === ns)).toHaveLength(1);
  });
});

describe('refusals', () => {
  it('a guardrail violation is a terminal condition naming the field, with zero AWS calls', async () => {
    const ns = await freshNamespace('it-bad');
    await awsFake().resetCalls();
    await createClaim(ns, 'other-account', { ...spec('x-sa', 'PodIdentity'), aws: { accountId: '999999999999', region: testbed().region } });
    const claim = await waitForClaim(ns, 'other-account', (c) => readyCondition(c)?.reason === 'GuardrailViolation');
    expect(readyCondition(claim)!.status).toBe('False');
    expect(readyCondition(claim)!.message).toContain('spec.aws.accountId');
    await env.controller.queue.idle();
    expect(await awsFake().calls()).toEqual({});
    expect(claim!.metadata.finalizers ?? []).toEqual([]);
  });

  it('never modifies a role that exists without the ownership tags: RoleNotOwned', async () => {
    const ns = await freshNamespace('it-own');
    const name = `${testbed().clusterName}-${ns}-taken-sa`;
    const foreignTrust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] });
    await iam().send(new CreateRoleCommand({ RoleName: name, Path: '/awi/', AssumeRolePolicyDocument: foreignTrust }));
    await createClaim(ns, 'taken', spec('taken-sa', 'PodIdentity'));
    const claim = await waitForClaim(ns, 'taken', (c) => readyCondition(c)?.reason === 'RoleNotOwned');
    expect(claim!.status!.conditions!.find((c) => c.type === 'RoleReady')).toMatchObject({ status: 'False', reason: 'RoleNotOwned' });
    const role = await iam().send(new GetRoleCommand({ RoleName: name }));
    expect(JSON.parse(decodeURIComponent(role.Role!.AssumeRolePolicyDocument!))).toEqual(JSON.parse(foreignTrust));
    expect(role.Role!.Tags ?? []).toEqual([]);
    expect((await awsFake().associations()).filter((a) => a.namespace === ns)).toEqual([]);
    const roles = await iam().send(new ListRolesCommand({}));
    expect(roles.Roles!.filter((r) => r.RoleName === name)).toHaveLength(1);
  });
});
