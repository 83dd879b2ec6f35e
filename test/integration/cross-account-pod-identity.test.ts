// Cross-account EKS Pod Identity on the test bed: a claim whose role lives in
// the bed's second account is bound through an association in the cluster's
// account (roleArn: awi's source role there; targetRoleArn: the claim's role),
// and the claim's role trusts the source role with the association's external
// id. A TokenRequest token through EKS Auth yields the TARGET role's
// credentials; with the target trust broken the exchange is refused, and awi
// restores it. Deleting the claim removes both roles and the association.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api } from '@kubernetes/client-node';
import { CreatePolicyCommand, GetRoleCommand, GetRolePolicyCommand, IAMClient, UpdateAssumeRolePolicyCommand } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { assumeRoleForPodIdentity } from '../../testbed/awsfake/client.js';
import { claimsApi, createClaim, getClaim, startControllerEnv, waitForClaim, testPlatformConfig, waitForReady, type ControllerEnv } from '../harness/controller-env.js';
import { awsClientConfig, awsFake, freshNamespace, kubeConfig, testbed } from '../../testbed/harness/testbed.js';
import { GROUP, PLURAL, VERSION } from '../../src/kube/claims.js';
import { clusterSources, collectInventory } from '../../src/inventory/index.js';

const otherAccount = '222233334444';
const PODS = 'pods.eks.amazonaws.com';

