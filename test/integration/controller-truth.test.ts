// Ready tells the truth (issue 8): the controller enforces every field of the
// binding that changes what a pod gets, keeps enforcing a claim's last valid
// state after a bad edit, makes no AWS write while the binding is blocked,
// releases a retained ServiceAccount, and says which label is missing. Each
// test reproduces a case that misreported before.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api, Watch, type V1ServiceAccount } from '@kubernetes/client-node';
import { CreateRoleCommand, GetRolePolicyCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { CreatePodIdentityAssociationCommand, EKSClient, UpdatePodIdentityAssociationCommand } from '@aws-sdk/client-eks';
import { assumeRoleForPodIdentity } from '../../testbed/awsfake/client.js';
import {
  claimsApi, createClaim, getClaim, readyCondition, startControllerEnv, testClaimSpec, testPlatformConfig, waitForClaim, waitForReady, writeCalls,
  type ControllerEnv,
  claimEvents as events, fakeAssociation as ourAssociation, until,
} from '../harness/controller-env.js';
import { awsClientConfig, awsFake, freshNamespace, kubeConfig, testbed } from '../../testbed/harness/testbed.js';
import { GROUP, PLURAL, VERSION } from '../../src/kube/claims.js';
import { mergePatch } from '../../src/kube/patch.js';

const iam = () => new IAMClient(awsClientConfig());
const eks = () => new EKSClient(awsClientConfig());
const core = () => kubeConfig().makeApiClient(CoreV1Api);
const ROLE_ARN = 'eks.amazonaws.com/role-arn';

const patchSpec = (namespace: string, name: string, spec: Record<string, unknown>) =>
  claimsApi().patchNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name, body: { spec } }, mergePatch);

async function deleteClaim(namespace: string, name: string): Promise<void> {
  await claimsApi().deleteNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name });
  await waitForClaim(namespace, name, (c) => c === undefined);
}

async function token(namespace: string, sa: string, audience: string): Promise<string> {
  const out = await core().createNamespacedServiceAccountToken({ namespace, name: sa, body: { spec: { audiences: [audience] } } });
  return out.status!.token!;
}


/** The role a pod of namespace/sa gets through Pod Identity, by role name. */
async function podIdentityRole(namespace: string, sa: string): Promise<string> {
  const out = await assumeRoleForPodIdentity(testbed().awsEndpoint, testbed().clusterName, await token(namespace, sa, 'pods.eks.amazonaws.com'));
  return out.assumedRoleUser.arn.split('/')[1]!;
}

let env: ControllerEnv;
beforeAll(async () => {
  // Role names from the claim name, so that a new claim for a retained
  // ServiceAccount gets a role of its own.
  env = await startControllerEnv({ config: testPlatformConfig((raw) => { raw.roles.nameTemplate = '{cluster}-{namespace}-{claim}'; }) });
});
afterAll(async () => {
  await env?.stop();
});

