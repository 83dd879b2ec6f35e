// Revocation (issue 9): an identity a claim stops asking for stops yielding
// credentials. A token minted for the old ServiceAccount before the change is
// exchanged, as a pod of it would, with the fake's STS (IRSA) or EKS Auth (Pod
// Identity): refused as soon as the new identity is Ready, without another
// reconcile. Deleting the claim afterwards leaves nothing in the fake. A
// ServiceAccount re-created by hand without awi's labels loses the binding.
// A finalizer removed by hand orphans the identity: `awi inventory --aws`
// lists what it left behind.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, type CoreV1Event } from '@kubernetes/client-node';
import { CreateOpenIDConnectProviderCommand, CreatePolicyCommand, IAMClient, ListRolesCommand } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { runInventory } from '../../src/cli/inventory.js';
import type { Inventory } from '../../src/inventory/index.js';
import { GROUP, PLURAL, VERSION } from '../../src/kube/claims.js';
import { mergePatch } from '../../src/kube/patch.js';
import { captureIo } from '../fixtures/io.js';
import {
  claimsApi, createClaim, readyCondition, startControllerEnv, testClaimSpec, testPlatformConfig, waitForClaim, waitForReady,
  type ControllerEnv,
  exchangeAsPod,
} from '../harness/controller-env.js';
import { awsClientConfig, awsFake, freshNamespace, kubeConfig, testbed } from '../../testbed/harness/testbed.js';

type Mech = 'IRSA' | 'PodIdentity';
const otherAccount = '222233334444';
const core = () => kubeConfig().makeApiClient(CoreV1Api);
const ref = (namespace: string, name: string) => ({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name });
const patchSpec = (namespace: string, name: string, spec: Record<string, unknown>) =>
  claimsApi().patchNamespacedCustomObject({ ...ref(namespace, name), body: { spec } }, mergePatch);

async function token(namespace: string, sa: string, mechanism: Mech): Promise<string> {
  const audience = mechanism === 'IRSA' ? 'sts.amazonaws.com' : 'pods.eks.amazonaws.com';
  const out = await core().createNamespacedServiceAccountToken({ namespace, name: sa, body: { spec: { audiences: [audience] } } });
  return out.status!.token!;
}

async function iamIn(account: string): Promise<IAMClient> {
  if (account === testbed().accountId) return new IAMClient(awsClientConfig());
  const out = await new STSClient(awsClientConfig()).send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${account}:role/platform-admin`, RoleSessionName: 'it' }));
  const c = out.Credentials!;
  return new IAMClient({ ...awsClientConfig(), credentials: { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! } });
}

/** awi's roles (path /awi/) for a namespace, in both accounts of the bed. */
async function rolesOf(namespace: string): Promise<string[]> {
  const out: string[] = [];
  for (const account of [testbed().accountId, otherAccount]) {
    const roles = (await (await iamIn(account)).send(new ListRolesCommand({ PathPrefix: '/awi/', MaxItems: 1000 }))).Roles ?? [];
    out.push(...roles.filter((r) => r.RoleName!.includes(namespace)).map((r) => r.Arn!));
  }
  return out.sort();
}

const associationsOf = async (namespace: string) => (await awsFake().associations()).filter((a) => a.namespace === namespace);

async function serviceAccountNames(namespace: string): Promise<string[]> {
  return (await core().listNamespacedServiceAccount({ namespace })).items.map((s) => s.metadata!.name!).sort();
}

async function events(namespace: string, name: string): Promise<CoreV1Event[]> {
  return (await core().listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` })).items;
}

async function deleteClaim(namespace: string, name: string): Promise<void> {
  await claimsApi().deleteNamespacedCustomObject(ref(namespace, name));
  await waitForClaim(namespace, name, (c) => c === undefined, 60_000);
}

/** Ready at the claim's current generation, with the role the edit asks for. */
const readyWith = (namespace: string, name: string, roleArn: (arn: string) => boolean) =>
  waitForClaim(namespace, name, (c) => readyCondition(c)?.status === 'True' && c?.status?.observedGeneration === c?.metadata.generation && roleArn(c?.status?.roleArn ?? ''), 60_000);

