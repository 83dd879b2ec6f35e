// A mechanism switch must not break running pods (issue 8). The webhooks set a
// pod's credential environment once, at creation; a pod started under the old
// mechanism keeps exchanging its token through it. Here the "pods" are API
// objects carrying the environment the webhooks inject (no kubelet runs them),
// and the test exchanges a token minted before the switch, as such a pod would,
// until the last old-mechanism pod is deleted.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, type CoreV1Event } from '@kubernetes/client-node';
import { CreateOpenIDConnectProviderCommand, GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { GROUP, PLURAL, VERSION } from '../../src/kube/claims.js';
import { mergePatch } from '../../src/kube/patch.js';
import {
  claimsApi, createClaim, readyCondition, startControllerEnv, testClaimSpec, testPlatformConfig, waitForClaim, waitForReady, writeCalls,
  type ControllerEnv,
  exchangeAsPod,
} from '../harness/controller-env.js';
import { awsClientConfig, awsFake, freshNamespace, kubeConfig } from '../../testbed/harness/testbed.js';
import type { AwsWorkloadIdentityClaim } from '../../src/api/types.js';
import { compileClaim } from '../../src/compiler/compile.js';

type Mech = 'IRSA' | 'PodIdentity';
const core = () => kubeConfig().makeApiClient(CoreV1Api);
const iam = () => new IAMClient(awsClientConfig());
const condition = (c: AwsWorkloadIdentityClaim | undefined, type: string) => c?.status?.conditions?.find((x) => x.type === type);
const roleName = (arn: string) => arn.split('/').pop()!;

const patchSpec = (namespace: string, name: string, spec: Record<string, unknown>) =>
  claimsApi().patchNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name, body: { spec } }, mergePatch);

async function token(namespace: string, sa: string, audience: string): Promise<string> {
  const out = await core().createNamespacedServiceAccountToken({ namespace, name: sa, body: { spec: { audiences: [audience] } } });
  return out.status!.token!;
}