async function iamIn(account: string): Promise<IAMClient> {
  const sts = new STSClient(awsClientConfig());
  const out = await sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${account}:role/platform-admin`, RoleSessionName: 'it' }));
  const c = out.Credentials!;
  return new IAMClient({ ...awsClientConfig(), credentials: { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! } });
}

async function podToken(namespace: string, sa: string): Promise<string> {
  const out = await kubeConfig().makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({ namespace, name: sa, body: { spec: { audiences: [PODS] } } });
  return out.status!.token!;
}

const exchange = async (namespace: string, sa: string) => assumeRoleForPodIdentity(testbed().awsEndpoint, testbed().clusterName, await podToken(namespace, sa));

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

let env: ControllerEnv;
let iamThere: IAMClient;
const iamHere = () => new IAMClient(awsClientConfig());

beforeAll(async () => {
  const config = testPlatformConfig((raw) => {
    raw.accounts = [{ accountId: testbed().accountId }, { accountId: otherAccount, assumeRoleArn: `arn:aws:iam::${otherAccount}:role/awi-controller`, externalId: 'awi-ext-1' }];
    for (const g of raw.guardrails) g.allowedAccounts = [testbed().accountId, otherAccount];
  });
  env = await startControllerEnv({ config });
  // The other account's prerequisite for awi roles there: the boundary policy.
  iamThere = await iamIn(otherAccount);
  await iamThere.send(new CreatePolicyCommand({ PolicyName: 'awi-workload-boundary', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] }) }));
});
afterAll(async () => {
  await env?.stop();
});

describe('cross-account Pod Identity', () => {
  it('Ready; the association chains from a source role into the claim role; EKS Auth hands out the target role; a broken target trust is refused and restored; delete removes both roles', async () => {
    const ns = await freshNamespace('it-xpi');
    await createClaim(ns, 'app', {
      serviceAccountName: 'app-sa', owner: 'team-a', environment: 'prod', mechanism: 'PodIdentity',
      aws: { accountId: otherAccount, region: testbed().region },
      permissions: { s3: [{ bucket: 'company-prod-data', prefix: 'app/', access: ['read'] }] },
    });
    const claim = await waitForReady(ns, 'app');
    const roleArn = claim!.status!.roleArn!;
    expect(roleArn).toMatch(new RegExp(`^arn:aws:iam::${otherAccount}:role/awi/`));
    const roleName = roleArn.split('/').pop()!;

    // The association, in the cluster's account: roleArn is the source role there, targetRoleArn the claim's role.
    const [association, ...more] = (await awsFake().associations()).filter((a) => a.namespace === ns);
    expect(more).toEqual([]);
    expect(association).toMatchObject({ serviceAccount: 'app-sa', targetRoleArn: roleArn, associationId: claim!.status!.associationId });
    const sourceArn = association!.roleArn;
    expect(sourceArn).toMatch(new RegExp(`^arn:aws:iam::${testbed().accountId}:role/awi/.*-source$`));
    const sourceName = sourceArn.split('/').pop()!;

    // The claim role trusts exactly the source role, with the association's external id.
    const target = await iamThere.send(new GetRoleCommand({ RoleName: roleName }));
    const trust = JSON.parse(decodeURIComponent(target.Role!.AssumeRolePolicyDocument!)) as { Statement: Array<{ Principal: { AWS?: string }; Condition?: Record<string, Record<string, string>> }> };
    expect(trust.Statement.map((s) => s.Principal.AWS)).toEqual([sourceArn, sourceArn]);
    expect(trust.Statement[0]!.Condition!['StringEquals']!['sts:ExternalId']).toBe(association!.externalId);
    expect(association!.externalId).toMatch(/.+/);
    // Both roles carry the claim's ownership tags; the source role may only chain into the claim role.
    const source = await iamHere().send(new GetRoleCommand({ RoleName: sourceName }));
    for (const r of [target.Role!, source.Role!]) {
      expect(Object.fromEntries((r.Tags ?? []).map((t) => [t.Key, t.Value]))).toMatchObject({ 'awi.dev/namespace': ns, 'awi.dev/claim': 'app' });
    }
    const sourcePolicy = await iamHere().send(new GetRolePolicyCommand({ RoleName: sourceName, PolicyName: 'awi-permissions' }));
    expect(JSON.parse(decodeURIComponent(sourcePolicy.PolicyDocument!))).toMatchObject({ Statement: [{ Action: ['sts:AssumeRole', 'sts:TagSession'], Resource: [roleArn] }] });

    // A pod's TokenRequest token through EKS Auth: the TARGET role's credentials.
    const out = await exchange(ns, 'app-sa');
    expect(out.assumedRoleUser.arn).toMatch(new RegExp(`^arn:aws:sts::${otherAccount}:assumed-role/${roleName}/`));

    // The target trust broken behind awi's back (it no longer allows the source role): refused.
    await iamThere.send(
      new UpdateAssumeRolePolicyCommand({
        RoleName: roleName,
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${testbed().accountId}:role/someone-else` }, Action: 'sts:AssumeRole' }] }),
      }),
    );
    await expect(exchange(ns, 'app-sa')).rejects.toThrow(/AccessDenied|not authorized|does not allow/i);

    // awi restores it at the next reconcile, and the exchange works again.
    env.controller.queue.add(`${ns}/app`);
    await env.controller.queue.idle();
    const restored = await until('the exchange to work again', async () => (await exchange(ns, 'app-sa')).assumedRoleUser.arn);
    expect(restored).toMatch(new RegExp(`^arn:aws:sts::${otherAccount}:assumed-role/${roleName}/`));

    // awi's own verification (an EKS Auth exchange) saw the broken trust before restoring it; it verifies again.
    await waitForClaim(ns, 'app', (c) => c?.status?.conditions?.find((x) => x.type === 'CredentialsVerified')?.status === 'True');

    // The inventory audit: the claim checks out (trust with the live external id), and the source role is the claim's, not an orphan.
    const inventory = await collectInventory({ config: env.config, namespace: ns, aws: true }, clusterSources(env.config, kubeConfig()));
    expect(inventory.claims[0]).toMatchObject({ roleArn, sourceRoleArn: sourceArn });
    expect(inventory.claims[0]!.aws).toMatchObject({ role: 'ok', tags: 'ok', policy: 'ok', trust: 'ok', binding: 'ok', ok: true });
    expect(inventory.orphans).toEqual([]);

    // Delete: the association and both roles go.
    await claimsApi().deleteNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: ns, name: 'app' });
    await until('the claim to be gone', async () => ((await getClaim(ns, 'app')) ? undefined : true));
    expect((await awsFake().associations()).filter((a) => a.namespace === ns)).toEqual([]);
    await expect(iamThere.send(new GetRoleCommand({ RoleName: roleName }))).rejects.toMatchObject({ name: 'NoSuchEntityException' });
    await expect(iamHere().send(new GetRoleCommand({ RoleName: sourceName }))).rejects.toMatchObject({ name: 'NoSuchEntityException' });
  });
});
