// The controller under adverse conditions on the test bed: AWS throttling and
// IAM propagation lag at scale, and a controller that stops in the middle of
// reconciling (or of deleting) and is replaced by a fresh one. In every case
// the end state must be the same as on a calm day: every claim converges, and
// there is exactly one role per claim and one association per Pod Identity
// claim, all carrying the ownership tags.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api } from '@kubernetes/client-node';
import { GetRoleCommand, IAMClient, ListRolesCommand, type Role } from '@aws-sdk/client-iam';
import type { AwsWorkloadIdentityClaim } from '../../src/api/types.js';
import { GROUP, PLURAL, VERSION } from '../../src/kube/claims.js';
import {
  claimsApi, createClaim, getClaim, readyCondition, startControllerEnv, waitForClaim, waitForReady, type ControllerEnv,
} from '../harness/controller-env.js';
import { awsClientConfig, awsFake, freshNamespace, kubeConfig, testbed } from '../../testbed/harness/testbed.js';

const iam = () => new IAMClient(awsClientConfig());
const core = () => kubeConfig().makeApiClient(CoreV1Api);

type Mech = 'IRSA' | 'PodIdentity';
interface ClaimRef {
  namespace: string;
  name: string;
  sa: string;
  mechanism: Mech;
}

/** A few permission shapes, so the claims are not all alike. */
function permissions(i: number): Record<string, unknown> {
  switch (i % 3) {
    case 0: return { s3: [{ bucket: 'company-prod-data', prefix: `app-${i}/`, access: ['read'] }] };
    case 1: return { sqs: [{ queue: `events-${i}`, access: ['send'] }] };
    default: return { dynamodb: [{ table: `table-${i}`, access: ['read'], indexes: true }] };
  }
}

const spec = (c: ClaimRef, i: number) => ({
  serviceAccountName: c.sa,
  owner: 'team-r',
  environment: 'prod',
  mechanism: c.mechanism,
  aws: { accountId: testbed().accountId, region: testbed().region },
  permissions: permissions(i),
});

/** `count` claims spread over `namespaces`, alternating IRSA and Pod Identity. */
function plan(namespaces: string[], count: number): ClaimRef[] {
  return Array.from({ length: count }, (_, i) => ({
    namespace: namespaces[i % namespaces.length]!,
    name: `claim-${i}`,
    sa: `sa-${i}`,
    mechanism: i % 2 === 0 ? 'IRSA' : 'PodIdentity',
  }));
}

/** Creates the claims ten at a time (as a burst of kubectl applies would), `pauseMs` between bursts. */
async function createAll(claims: ClaimRef[], pauseMs = 0): Promise<void> {
  for (let i = 0; i < claims.length; i += 10) {
    if (i > 0 && pauseMs > 0) await sleep(pauseMs);
    await Promise.all(claims.slice(i, i + 10).map((c, j) => createClaim(c.namespace, c.name, spec(c, i + j))));
  }
}

const isReady = (c: AwsWorkloadIdentityClaim | undefined) =>
  readyCondition(c)?.status === 'True' && c?.status?.observedGeneration === c?.metadata.generation;