let env: ControllerEnv;
beforeAll(async () => {
  const config = testPlatformConfig((raw) => {
    raw.accounts = [{ accountId: testbed().accountId }, { accountId: otherAccount, assumeRoleArn: `arn:aws:iam::${otherAccount}:role/awi-controller`, externalId: 'awi-ext-1' }];
    for (const g of raw.guardrails) g.allowedAccounts = [testbed().accountId, otherAccount];
    // The new identity must be verified (a real exchange) before the old one goes.
    raw.controller = { ...(raw.controller ?? {}), verification: { enabled: true, intervalSeconds: 600 } };
  });
  env = await startControllerEnv({ config });
  // The other account's prerequisites, as the platform team prepares them.
  const there = await iamIn(otherAccount);
  await there.send(new CreateOpenIDConnectProviderCommand({ Url: testbed().issuer, ClientIDList: ['sts.amazonaws.com'], ThumbprintList: ['0'.repeat(40)] }));
  await there.send(new CreatePolicyCommand({ PolicyName: 'awi-workload-boundary', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] }) }));
}, 120_000);
afterAll(async () => {
  await env?.stop();
});

describe('renaming the ServiceAccount revokes the old identity', () => {
  it.each(['IRSA' as Mech, 'PodIdentity' as Mech])('%s: the old ServiceAccount\'s token is refused once the new one is Ready; deleting the claim leaves nothing', async (mechanism) => {
    const ns = await freshNamespace('it-revoke');
    await createClaim(ns, 'app', testClaimSpec('app-sa', mechanism));
    const oldArn = (await waitForReady(ns, 'app', 60_000))!.status!.roleArn!;
    const oldToken = await token(ns, 'app-sa', mechanism);
    expect(await exchangeAsPod(mechanism, oldToken, oldArn)).toBe('ok');

    await patchSpec(ns, 'app', { serviceAccountName: 'app-sa-v2' });
    const claim = (await readyWith(ns, 'app', (arn) => arn !== '' && arn !== oldArn))!;
    expect(claim.status!.conditions!.find((c) => c.type === 'CredentialsVerified')).toMatchObject({ status: 'True', observedGeneration: claim.metadata.generation });
    // No further reconcile: the reconcile that reported the new identity Ready retired the old one.
    expect(await exchangeAsPod(mechanism, oldToken, oldArn)).not.toBe('ok');
    expect(await exchangeAsPod(mechanism, await token(ns, 'app-sa-v2', mechanism), claim.status!.roleArn!)).toBe('ok');
    expect(await rolesOf(ns)).toEqual([claim.status!.roleArn]);
    expect((await associationsOf(ns)).map((a) => a.serviceAccount)).toEqual(mechanism === 'PodIdentity' ? ['app-sa-v2'] : []);
    expect(await serviceAccountNames(ns)).toEqual(['app-sa-v2']);
    expect(claim.status!.retiring).toBeUndefined();
    const retired = (await events(ns, 'app')).find((e) => e.reason === 'OldIdentityRetired');
    expect(retired?.type).toBe('Normal');
    expect(retired?.message).toContain(`role ${oldArn} and its policies`);
    expect(retired?.message).toContain(`ServiceAccount ${ns}/app-sa`);

    await deleteClaim(ns, 'app');
    expect(await rolesOf(ns)).toEqual([]);
    expect(await associationsOf(ns)).toEqual([]);
    expect(await serviceAccountNames(ns)).toEqual([]);
  }, 180_000);
});

