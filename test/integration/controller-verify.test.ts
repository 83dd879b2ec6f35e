// Ready tells the truth (issue 8): prerequisites as conditions and
// credentials verified by a real token exchange. Each case changes the world
// behind awi's back and checks that the claim says so, then recovers without
// an edit once the world is right again.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, type CoreV1Event } from '@kubernetes/client-node';
import { CreateOpenIDConnectProviderCommand, DeleteOpenIDConnectProviderCommand, GetRoleCommand, IAMClient, UpdateAssumeRolePolicyCommand } from '@aws-sdk/client-iam';
import {
  createClaim, installPodIdentityAgent, readyCondition, removePodIdentityAgent, startControllerEnv, testClaimSpec, testPlatformConfig, waitForClaim, waitForReady,
  type ControllerEnv,
} from '../harness/controller-env.js';
import { awsClientConfig, awsFake, freshNamespace, kubeConfig, testbed } from '../../testbed/harness/testbed.js';
import type { AwsWorkloadIdentityClaim } from '../../src/api/types.js';

const iam = () => new IAMClient(awsClientConfig());
const condition = (c: AwsWorkloadIdentityClaim | undefined, type: string) => c?.status?.conditions?.find((x) => x.type === type);
const providerArn = () => `arn:aws:iam::${testbed().accountId}:oidc-provider/${testbed().issuer.replace(/^https:\/\//, '')}`;
const roleName = (arn: string) => arn.split('/').pop()!;

