// The shared IAM and EKS observation on the test bed, counted by operation
// (counts, not timings): creation at the minimum (one reconcile per claim,
// its writes and no GetRole before them, no read-back, propagation confirmed
// by the credentials check), a no-op resync of many claims that costs pages
// instead of per-claim reads and writes no status, and a restart whose first
// pass makes no per-claim AWS call; drift made between two page reads is
// still found and restored.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CreateRoleCommand, GetRoleCommand, GetRolePolicyCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { createClaim, getClaim, readyCondition, startControllerEnv, testClaimSpec, waitForClaim, waitForReady, writeCalls, type ControllerEnv } from '../harness/controller-env.js';
import type { Controller } from '../../src/controller/controller.js';
import { awsClientConfig, awsFake, freshNamespace, testbed } from '../../testbed/harness/testbed.js';

const iam = () => new IAMClient(awsClientConfig());
const ROLE_READS = ['iam:GetRole', 'iam:GetRolePolicy', 'iam:ListRolePolicies', 'iam:ListAttachedRolePolicies'];
const PAGE_READS = ['iam:GetAccountAuthorizationDetails', 'iam:ListRoles', 'eks:ListPodIdentityAssociations'];
/** Token exchanges of the credentials check (what a pod would do), counted apart from IAM and EKS reads. */
const EXCHANGES = /^(sts:AssumeRoleWithWebIdentity|eks-auth:AssumeRoleForPodIdentity)$/;
const total = (calls: Record<string, number>) => Object.values(calls).reduce((a, b) => a + b, 0);
const pick = (calls: Record<string, number>, keep: (api: string) => boolean) => Object.fromEntries(Object.entries(calls).filter(([api]) => keep(api)));
async function reconciles(c: Controller): Promise<number> {
  return (await c.metrics.reconciles.get()).values.reduce((a, v) => a + v.value, 0);
}

let env: ControllerEnv;
beforeAll(async () => {
  // The observations are trusted for an hour: only explicit refreshes (standing in for the period) read pages.
  env = await startControllerEnv({ observeMs: 3_600_000, associationRecheckMs: 3_600_000 });
});
afterAll(async () => {
  await env?.stop();
});

async function inlinePolicy(roleName: string): Promise<string> {
  return decodeURIComponent((await iam().send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: 'awi-permissions' }))).PolicyDocument!);
}