describe('changing the account revokes the role in the old account', () => {
  it('IRSA: the role in the old account is deleted once the new one is Ready; the same token for it is refused', async () => {
    const ns = await freshNamespace('it-revoke-acct');
    await createClaim(ns, 'app', testClaimSpec('app-sa', 'IRSA'));
    const oldArn = (await waitForReady(ns, 'app', 60_000))!.status!.roleArn!;
    expect(oldArn).toContain(`::${testbed().accountId}:`);
    const tok = await token(ns, 'app-sa', 'IRSA');
    expect(await exchangeAsPod('IRSA', tok, oldArn)).toBe('ok');

    await patchSpec(ns, 'app', { aws: { accountId: otherAccount, region: testbed().region } });
    const claim = (await readyWith(ns, 'app', (arn) => arn.includes(`::${otherAccount}:`)))!;
    const newArn = claim.status!.roleArn!;
    expect(claim.status!.conditions!.find((c) => c.type === 'CredentialsVerified')).toMatchObject({ status: 'True', observedGeneration: claim.metadata.generation });
    expect(await exchangeAsPod('IRSA', tok, oldArn)).not.toBe('ok');
    expect(await exchangeAsPod('IRSA', tok, newArn)).toBe('ok');
    expect(await rolesOf(ns)).toEqual([newArn]);
    // The ServiceAccount stays (the same one), pointing at the new role.
    const sa = await core().readNamespacedServiceAccount({ namespace: ns, name: 'app-sa' });
    expect(sa.metadata?.annotations?.['eks.amazonaws.com/role-arn']).toBe(newArn);

    await deleteClaim(ns, 'app');
    expect(await rolesOf(ns)).toEqual([]);
    expect(await serviceAccountNames(ns)).toEqual([]);
  }, 180_000);
});

describe('a claim renamed and deleted before the new identity got Ready', () => {
  it('deleting it removes the old identity too (status.retiring)', async () => {
    const ns = await freshNamespace('it-revoke-del');
    await createClaim(ns, 'app', testClaimSpec('app-sa', 'PodIdentity'));
    await waitForReady(ns, 'app', 60_000);
    // The new ServiceAccount is somebody else's: the new identity never gets Ready, the old one is kept...
    await core().createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'taken' } } });
    await patchSpec(ns, 'app', { serviceAccountName: 'taken' });
    const blocked = await waitForClaim(ns, 'app', (c) => readyCondition(c)?.reason === 'ServiceAccountNotOwned', 60_000);
    expect(blocked!.status!.retiring?.map((e) => e.serviceAccount)).toEqual(['app-sa']);
    expect((await associationsOf(ns)).map((a) => a.serviceAccount)).toEqual(['app-sa']);
    // ... and goes with the claim.
    await deleteClaim(ns, 'app');
    expect(await rolesOf(ns)).toEqual([]);
    expect(await associationsOf(ns)).toEqual([]);
    expect(await serviceAccountNames(ns)).toEqual(['taken']);
  }, 180_000);
});

/** Deletes the ServiceAccount and makes one of the same name without awi's labels (replacing it if the controller re-created it first). */
async function recreateByHand(namespace: string, name: string, annotations: Record<string, string> = {}): Promise<void> {
  await core().deleteNamespacedServiceAccount({ namespace, name });
  const body = { metadata: { name, annotations } };
  try {
    await core().createNamespacedServiceAccount({ namespace, body });
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
    const current = await core().readNamespacedServiceAccount({ namespace, name });
    await core().replaceNamespacedServiceAccount({ namespace, name, body: { metadata: { name, annotations, resourceVersion: current.metadata!.resourceVersion! } } });
  }
}