/** Waits until every claim is Ready; on timeout names the ones that are not, with their Ready condition. */
async function waitAllReady(claims: ClaimRef[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let pending = claims;
  while (Date.now() < deadline) {
    const states = await Promise.all(pending.map(async (c) => ({ c, claim: await getClaim(c.namespace, c.name) })));
    pending = states.filter((s) => !isReady(s.claim)).map((s) => s.c);
    if (pending.length === 0) return;
    await sleep(500);
  }
  const report = await Promise.all(pending.slice(0, 10).map(async (c) => `${c.namespace}/${c.name}: ${JSON.stringify(readyCondition(await getClaim(c.namespace, c.name)))}`));
  throw new Error(`${pending.length} of ${claims.length} claims not Ready after ${timeoutMs} ms:\n${report.join('\n')}`);
}

/** Every role under the awi path (ListRoles, paginated), with its tags (GetRole). */
async function awiRoles(): Promise<Array<{ role: Role; tags: Record<string, string> }>> {
  const client = iam();
  const roles: Role[] = [];
  let marker: string | undefined;
  do {
    const out = await client.send(new ListRolesCommand({ PathPrefix: '/awi/', MaxItems: 20, ...(marker ? { Marker: marker } : {}) }));
    roles.push(...(out.Roles ?? []));
    marker = out.IsTruncated ? out.Marker : undefined;
  } while (marker);
  const withTags = await Promise.all(roles.map(async (role) => {
    try {
      const got = await client.send(new GetRoleCommand({ RoleName: role.RoleName! }));
      return [{ role, tags: Object.fromEntries((got.Role?.Tags ?? []).map((t) => [t.Key!, t.Value!])) }];
    } catch (err) {
      if ((err as Error).name === 'NoSuchEntityException') return []; // deleted since the list
      throw err;
    }
  }));
  return withTags.flat();
}

/**
 * The ledger check: exactly one role per claim (found by listing IAM, not by
 * asking the claim), carrying every ownership tag with the claim's uid; exactly
 * one association per Pod Identity claim pointing at its role; none for IRSA.
 */
async function expectOneOfEach(claims: ClaimRef[]): Promise<void> {
  const namespaces = new Set(claims.map((c) => c.namespace));
  const roles = (await awiRoles()).filter((r) => [...namespaces].some((ns) => r.role.RoleName!.includes(ns) || r.tags['awi.dev/namespace'] === ns));
  expect(roles).toHaveLength(claims.length);
  const associations = (await awsFake().associations()).filter((a) => namespaces.has(a.namespace));
  expect(associations).toHaveLength(claims.filter((c) => c.mechanism === 'PodIdentity').length);

  for (const c of claims) {
    const claim = (await getClaim(c.namespace, c.name))!;
    const mine = roles.filter((r) => r.tags['awi.dev/namespace'] === c.namespace && r.tags['awi.dev/claim'] === c.name);
    expect(mine).toHaveLength(1);
    const { role, tags } = mine[0]!;
    expect(role.Arn).toBe(claim.status!.roleArn);
    expect(tags).toMatchObject({
      'awi.dev/managed-by': 'awi',
      'awi.dev/cluster': `arn:aws:eks:${testbed().region}:${testbed().accountId}:cluster/${testbed().clusterName}`,
      'awi.dev/namespace': c.namespace,
      'awi.dev/claim': c.name,
      'awi.dev/claim-uid': claim.metadata.uid,
      'awi.dev/owner': 'team-r',
      'awi.dev/environment': 'prod',
    });
    const bound = associations.filter((a) => a.namespace === c.namespace && a.serviceAccount === c.sa);
    if (c.mechanism === 'PodIdentity') {
      expect(bound).toHaveLength(1);
      expect(bound[0]).toMatchObject({ roleArn: role.Arn, associationId: claim.status!.associationId });
    } else {
      expect(bound).toHaveLength(0);
      const sa = await core().readNamespacedServiceAccount({ namespace: c.namespace, name: c.sa });
      expect(sa.metadata?.annotations?.['eks.amazonaws.com/role-arn']).toBe(role.Arn);
    }
  }
}

/** Resolves when the fake's call log shows a successful call of `api` (after `sinceSeq`). */
async function waitForCall(api: string, sinceSeq = 0, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await awsFake().callLog({ api, sinceSeq })).some((e) => e.outcome === 'ok')) return;
    await sleep(25);
  }
  throw new Error(`no successful ${api} within ${timeoutMs} ms`);
}

const lastSeq = async () => (await awsFake().callLog()).reduce((m, e) => Math.max(m, e.seq), 0);

/**
 * Stops the controller as a crash would leave things: from now on AWS fails
 * every call, so whatever the in-flight reconciles had not yet written stays
 * unwritten (stop() waits for them to end, and they end failing), then the
 * controller is stopped and AWS comes back.
 */
async function crash(env: ControllerEnv): Promise<void> {
  await awsFake().setFaults([{ api: 'iam:*', fault: 'unavailable' }, { api: 'eks:*', fault: 'unavailable' }]);
  expect(env.controller.queue.inFlight).toBeGreaterThan(0); // it really was mid-reconcile
  await env.stop();
  await awsFake().clearFaults();
}

let env: ControllerEnv | undefined;
beforeAll(async () => {
  env = await startControllerEnv({ propagationRequeueMs: 500 });
});
afterEach(async () => {
  await awsFake().clearFaults();
  await awsFake().setPropagationLag(0);
});
afterAll(async () => {
  await env?.stop();
  await awsFake().clearFaults();
  await awsFake().setPropagationLag(0);
});