/** A pod as the webhook leaves it: IRSA or Pod Identity environment in its container. */
async function webhookMutatedPod(namespace: string, name: string, sa: string, mechanism: Mech, roleArn: string): Promise<void> {
  const env = mechanism === 'IRSA'
    ? [{ name: 'AWS_ROLE_ARN', value: roleArn }, { name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token' }]
    : [{ name: 'AWS_CONTAINER_CREDENTIALS_FULL_URI', value: 'http://169.254.170.23/v1/credentials' }, { name: 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE', value: '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token' }];
  await core().createNamespacedPod({ namespace, body: { metadata: { name }, spec: { serviceAccountName: sa, containers: [{ name: 'app', image: 'app:1', env }] } } });
}

async function deletePod(namespace: string, name: string): Promise<void> {
  await core().deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 });
  for (let i = 0; i < 100; i++) {
    try {
      await core().readNamespacedPod({ namespace, name });
    } catch {
      return;
    }
    await sleep(100);
  }
}

async function trustedMechanisms(roleArn: string): Promise<Mech[]> {
  const doc = JSON.parse(decodeURIComponent((await iam().send(new GetRoleCommand({ RoleName: roleName(roleArn) }))).Role!.AssumeRolePolicyDocument!)) as { Statement: Array<{ Principal: { Federated?: string; Service?: string } }> };
  const out = new Set<Mech>();
  for (const s of doc.Statement) {
    if (s.Principal.Federated) out.add('IRSA');
    if (s.Principal.Service === 'pods.eks.amazonaws.com') out.add('PodIdentity');
  }
  return [...out].sort();
}

async function events(namespace: string, name: string): Promise<CoreV1Event[]> {
  return (await core().listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` })).items;
}

describe('mechanism switch keeps running pods working', () => {
  let env: ControllerEnv;
  beforeAll(async () => {
    env = await startControllerEnv();
  });
  afterAll(async () => {
    await env?.stop();
  });

  it.each([
    ['IRSA' as Mech, 'PodIdentity' as Mech],
    ['PodIdentity' as Mech, 'IRSA' as Mech],
  ])('%s -> %s: a token minted before the switch keeps working until the last old pod is gone; only then the old trust goes', async (from, to) => {
    const ns = await freshNamespace('it-switch2');
    await createClaim(ns, 'app', testClaimSpec('app-sa', from));
    const roleArn = (await waitForReady(ns, 'app', 60_000))!.status!.roleArn!;
    await webhookMutatedPod(ns, 'old-1', 'app-sa', from, roleArn);
    await webhookMutatedPod(ns, 'old-2', 'app-sa', from, roleArn);
    const oldToken = await token(ns, 'app-sa', from === 'IRSA' ? 'sts.amazonaws.com' : 'pods.eks.amazonaws.com');
    expect(await exchangeAsPod(from, oldToken, roleArn)).toBe('ok');

    await patchSpec(ns, 'app', { mechanism: to });
    const waiting = await waitForClaim(ns, 'app', (c) => condition(c, 'MechanismSwitch')?.reason === 'WaitingForPods' && c?.status?.mechanism === to, 60_000);
    expect(condition(waiting, 'MechanismSwitch')!.message).toContain('2 running pods still use');
    // The new mechanism is in place and verified...
    await waitForReady(ns, 'app', 60_000);
    // ... while the old trust stays: several reconciles later the old token still exchanges.
    for (let i = 0; i < 5; i++) {
      env.controller.queue.add(`${ns}/app`);
      await env.controller.queue.idle();
      expect(await trustedMechanisms(roleArn)).toEqual(['IRSA', 'PodIdentity']);
      expect(await exchangeAsPod(from, oldToken, roleArn)).toBe('ok');
      await sleep(200);
    }
    if (from === 'PodIdentity') expect((await awsFake().associations()).filter((a) => a.namespace === ns)).toHaveLength(1);

    await deletePod(ns, 'old-1');
    const one = await waitForClaim(ns, 'app', (c) => /1 running pod still uses/.test(condition(c, 'MechanismSwitch')?.message ?? ''), 30_000);
    expect(condition(one, 'MechanismSwitch')!.message).toContain('old-2');
    expect(await exchangeAsPod(from, oldToken, roleArn)).toBe('ok');
    expect(await trustedMechanisms(roleArn)).toEqual(['IRSA', 'PodIdentity']);

    // The last old pod goes: the pod watch wakes the claim (the resync is an hour here).
    await deletePod(ns, 'old-2');
    const done = await waitForClaim(ns, 'app', (c) => readyCondition(c)?.status === 'True' && !condition(c, 'MechanismSwitch'), 30_000);
    expect(done!.status!.mechanism).toBe(to);
    expect(await trustedMechanisms(roleArn)).toEqual([to]);
    expect(await exchangeAsPod(from, oldToken, roleArn)).not.toBe('ok');
    if (to === 'IRSA') expect((await awsFake().associations()).filter((a) => a.namespace === ns)).toEqual([]);
    const sa = await core().readNamespacedServiceAccount({ namespace: ns, name: 'app-sa' });
    expect(sa.metadata?.annotations?.['eks.amazonaws.com/role-arn']).toBe(to === 'IRSA' ? roleArn : undefined);
    const reasons = (await events(ns, 'app')).map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['OldBindingRetired', 'OldTrustRetired']));
  }, 180_000);
});

describe('mechanism switch with four issuers', () => {
  let env: ControllerEnv;
  const extra = ['https://oidc.eks.eu-west-1.amazonaws.com/id/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA1', 'https://oidc.eks.eu-west-1.amazonaws.com/id/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA2', 'https://oidc.eks.eu-west-1.amazonaws.com/id/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA3'];
  beforeAll(async () => {
    env = await startControllerEnv({ config: testPlatformConfig((raw) => (raw.cluster.oidcIssuers = extra.map((url) => ({ url })))) });
    // Their OIDC providers exist too (a missing one would be OIDCProviderMissing).
    for (const url of extra) await iam().send(new CreateOpenIDConnectProviderCommand({ Url: url, ClientIDList: ['sts.amazonaws.com'], ThumbprintList: ['0'.repeat(40)] }));
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('IRSA -> Pod Identity: the dual trust does not fit, so the claim is refused (LimitExceeded, naming the rule) before any write', async () => {
    const ns = await freshNamespace('it-switch4');
    await createClaim(ns, 'app', testClaimSpec('app-sa', 'IRSA'));
    const created = (await waitForReady(ns, 'app', 60_000))!;
    const roleArn = created.status!.roleArn!;
    expect(env.config.cluster.oidcIssuers).toHaveLength(4);
    // The precondition, from the compiler: IRSA alone fits, IRSA + Pod Identity does not.
    const asPodIdentity = { ...created, spec: { ...created.spec, mechanism: 'PodIdentity' } } as AwsWorkloadIdentityClaim;
    expect(compileClaim(created, env.config).ok).toBe(true);
    const dual = compileClaim(asPodIdentity, env.config, { alsoTrust: 'IRSA' });
    expect(dual.ok ? [] : dual.problems.map((p) => p.rule)).toEqual(['trust-policy-size']);

    const trustBefore = (await iam().send(new GetRoleCommand({ RoleName: roleName(roleArn) }))).Role!.AssumeRolePolicyDocument;
    await env.controller.queue.idle();
    await awsFake().resetCalls();
    await patchSpec(ns, 'app', { mechanism: 'PodIdentity' });
    const after = await waitForClaim(ns, 'app', (c) => readyCondition(c)?.reason === 'LimitExceeded' || c?.status?.mechanism === 'PodIdentity', 60_000);
    const ready = readyCondition(after)!;
    expect(ready).toMatchObject({ status: 'False', reason: 'LimitExceeded' });
    expect(ready.message).toContain('spec.mechanism');
    expect(ready.message).toContain('spec.mechanism: trust-policy-size: ');
    expect(ready.message).toContain('limits.trustPolicyMaxChars');
    // Nothing changed: no AWS write, the trust and the IRSA binding as they were.
    env.controller.queue.add(`${ns}/app`);
    await env.controller.queue.idle();
    expect(writeCalls(await awsFake().calls())).toEqual({});
    expect((await iam().send(new GetRoleCommand({ RoleName: roleName(roleArn) }))).Role!.AssumeRolePolicyDocument).toBe(trustBefore);
    expect((await awsFake().associations()).filter((a) => a.namespace === ns)).toEqual([]);
    const sa = await core().readNamespacedServiceAccount({ namespace: ns, name: 'app-sa' });
    expect(sa.metadata?.annotations?.['eks.amazonaws.com/role-arn']).toBe(roleArn);
  }, 120_000);
});