async function events(namespace: string, name: string): Promise<CoreV1Event[]> {
  const list = await kubeConfig().makeApiClient(CoreV1Api).listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` });
  return list.items;
}

describe('Ready tells the truth: prerequisites and verified credentials', () => {
  let env: ControllerEnv;
  beforeAll(async () => {
    // Verification every 10 s (the minimum) so that a change behind awi's back shows without a resync.
    // Prerequisites cached for 1 s: the cases below remove them between claims.
    env = await startControllerEnv({
      prerequisiteTtlMs: 1_000,
      config: testPlatformConfig((raw) => (raw.controller = { ...(raw.controller ?? {}), verification: { enabled: true, intervalSeconds: 10 } })),
    });
  });
  afterAll(async () => {
    await env?.stop();
    await installPodIdentityAgent();
  });

  it.each([['IRSA' as const], ['PodIdentity' as const]])('%s: a Ready claim has CredentialsVerified=True, a session of its own role', async (mechanism) => {
    const ns = await freshNamespace('it-verify');
    await createClaim(ns, 'app', testClaimSpec('app-sa', mechanism));
    const claim = await waitForReady(ns, 'app', 60_000);
    const verified = condition(claim, 'CredentialsVerified');
    expect(verified).toMatchObject({ status: 'True', reason: 'Verified' });
    // The assumed-role ARN names the claimed role (the message quotes what STS / EKS Auth answered).
    expect(verified!.message).toContain(`:assumed-role/${roleName(claim!.status!.roleArn!)}/`);
    const calls = await awsFake().calls();
    expect(calls[mechanism === 'IRSA' ? 'sts:AssumeRoleWithWebIdentity' : 'eks-auth:AssumeRoleForPodIdentity']).toBeGreaterThan(0);
  }, 90_000);

  it('a trust broken behind awi\'s back reads CredentialsVerified=False with the STS error, then awi restores it', async () => {
    const ns = await freshNamespace('it-verify');
    await createClaim(ns, 'app', testClaimSpec('app-sa', 'IRSA'));
    const claim = await waitForReady(ns, 'app', 60_000);
    const role = roleName(claim!.status!.roleArn!);
    const good = (await iam().send(new GetRoleCommand({ RoleName: role }))).Role!.AssumeRolePolicyDocument!;
    // The trust now names another ServiceAccount: every token of app-sa is refused.
    const broken = decodeURIComponent(good).replace(`system:serviceaccount:${ns}:app-sa`, `system:serviceaccount:${ns}:someone-else`);
    expect(broken).not.toBe(decodeURIComponent(good));
    await iam().send(new UpdateAssumeRolePolicyCommand({ RoleName: role, PolicyDocument: broken }));

    // Within the verification interval the claim must say what a pod gets: refused.
    await waitForClaim(ns, 'app', (c) => condition(c, 'CredentialsVerified')?.reason === 'VerificationFailed', 60_000);
    const seen = (await events(ns, 'app')).find((e) => e.reason === 'VerificationFailed');
    expect(seen?.type).toBe('Warning');
    expect(seen?.message).toContain('CredentialsVerified=False');
    expect(seen?.message).toContain('AccessDenied');
    // ... and awi restores the trust, after which it verifies again.
    const back = await waitForReady(ns, 'app', 60_000);
    expect(condition(back, 'CredentialsVerified')).toMatchObject({ status: 'True' });
    const restored = (await iam().send(new GetRoleCommand({ RoleName: role }))).Role!.AssumeRolePolicyDocument!;
    expect(decodeURIComponent(restored)).toContain(`system:serviceaccount:${ns}:app-sa`);
  }, 150_000);

  it('OIDC provider deleted: OIDCProviderMissing with what to install; re-created: Ready again without an edit', async () => {
    const ns = await freshNamespace('it-oidc');
    await createClaim(ns, 'app', testClaimSpec('app-sa', 'IRSA'));
    await waitForReady(ns, 'app', 60_000);
    const generation = (await waitForReady(ns, 'app'))!.metadata.generation;

    await iam().send(new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: providerArn() }));
    try {
      const missing = await waitForClaim(ns, 'app', (c) => readyCondition(c)?.reason === 'OIDCProviderMissing', 90_000);
      expect(readyCondition(missing)).toMatchObject({ status: 'False', reason: 'OIDCProviderMissing' });
      expect(readyCondition(missing)!.message).toContain(providerArn());
      expect(readyCondition(missing)!.message).toContain('create-open-id-connect-provider');
    } finally {
      await iam().send(new CreateOpenIDConnectProviderCommand({ Url: testbed().issuer, ClientIDList: ['sts.amazonaws.com'], ThumbprintList: ['0'.repeat(40)] }));
    }
    const back = await waitForReady(ns, 'app', 90_000);
    expect(back!.metadata.generation).toBe(generation); // no edit was needed
    expect(condition(back, 'CredentialsVerified')).toMatchObject({ status: 'True' });
  }, 240_000);

  it('OIDC provider without sts.amazonaws.com among its client ids: OIDCProviderMissing', async () => {
    await iam().send(new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: providerArn() }));
    await iam().send(new CreateOpenIDConnectProviderCommand({ Url: testbed().issuer, ClientIDList: ['some-other-audience'], ThumbprintList: ['0'.repeat(40)] }));
    await sleep(1_500); // past the 1 s prerequisite cache of the earlier cases
    try {
      const ns = await freshNamespace('it-oidc');
      await createClaim(ns, 'app', testClaimSpec('app-sa', 'IRSA'));
      const claim = await waitForClaim(ns, 'app', (c) => readyCondition(c)?.reason === 'OIDCProviderMissing', 60_000);
      expect(readyCondition(claim)!.message).toContain('does not list sts.amazonaws.com');
      // Nothing was written in AWS for it: IAM would refuse, and pods could not use it.
      await expect(iam().send(new GetRoleCommand({ RoleName: `${testbed().clusterName}-${ns}-app-sa` }))).rejects.toMatchObject({ name: 'NoSuchEntityException' });
    } finally {
      await iam().send(new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: providerArn() }));
      await iam().send(new CreateOpenIDConnectProviderCommand({ Url: testbed().issuer, ClientIDList: ['sts.amazonaws.com'], ThumbprintList: ['0'.repeat(40)] }));
    }
  }, 120_000);

  it('no Pod Identity agent: PodIdentityAgentMissing; the EKS add-on installed: Ready without an edit', async () => {
    await removePodIdentityAgent();
    try {
      const ns = await freshNamespace('it-agent');
      await createClaim(ns, 'app', testClaimSpec('app-sa', 'PodIdentity'));
      const claim = await waitForClaim(ns, 'app', (c) => readyCondition(c)?.reason === 'PodIdentityAgentMissing', 60_000);
      expect(readyCondition(claim)).toMatchObject({ status: 'False', reason: 'PodIdentityAgentMissing' });
      expect(readyCondition(claim)!.message).toContain('eks-pod-identity-agent');
      // The agent arrives as the EKS add-on (no DaemonSet readable here): the claim recovers on its own.
      await awsFake().installAddon(testbed().clusterName, 'eks-pod-identity-agent');
      const back = await waitForReady(ns, 'app', 90_000);
      expect(back!.metadata.generation).toBe(claim!.metadata.generation);
      expect(condition(back, 'CredentialsVerified')).toMatchObject({ status: 'True' });
    } finally {
      await awsFake().removeAddon(testbed().clusterName, 'eks-pod-identity-agent').catch(() => undefined);
      await installPodIdentityAgent();
    }
  }, 150_000);
});