describe('throttling and IAM propagation lag', () => {
  it('50 claims converge with 30% of IAM and EKS calls throttled and a 5 s propagation lag; no duplicates', async () => {
    const namespaces = await Promise.all([1, 2, 3].map(() => freshNamespace('it-thr')));
    const claims = plan(namespaces, 50);
    await awsFake().setFaults([
      { api: 'iam:*', fault: 'throttle', rate: 0.3 },
      { api: 'eks:*', fault: 'throttle', rate: 0.3 },
    ]);
    await awsFake().setPropagationLag(5000);
    const since = await lastSeq();

    // In bursts, so that the queue is not so long that every propagation
    // check comes after the lag anyway.
    await createAll(claims, 3000);
    await waitAllReady(claims, 300_000);

    const faults = await awsFake().faults();
    expect(faults.map((f) => f.injected).every((n) => n > 0)).toBe(true); // the controller really was throttled
    // Whether a given claim's propagation check falls inside the lag depends on
    // queue timing; the single-claim test below makes that case certain.
    const created = (await awsFake().callLog({ api: 'iam:CreateRole', sinceSeq: since })).filter((e) => e.outcome === 'ok').length;
    expect(created).toBe(claims.length);

    await awsFake().clearFaults();
    await awsFake().setPropagationLag(0);
    await expectOneOfEach(claims);
  }, 420_000);

  it('a role IAM does not show yet is not created twice: IAMPropagating, then Ready', async () => {
    const ns = await freshNamespace('it-lag');
    // The next check comes 500 ms after the create, well inside the lag.
    await awsFake().setPropagationLag(3000);
    const since = await lastSeq();
    const ref: ClaimRef = { namespace: ns, name: 'lag', sa: 'lag-sa', mechanism: 'IRSA' };
    await createClaim(ns, 'lag', spec(ref, 0));
    await waitForClaim(ns, 'lag', (c) => readyCondition(c)?.reason === 'IAMPropagating');
    await waitForReady(ns, 'lag', 60_000);
    const creates = await awsFake().callLog({ api: 'iam:CreateRole', sinceSeq: since });
    expect(creates).toHaveLength(1);
    expect(creates[0]!.outcome).toBe('ok');
    // The re-checks while IAM did not show the role read nothing back: the role is as written, the token exchange waits.
    const readsAfter = await awsFake().callLog({ api: 'iam:GetRole', sinceSeq: creates[0]!.seq });
    expect(readsAfter).toEqual([]);
    await awsFake().setPropagationLag(0);
    await expectOneOfEach([ref]);
  }, 90_000);
});

describe('restarts', () => {
  it('a controller stopped mid-reconcile is replaced by a fresh one and every claim converges once', async () => {
    const ns = await freshNamespace('it-restart');
    const claims = plan([ns], 12);
    // Slow AWS down so that the first controller is caught with reconciles half done.
    await awsFake().setFaults([{ api: 'iam:*', fault: 'latency', latencyMs: 150 }, { api: 'eks:*', fault: 'latency', latencyMs: 150 }]);
    const since = await lastSeq();
    await createAll(claims);
    await waitForCall('iam:CreateRole', since);
    await crash(env!);

    // Half done: some roles exist, some claims are not Ready.
    const states = await Promise.all(claims.map((c) => getClaim(c.namespace, c.name)));
    expect(states.filter(isReady).length).toBeLessThan(claims.length);
    expect((await awiRoles()).filter((r) => r.tags['awi.dev/namespace'] === ns).length).toBeGreaterThan(0);

    env = await startControllerEnv({ reset: false, propagationRequeueMs: 1000 });
    await waitAllReady(claims, 120_000);
    await expectOneOfEach(claims);
    // Converged once: across both controllers every role and association was created exactly once.
    const created = async (api: string) => (await awsFake().callLog({ api, sinceSeq: since })).filter((e) => e.outcome === 'ok').length;
    expect(await created('iam:CreateRole')).toBe(claims.length);
    expect(await created('eks:CreatePodIdentityAssociation')).toBe(claims.filter((c) => c.mechanism === 'PodIdentity').length);
  }, 180_000);

  it('a controller stopped mid-delete is replaced by a fresh one that finishes the cleanup', async () => {
    const ns = await freshNamespace('it-restart-del');
    const claims = plan([ns], 8);
    await createAll(claims);
    await waitAllReady(claims, 60_000);
    const roleNames = (await awiRoles()).filter((r) => r.tags['awi.dev/namespace'] === ns).map((r) => r.role.RoleName!);
    expect(roleNames).toHaveLength(claims.length);

    await awsFake().setFaults([{ api: 'iam:*', fault: 'latency', latencyMs: 150 }, { api: 'eks:*', fault: 'latency', latencyMs: 150 }]);
    const since = await lastSeq();
    await Promise.all(claims.map((c) => claimsApi().deleteNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: c.namespace, name: c.name })));
    await waitForCall('iam:DeleteRolePolicy', since);
    await crash(env!);
    // Cleanup was cut short: roles are left, and the finalizer holds the claims that own them.
    expect((await awiRoles()).filter((r) => r.tags['awi.dev/namespace'] === ns).length).toBeGreaterThan(0);
    expect((await Promise.all(claims.map((c) => getClaim(c.namespace, c.name)))).filter(Boolean).length).toBeGreaterThan(0);

    env = await startControllerEnv({ reset: false, propagationRequeueMs: 1000 });
    for (const c of claims) await waitForClaim(c.namespace, c.name, (x) => x === undefined, 60_000);
    expect((await awiRoles()).filter((r) => r.tags['awi.dev/namespace'] === ns)).toEqual([]);
    for (const name of roleNames) {
      await expect(iam().send(new GetRoleCommand({ RoleName: name }))).rejects.toMatchObject({ name: 'NoSuchEntityException' });
    }
    expect((await awsFake().associations()).filter((a) => a.namespace === ns)).toEqual([]);
    const sas = await core().listNamespacedServiceAccount({ namespace: ns });
    expect(sas.items.filter((s) => s.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'awi')).toEqual([]);
  }, 180_000);
});