describe('the whole Pod Identity association is enforced', () => {
  it('a targetRoleArn set behind awi\'s back is removed at the next drift check, with a DriftCorrected event naming it', async () => {
    const ns = await freshNamespace('it-target');
    await createClaim(ns, 'app', testClaimSpec('app-sa', 'PodIdentity'));
    const claim = await waitForReady(ns, 'app');
    const roleArn = claim!.status!.roleArn!;
    const roleName = roleArn.split('/').pop()!;

    // A broader role that trusts awi's role: with it as target, pods get the broader role.
    const broader = (await iam().send(new CreateRoleCommand({
      RoleName: `broader-${ns}`,
      AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: roleArn }, Action: ['sts:AssumeRole', 'sts:TagSession'] }] }),
    }))).Role!.Arn!;
    const a = (await ourAssociation(ns, 'app-sa'))!;
    await eks().send(new UpdatePodIdentityAssociationCommand({ clusterName: testbed().clusterName, associationId: a.associationId, targetRoleArn: broader }));
    await until('pods to get the broader role', async () => (await podIdentityRole(ns, 'app-sa').catch(() => '')) === `broader-${ns}`);

    env.controller.queue.add(`${ns}/app`);
    await until('the target role to be removed', async () => (await ourAssociation(ns, 'app-sa'))?.targetRoleArn === undefined);
    expect(await ourAssociation(ns, 'app-sa')).toMatchObject({ associationId: a.associationId, roleArn, disableSessionTags: false });
    expect(await podIdentityRole(ns, 'app-sa')).toBe(roleName);
    const drift = await until('a DriftCorrected event', async () => (await events(ns, 'app')).find((e) => e.reason === 'DriftCorrected'));
    expect(drift.type).toBe('Warning');
    expect(drift.message).toContain(`association ${a.associationId}: targetRoleArn (was ${broader})`);
    await waitForReady(ns, 'app');
  });

  it('disableSessionTags=true (every pod denied: the trust needs the session tags) is turned back off', async () => {
    const ns = await freshNamespace('it-tags');
    await createClaim(ns, 'app', testClaimSpec('app-sa', 'PodIdentity'));
    const claim = await waitForReady(ns, 'app');
    const roleName = claim!.status!.roleArn!.split('/').pop()!;
    const a = (await ourAssociation(ns, 'app-sa'))!;
    await eks().send(new UpdatePodIdentityAssociationCommand({ clusterName: testbed().clusterName, associationId: a.associationId, disableSessionTags: true }));
    await expect(podIdentityRole(ns, 'app-sa')).rejects.toMatchObject({ name: 'AccessDeniedException' });

    env.controller.queue.add(`${ns}/app`);
    await until('session tags to be enabled again', async () => (await ourAssociation(ns, 'app-sa'))?.disableSessionTags === false);
    expect(await podIdentityRole(ns, 'app-sa')).toBe(roleName);
    const drift = await until('a DriftCorrected event', async () => (await events(ns, 'app')).find((e) => e.reason === 'DriftCorrected'));
    expect(drift.message).toContain(`association ${a.associationId}: disableSessionTags (was true)`);
    await waitForReady(ns, 'app');
  });
});

describe('the session policy', () => {
  it('a session policy (with the disableSessionTags=true EKS requires for it) set behind awi\'s back is removed', async () => {
    const ns = await freshNamespace('it-sespol');
    await createClaim(ns, 'app', testClaimSpec('app-sa', 'PodIdentity'));
    await waitForReady(ns, 'app');
    const a = (await ourAssociation(ns, 'app-sa'))!;
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] });
    await eks().send(new UpdatePodIdentityAssociationCommand({ clusterName: testbed().clusterName, associationId: a.associationId, disableSessionTags: true, policy }));
    expect(await ourAssociation(ns, 'app-sa')).toMatchObject({ policy, disableSessionTags: true });

    env.controller.queue.add(`${ns}/app`);
    await until('the session policy to be removed', async () => {
      const now = await ourAssociation(ns, 'app-sa');
      return !!now && now.policy === undefined && now.disableSessionTags === false;
    });
    const drift = await until('a DriftCorrected event', async () => (await events(ns, 'app')).find((e) => e.reason === 'DriftCorrected'));
    expect(drift.message).toContain(`association ${a.associationId}: disableSessionTags (was true), policy (was a session policy of ${policy.length} characters)`);
    await waitForReady(ns, 'app');
  });
});

describe('IRSA ServiceAccount', () => {
  it('is never observed without its role-arn annotation (watch opened before the claim)', async () => {
    const ns = await freshNamespace('it-sawatch');
    const seen: V1ServiceAccount[] = [];
    const watch = await new Watch(kubeConfig()).watch(
      `/api/v1/namespaces/${ns}/serviceaccounts`, {},
      (type: string, sa: V1ServiceAccount) => { if (type !== 'DELETED' && sa.metadata?.name === 'app-sa') seen.push(sa); },
      () => undefined,
    );
    try {
      await createClaim(ns, 'app', testClaimSpec('app-sa', 'IRSA'));
      const claim = await waitForReady(ns, 'app');
      await until('the watch to see the ServiceAccount', async () => seen.length > 0);
      expect(seen.map((sa) => sa.metadata?.annotations?.[ROLE_ARN])).toEqual(seen.map(() => claim!.status!.roleArn));
    } finally {
      watch.abort();
    }
  });
});