describe('a ServiceAccount re-created by hand without awi\'s labels', () => {
  it('Pod Identity: loses the association; the claim reports ServiceAccountNotOwned', async () => {
    const ns = await freshNamespace('it-revoke-sa');
    await createClaim(ns, 'app', testClaimSpec('app-sa', 'PodIdentity'));
    const roleArn = (await waitForReady(ns, 'app', 60_000))!.status!.roleArn!;
    await recreateByHand(ns, 'app-sa');
    const handMadeToken = await token(ns, 'app-sa', 'PodIdentity');

    env.controller.queue.add(`${ns}/app`);
    const claim = await waitForClaim(ns, 'app', (c) => readyCondition(c)?.reason === 'ServiceAccountNotOwned', 60_000);
    expect(readyCondition(claim)!.message).toContain('pods using it get no role from this claim');
    expect(await associationsOf(ns)).toEqual([]);
    expect(await exchangeAsPod('PodIdentity', handMadeToken, roleArn)).not.toBe('ok');
    const revoked = (await events(ns, 'app')).find((e) => e.reason === 'AssociationRevoked');
    expect(revoked?.type).toBe('Warning');
    // Later reconciles keep it that way, and the ServiceAccount is left as its maker made it.
    env.controller.queue.add(`${ns}/app`);
    await env.controller.queue.idle();
    expect(await associationsOf(ns)).toEqual([]);
    expect((await core().readNamespacedServiceAccount({ namespace: ns, name: 'app-sa' })).metadata?.labels).toBeUndefined();
  }, 180_000);

  it('IRSA: awi does not edit it; the claim reports ServiceAccountNotOwned and says the role still works for it', async () => {
    const ns = await freshNamespace('it-revoke-sairsa');
    await createClaim(ns, 'app', testClaimSpec('app-sa', 'IRSA'));
    const roleArn = (await waitForReady(ns, 'app', 60_000))!.status!.roleArn!;
    await recreateByHand(ns, 'app-sa', { 'eks.amazonaws.com/role-arn': roleArn });
    env.controller.queue.add(`${ns}/app`);
    const claim = await waitForClaim(ns, 'app', (c) => readyCondition(c)?.reason === 'ServiceAccountNotOwned', 60_000);
    expect(readyCondition(claim)!.message).toContain(`With IRSA, role ${roleArn} still trusts tokens of ${ns}/app-sa`);
    expect(readyCondition(claim)!.message).toContain('pods using it still get the role');
  }, 180_000);
});

describe('a finalizer removed by hand', () => {
  it('orphans the identity, and awi inventory --aws lists the role, the association and the ServiceAccount it left behind', async () => {
    const ns = await freshNamespace('it-revoke-fin');
    await createClaim(ns, 'app', testClaimSpec('app-sa', 'PodIdentity'));
    const roleArn = (await waitForReady(ns, 'app', 60_000))!.status!.roleArn!;
    // The controller is down (a live one would put its finalizer back): the claim is deleted and its finalizer removed by hand.
    await env.stop();
    await claimsApi().deleteNamespacedCustomObject(ref(ns, 'app'));
    await claimsApi().patchNamespacedCustomObject({ ...ref(ns, 'app'), body: { metadata: { finalizers: null } } }, mergePatch);
    await waitForClaim(ns, 'app', (c) => c === undefined);
    env = await startControllerEnv({ config: env.config, reset: false });
    await sleep(500);
    await env.controller.queue.idle();
    // Nothing cleaned up it: the old identity still works...
    expect(await rolesOf(ns)).toEqual([roleArn]);
    expect(await exchangeAsPod('PodIdentity', await token(ns, 'app-sa', 'PodIdentity'), roleArn)).toBe('ok');

    // ... and the inventory says so.
    const io = captureIo();
    expect(await runInventory({ config: env.config, output: 'json', aws: true, namespace: ns }, io, { kubeConfig: kubeConfig() })).toBe(0);
    const inv = JSON.parse(io.stdout.join('\n')) as Inventory;
    expect(inv.claims).toEqual([]);
    expect(inv.orphans).toEqual([expect.objectContaining({ roleArn, namespace: ns, claim: 'app', status: 'no claim' })]);
    const association = (await associationsOf(ns))[0]!;
    expect(inv.bindings).toHaveLength(2);
    expect(inv.bindings!.map((b) => [b.kind, b.serviceAccount, b.associationId ?? '-', b.detail])).toEqual(expect.arrayContaining([
      ['orphaned association', 'app-sa', association.associationId, `claim ${ns}/app does not exist`],
      ['orphaned ServiceAccount', 'app-sa', '-', `claim ${ns}/app does not exist`],
    ]));
  }, 180_000);
});
