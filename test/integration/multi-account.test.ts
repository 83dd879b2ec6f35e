// A claim for another account is provisioned through the role the controller
// assumes there (STS AssumeRole with an external id), on the real SDK and moto.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CreateOpenIDConnectProviderCommand, CreatePolicyCommand, GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { type ControllerEnv, createClaim, removeAllClaims, startControllerEnv, testPlatformConfig, waitForReady } from '../harness/controller-env.js';
import { awsClientConfig, awsFake, freshNamespace, testbed } from '../../testbed/harness/testbed.js';

const otherAccount = '222233334444';
const controllerRoleThere = `arn:aws:iam::${otherAccount}:role/awi-controller`;

/** An IAM client acting in the other account, as the platform team would when preparing it. */
async function iamIn(account: string): Promise<IAMClient> {
  const sts = new STSClient(awsClientConfig());
  const out = await sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${account}:role/platform-admin`, RoleSessionName: 'it' }));
  const c = out.Credentials!;
  return new IAMClient({ ...awsClientConfig(), credentials: { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! } });
}

let env: ControllerEnv;
let iamThere: IAMClient;
beforeAll(async () => {
  await awsFake().reset();
  await removeAllClaims(); // a fresh world: no claims left by earlier files
  // The other account's prerequisites: its IAM OIDC provider for the cluster issuer, and the boundary policy.
  iamThere = await iamIn(otherAccount);
  await iamThere.send(new CreateOpenIDConnectProviderCommand({ Url: testbed().issuer, ClientIDList: ['sts.amazonaws.com'], ThumbprintList: ['0'.repeat(40)] }));
  await iamThere.send(new CreatePolicyCommand({ PolicyName: 'awi-workload-boundary', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] }) }));
  const config = testPlatformConfig((raw) => {
    raw.accounts = [{ accountId: testbed().accountId }, { accountId: otherAccount, assumeRoleArn: controllerRoleThere, externalId: 'awi-ext-1' }];
    for (const g of raw.guardrails) g.allowedAccounts = [testbed().accountId, otherAccount];
  });
  env = await startControllerEnv({ config, reset: false });
});
afterAll(async () => {
  await env?.stop();
});

describe('multi-account', () => {
  it('creates the IRSA role in the other account through the assumed role, with the external id', async () => {
    const ns = await freshNamespace('it-xacct');
    await createClaim(ns, 'x', {
      serviceAccountName: 'x-sa', owner: 'team-a', environment: 'prod', mechanism: 'IRSA',
      aws: { accountId: otherAccount, region: testbed().region },
      permissions: { s3: [{ bucket: 'company-prod-data', prefix: 'x/', access: ['read'] }] },
    });
    const claim = await waitForReady(ns, 'x');
    const roleArn = claim!.status!.roleArn!;
    expect(roleArn).toMatch(new RegExp(`^arn:aws:iam::${otherAccount}:role/awi/`));
    const roleName = roleArn.split('/').pop()!;

    const there = await iamThere.send(new GetRoleCommand({ RoleName: roleName }));
    expect(there.Role!.PermissionsBoundary?.PermissionsBoundaryArn).toBe(`arn:aws:iam::${otherAccount}:policy/awi-workload-boundary`);
    await expect(new IAMClient(awsClientConfig()).send(new GetRoleCommand({ RoleName: roleName }))).rejects.toMatchObject({ name: 'NoSuchEntityException' });

    const assumed = (await awsFake().callLog({ api: 'sts:AssumeRole' })).length;
    expect(assumed).toBeGreaterThanOrEqual(2); // ours in beforeAll, and the controller's
  });
});