describe('a claim edited into an invalid one', () => {
  it('keeps enforcing its last valid spec: a hand-edited policy is restored, lastDriftCheckTime moves, the refusal stays the condition', async () => {
    const ns = await freshNamespace('it-refused');
    await createClaim(ns, 'app', testClaimSpec('app-sa', 'IRSA'));
    const ready = await waitForReady(ns, 'app');
    const roleName = ready!.status!.roleArn!.split('/').pop()!;
    const original = decodeURIComponent((await iam().send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: 'awi-permissions' }))).PolicyDocument!);
    expect(ready!.status!.applied).toMatchObject({ generation: ready!.metadata.generation, roleArn: ready!.status!.roleArn, mechanism: 'IRSA' });

    await patchSpec(ns, 'app', { aws: { accountId: '999999999999' } });
    const refused = await waitForClaim(ns, 'app', (c) => readyCondition(c)?.reason === 'GuardrailViolation');
    expect(readyCondition(refused)).toMatchObject({ status: 'False' });
    expect(readyCondition(refused)!.message).toContain('spec.aws.accountId');
    expect(readyCondition(refused)!.message).toContain(`keeps enforcing the last valid spec (generation ${ready!.metadata.generation})`);

    await iam().send(new PutRolePolicyCommand({ RoleName: roleName, PolicyName: 'awi-permissions', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sqs:*', Resource: '*' }] }) }));
    const checkedBefore = (await getClaim(ns, 'app'))!.status!.lastDriftCheckTime!;
    env.controller.queue.add(`${ns}/app`);
    await until('the hand edit to be undone', async () =>
      decodeURIComponent((await iam().send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: 'awi-permissions' }))).PolicyDocument!) === original);
    const after = await waitForClaim(ns, 'app', (c) => (c?.status?.lastDriftCheckTime ?? '') > checkedBefore);
    expect(readyCondition(after)).toMatchObject({ status: 'False', reason: 'GuardrailViolation' });
    expect(after!.status!.applied!.generation).toBe(ready!.metadata.generation);
    const drift = await until('a DriftCorrected event', async () => (await events(ns, 'app')).find((e) => e.reason === 'DriftCorrected'));
    expect(drift.message).toContain('PutInlinePolicy');
    // No Normal event reports the refusal.
    expect((await events(ns, 'app')).filter((e) => e.reason === 'GuardrailViolation' && e.type !== 'Warning')).toEqual([]);

    // Were the recorded spec to stop compiling too (say, a guardrail tightened), the message says what is left unenforced.
    const recorded = after!.status!.applied!;
    await claimsApi().patchNamespacedCustomObjectStatus({
      group: GROUP, version: VERSION, plural: PLURAL, namespace: ns, name: 'app',
      body: { status: { applied: { ...recorded, spec: { ...recorded.spec, aws: { ...recorded.spec.aws, accountId: '999999999999' } } } } },
    }, mergePatch);
    const stale = await waitForClaim(ns, 'app', (c) => (readyCondition(c)?.message ?? '').includes('no longer compiles either'));
    expect(readyCondition(stale)!.message).toContain(`role ${recorded.roleArn} and its binding are left as they are, not enforced`);

    // Deletion still cleans up what the last valid spec made.
    await deleteClaim(ns, 'app');
    await expect(iam().send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: 'awi-permissions' }))).rejects.toMatchObject({ name: 'NoSuchEntityException' });
    await expect(core().readNamespacedServiceAccount({ namespace: ns, name: 'app-sa' })).rejects.toMatchObject({ code: 404 });
  });
});

