// The shared IAM observation on the test bed: a no-op resync of many claims
// costs the role pages, not per-claim role reads, and writes no status; drift
// made between two page reads is still found and restored.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { GetRolePolicyCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { createClaim, getClaim, startControllerEnv, testClaimSpec, waitForReady, writeCalls, type ControllerEnv } from '../harness/controller-env.js';
import { awsClientConfig, awsFake, freshNamespace, testbed } from '../harness/testbed.js';

const iam = () => new IAMClient(awsClientConfig());
const ROLE_READS = ['iam:GetRole', 'iam:GetRolePolicy', 'iam:ListRolePolicies', 'iam:ListAttachedRolePolicies'];
const PAGE_READS = ['iam:GetAccountAuthorizationDetails', 'iam:ListRoles'];

let env: ControllerEnv;
beforeAll(async () => {
  // The observation is trusted for an hour: only explicit refreshes (standing in for the period) read pages.
  env = await startControllerEnv({ observeMs: 3_600_000 });
});
afterAll(async () => {
  await env?.stop();
});

async function inlinePolicy(roleName: string): Promise<string> {
  return decodeURIComponent((await iam().send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: 'awi-permissions' }))).PolicyDocument!);
}

describe('a no-op resync through the shared observation', () => {
  it('costs the role pages, not per-claim role reads, and writes no status', async () => {
    const ns = await freshNamespace('it-observe');
    const n = 20;
    const names = Array.from({ length: n }, (_, i) => `c${i}`);
    for (const [i, name] of names.entries()) await createClaim(ns, name, testClaimSpec(`sa-${i}`, i % 2 ? 'IRSA' : 'PodIdentity'));
    for (const name of names) await waitForReady(ns, name);
    await env.controller.queue.idle();

    // The periodic page read, counted on its own.
    await awsFake().resetCalls();
    await env.controller.roleCache.refresh(testbed().accountId);
    const refresh = await awsFake().calls();
    const versions = new Map<string, string>();
    for (const name of names) versions.set(name, (await getClaim(ns, name))!.metadata!.resourceVersion!);

    await awsFake().resetCalls();
    for (const name of names) env.controller.queue.add(`${ns}/${name}`);
    await env.controller.queue.idle();
    const resync = await awsFake().calls();

    const iamCalls = Object.entries(resync).filter(([api]) => api.startsWith('iam:'));
    const total = (calls: Record<string, number>) => Object.values(calls).reduce((a, b) => a + b, 0);
    // Printed for the record; only the structural bounds are asserted.
    console.log(
      `no-op resync of ${n} claims (${n / 2} Pod Identity, ${n / 2} IRSA):\n` +
        `  one page refresh: ${JSON.stringify(refresh)} (${total(refresh)} calls)\n` +
        `  the ${n} reconciles: ${JSON.stringify(resync)} (${total(resync)} calls, ${(total(resync) / n).toFixed(2)} per claim; ` +
        `IAM ${iamCalls.reduce((a, [, c]) => a + c, 0)})\n` +
        '  EKS: ListPodIdentityAssociations + DescribePodIdentityAssociation per Pod Identity claim (the association side is not cached yet)',
    );
    expect(writeCalls(resync)).toEqual({});
    for (const api of ROLE_READS) expect({ api, calls: resync[api] ?? 0 }).toEqual({ api, calls: 0 });
    // The refresh is pages: at most a handful of calls, whatever the number of claims.
    expect(Object.keys(refresh).filter((api) => !PAGE_READS.includes(api))).toEqual([]);
    expect(total(refresh)).toBeLessThanOrEqual(4);
    // Quiet writes: no claim's status was patched.
    for (const name of names) expect({ name, rv: (await getClaim(ns, name))!.metadata!.resourceVersion }).toEqual({ name, rv: versions.get(name) });
  });
});

describe('drift between two page reads', () => {
  it('is found by the next observation and restored', async () => {
    const ns = await freshNamespace('it-observe-drift');
    await createClaim(ns, 'app', testClaimSpec('app-sa', 'IRSA'));
    const ready = await waitForReady(ns, 'app');
    const roleName = ready!.status!.roleArn!.split('/').pop()!;
    const original = await inlinePolicy(roleName);
    await env.controller.queue.idle();

    // Slow the second page stream down; change the role once the first stream (which carries the
    // inline policies) has been read: the refresh under way keeps the old policy.
    const since = (await awsFake().callLog()).reduce((m, e) => Math.max(m, e.seq), 0);
    await awsFake().setFaults([{ api: 'iam:ListRoles', fault: 'latency', latencyMs: 1500 }]);
    const refreshing = env.controller.roleCache.refresh(testbed().accountId);
    for (let i = 0; !(await awsFake().callLog({ api: 'iam:GetAccountAuthorizationDetails', sinceSeq: since })).some((e) => e.outcome === 'ok'); i++) {
      if (i > 400) throw new Error('no GetAccountAuthorizationDetails call');
      await sleep(25);
    }
    await iam().send(new PutRolePolicyCommand({ RoleName: roleName, PolicyName: 'awi-permissions', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] }) }));
    await refreshing;
    await awsFake().clearFaults();

    // A reconcile on that observation does not see the change (what was true when the pages were read):
    // this shows the change did land between the page reads, and that the reconcile read no role directly...
    env.controller.queue.add(`${ns}/app`);
    await env.controller.queue.idle();
    expect(await inlinePolicy(roleName)).toContain('"s3:*"');
    // ...the next observation does, and the reconcile restores the policy.
    await env.controller.roleCache.refresh(testbed().accountId);
    env.controller.queue.add(`${ns}/app`);
    await env.controller.queue.idle();
    for (let i = 0; (await inlinePolicy(roleName)) !== original; i++) {
      if (i > 200) throw new Error('the hand edit was not undone');
      await sleep(50);
    }
    expect(await inlinePolicy(roleName)).toBe(original);
  });
});