describe('costs by operation, 20 claims (10 Pod Identity, 10 IRSA)', () => {
  const n = 20;
  const names = Array.from({ length: n }, (_, i) => `c${i}`);
  let ns: string;

  it('creation: one reconcile per claim, at most 3 writes and 3 reads per claim, no read-back', async () => {
    ns = await freshNamespace('it-observe');
    await env.controller.queue.idle();
    await awsFake().resetCalls();
    const before = await reconciles(env.controller);
    for (const [i, name] of names.entries()) await createClaim(ns, name, testClaimSpec(`sa-${i}`, i % 2 ? 'IRSA' : 'PodIdentity'));
    for (const name of names) await waitForReady(ns, name);
    await env.controller.queue.idle();
    const calls = await awsFake().calls();
    const count = (await reconciles(env.controller)) - before;
    const writes = writeCalls(calls);
    const reads = pick(calls, (api) => !(api in writes) && !EXCHANGES.test(api));
    const exchanges = pick(calls, (api) => EXCHANGES.test(api));
    console.log(
      `creation of ${n} claims: ${count} reconciles (${(count / n).toFixed(2)} per claim)\n` +
        `  writes ${JSON.stringify(writes)} (${(total(writes) / n).toFixed(2)} per claim)\n` +
        `  reads ${JSON.stringify(reads)} (${(total(reads) / n).toFixed(2)} per claim)\n` +
        `  credential checks ${JSON.stringify(exchanges)}`,
    );
    expect(writes).toEqual({ 'iam:CreateRole': n, 'iam:PutRolePolicy': n, 'eks:CreatePodIdentityAssociation': n / 2 });
    expect(total(reads) / n).toBeLessThanOrEqual(3);
    // No read-back of what the creates returned, no per-claim association list before the create.
    for (const api of ['eks:DescribePodIdentityAssociation', 'iam:GetRolePolicy', 'iam:ListRolePolicies', 'iam:ListAttachedRolePolicies']) expect({ api, calls: calls[api] ?? 0 }).toEqual({ api, calls: 0 });
    expect(calls['eks:ListPodIdentityAssociations'] ?? 0).toBeLessThanOrEqual(1);
    // Propagation was confirmed by one credentials check per claim, not by a second full reconcile,
    // and the watch echoes of awi's own writes (finalizer, ServiceAccount) ran no second one either.
    expect(total(exchanges)).toBe(n);
    expect(count).toBe(n);
    // A new claim's role is not read before CreateRole: the page observation (one read, shared) shows no role of its name.
    expect(calls['iam:GetRole'] ?? 0).toBe(0);
    expect((calls['iam:GetAccountAuthorizationDetails'] ?? 0) + (calls['iam:ListRoles'] ?? 0)).toBeLessThanOrEqual(2);
  });

  it('a no-op resync costs the pages (IAM and EKS), not per-claim reads, and writes no status', async () => {
    // The periodic page reads, counted on their own.
    await awsFake().resetCalls();
    await env.controller.roleCache.refresh(testbed().accountId);
    await env.controller.associationCache.refresh();
    const refresh = await awsFake().calls();
    const versions = new Map<string, string>();
    for (const name of names) versions.set(name, (await getClaim(ns, name))!.metadata!.resourceVersion!);

    await awsFake().resetCalls();
    for (const name of names) env.controller.queue.add(`${ns}/${name}`);
    await env.controller.queue.idle();
    const resync = await awsFake().calls();
    console.log(
      `no-op resync of ${n} claims:\n` +
        `  one page refresh (IAM and EKS): ${JSON.stringify(refresh)} (${total(refresh)} calls)\n` +
        `  the ${n} reconciles: ${JSON.stringify(resync)} (${total(resync)} calls)`,
    );
    expect(writeCalls(resync)).toEqual({});
    expect(resync).toEqual({});
    // The refresh is pages: a handful of calls, whatever the number of claims (the rotation's describes are not due within the hour).
    expect(Object.keys(refresh).filter((api) => !PAGE_READS.includes(api))).toEqual([]);
    expect(total(refresh)).toBeLessThanOrEqual(4);
    // Quiet writes: no claim's status was patched.
    for (const name of names) expect({ name, rv: (await getClaim(ns, name))!.metadata!.resourceVersion }).toEqual({ name, rv: versions.get(name) });
  });

  it('a restart: the pages once, then no per-claim AWS call and no status write', async () => {
    await env.controller.queue.idle();
    const versions = new Map<string, string>();
    for (const name of names) versions.set(name, (await getClaim(ns, name))!.metadata!.resourceVersion!);
    await env.stop();
    await awsFake().resetCalls();
    // A fresh controller over the same bed: it knows nothing, the claims' status is all it has.
    env = await startControllerEnv({ reset: false, observeMs: 3_600_000, associationRecheckMs: 3_600_000 });
    for (const name of names) env.controller.queue.add(`${ns}/${name}`);
    await env.controller.queue.idle();
    const calls = await awsFake().calls();
    const exchanges = pick(calls, (api) => EXCHANGES.test(api));
    const aws = pick(calls, (api) => !EXCHANGES.test(api) && api !== 'sts:GetCallerIdentity');
    console.log(
      `restart, first pass over ${n} claims (and any other claim on the bed):\n` +
        `  IAM and EKS ${JSON.stringify(aws)} (${total(aws)} calls)\n` +
        `  credential checks ${JSON.stringify(exchanges)} (the verdicts status recorded are re-checked spread over one verification interval)`,
    );
    expect(writeCalls(calls)).toEqual({});
    expect(exchanges).toEqual({});
    expect(Object.keys(aws).filter((api) => !PAGE_READS.includes(api) && !api.startsWith('eks:DescribeCluster') && !api.startsWith('iam:GetOpenIDConnectProvider') && !api.startsWith('iam:ListOpenIDConnectProviders') && !api.startsWith('eks:DescribeAddon'))).toEqual([]);
    expect(total(pick(aws, (api) => PAGE_READS.includes(api)))).toBeLessThanOrEqual(4);
    for (const name of names) expect({ name, rv: (await getClaim(ns, name))!.metadata!.resourceVersion }).toEqual({ name, rv: versions.get(name) });
  });
});

describe('a role the page observation does not show', () => {
  it('outside awi\'s path, not the claim\'s: CreateRole refuses it, a direct read blocks the claim, the role is untouched', async () => {
    const ns = await freshNamespace('it-observe-taken');
    const name = `${testbed().clusterName}-${ns}-taken-sa`;
    const foreignTrust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] });
    // Outside awi's path: the pages never keep it, so the cache says "no such role".
    await iam().send(new CreateRoleCommand({ RoleName: name, Path: '/', AssumeRolePolicyDocument: foreignTrust }));
    await env.controller.roleCache.refresh(testbed().accountId);
    expect(await env.controller.roleCache.absent(testbed().accountId, name)).toBe(true);
    await env.controller.queue.idle();
    await awsFake().resetCalls();
    await createClaim(ns, 'taken', testClaimSpec('taken-sa', 'PodIdentity'));
    const claim = await waitForClaim(ns, 'taken', (c) => readyCondition(c)?.reason === 'RoleNotOwned');
    expect(claim!.status!.conditions!.find((c) => c.type === 'RoleReady')).toMatchObject({ status: 'False', reason: 'RoleNotOwned' });
    const calls = await awsFake().calls();
    // The create was tried on the cached absence and refused; the ownership check ran on a direct read; nothing else was written.
    expect(writeCalls(calls)).toEqual({ 'iam:CreateRole': 1 });
    expect(calls['iam:GetRole'] ?? 0).toBeGreaterThanOrEqual(1);
    const role = await iam().send(new GetRoleCommand({ RoleName: name }));
    expect(JSON.parse(decodeURIComponent(role.Role!.AssumeRolePolicyDocument!))).toEqual(JSON.parse(foreignTrust));
    expect(role.Role!.Tags ?? []).toEqual([]);
    expect(role.Role!.Path).toBe('/');
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