describe('conditions that match the world', () => {
  it('a foreign association for the ServiceAccount blocks the claim with zero AWS writes', async () => {
    const ns = await freshNamespace('it-conflict');
    const theirs = (await iam().send(new CreateRoleCommand({
      RoleName: `theirs-${ns}`,
      AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'pods.eks.amazonaws.com' }, Action: ['sts:AssumeRole', 'sts:TagSession'] }] }),
    }))).Role!.Arn!;
    await eks().send(new CreatePodIdentityAssociationCommand({ clusterName: testbed().clusterName, namespace: ns, serviceAccount: 'app-sa', roleArn: theirs }));
    await awsFake().resetCalls();

    await createClaim(ns, 'app', testClaimSpec('app-sa', 'PodIdentity'));
    const claim = await waitForClaim(ns, 'app', (c) => readyCondition(c)?.reason === 'AssociationConflict');
    await env.controller.queue.idle();
    expect(writeCalls(await awsFake().calls())).toEqual({});
    const conditions = Object.fromEntries(claim!.status!.conditions!.map((c) => [c.type, c]));
    expect(conditions.BindingReady).toMatchObject({ status: 'False', reason: 'AssociationConflict' });
    expect(conditions.RoleReady).toMatchObject({ status: 'Unknown', reason: 'Blocked' });
    // The only good news: the ServiceAccount awi created (a Kubernetes write, not an AWS one).
    expect((await events(ns, 'app')).filter((e) => e.type === 'Normal').map((e) => `${e.reason}: ${e.message}`)).toEqual(['Created: Applied: CreateServiceAccount.']);
  });

  it('deletion with Retain releases the ServiceAccount: a new claim takes it over', async () => {
    const ns = await freshNamespace('it-retain');
    await createClaim(ns, 'first', { ...testClaimSpec('app-sa', 'IRSA'), deletionPolicy: 'Retain' });
    const first = await waitForReady(ns, 'first');
    await deleteClaim(ns, 'first');
    const released = await core().readNamespacedServiceAccount({ namespace: ns, name: 'app-sa' });
    expect(released.metadata?.labels).toEqual({ 'app.kubernetes.io/managed-by': 'awi' });
    // The retained binding keeps working for new pods until someone takes the ServiceAccount.
    expect(released.metadata?.annotations?.[ROLE_ARN]).toBe(first!.status!.roleArn);

    await createClaim(ns, 'second', testClaimSpec('app-sa', 'IRSA'));
    const second = await waitForReady(ns, 'second');
    expect(second!.status!.roleArn).not.toBe(first!.status!.roleArn);
    const taken = await core().readNamespacedServiceAccount({ namespace: ns, name: 'app-sa' });
    expect(taken.metadata?.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'awi', 'awi.dev/claim': 'second', 'awi.dev/claim-namespace': ns });
    expect(taken.metadata?.annotations?.[ROLE_ARN]).toBe(second!.status!.roleArn);
  });

  it('a ServiceAccount bound by a claim that no longer exists is taken over, not refused as bound', async () => {
    const ns = await freshNamespace('it-orphan');
    // As a claim removed without its finalizer (or by an older awi's Retain) leaves it.
    await core().createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'app-sa', labels: { 'app.kubernetes.io/managed-by': 'awi', 'awi.dev/claim': 'gone', 'awi.dev/claim-namespace': ns } } } });
    await createClaim(ns, 'app', testClaimSpec('app-sa', 'IRSA'));
    const claim = await waitForReady(ns, 'app');
    const sa = await core().readNamespacedServiceAccount({ namespace: ns, name: 'app-sa' });
    expect(sa.metadata?.labels?.['awi.dev/claim']).toBe('app');
    expect(sa.metadata?.annotations?.[ROLE_ARN]).toBe(claim!.status!.roleArn);
  });

  it('ownership: a removed awi.dev/claim label is restored and named; a missing managed-by label is the one the message names', async () => {
    const ns = await freshNamespace('it-labels');
    await createClaim(ns, 'app', testClaimSpec('app-sa', 'PodIdentity'));
    await waitForReady(ns, 'app');
    await core().patchNamespacedServiceAccount({ namespace: ns, name: 'app-sa', body: { metadata: { labels: { 'awi.dev/claim': null } } } }, mergePatch);
    await until('the claim label to be back', async () =>
      (await core().readNamespacedServiceAccount({ namespace: ns, name: 'app-sa' })).metadata?.labels?.['awi.dev/claim'] === 'app');
    const drift = await until('a DriftCorrected event', async () => (await events(ns, 'app')).find((e) => e.reason === 'DriftCorrected'));
    expect(drift.message).toContain('awi.dev/claim');
    expect(drift.message).not.toContain('managed-by');
    await waitForReady(ns, 'app');

    // A ServiceAccount someone else made, carrying only a claim label: the message names the label it lacks.
    await core().createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'other-sa', labels: { 'awi.dev/claim': 'other' } } } });
    await createClaim(ns, 'other', testClaimSpec('other-sa', 'PodIdentity'));
    const refused = await waitForClaim(ns, 'other', (c) => readyCondition(c)?.reason === 'ServiceAccountNotOwned');
    expect(readyCondition(refused)!.message).toContain('without the label app.kubernetes.io/managed-by=awi');
  });
});
