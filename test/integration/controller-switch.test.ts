// Changing how a ServiceAccount is bound, and two claims wanting the same
// ServiceAccount. The switch between IRSA and Pod Identity is checked the way
// a workload would feel it: while the switch runs, every ~100 ms the test asks
// for credentials with a real ServiceAccount token through whichever binding
// is in place, and at every observation at least one way in must work.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api } from '@kubernetes/client-node';
import { GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { assumeRoleForPodIdentity } from '../../testbed/awsfake/client.js';
import { GROUP, PLURAL, VERSION } from '../../src/kube/claims.js';
import { mergePatch } from '../../src/kube/patch.js';
import {
  claimsApi, createClaim, getClaim, readyCondition, startControllerEnv, testPlatformConfig, waitForClaim, waitForReady, writeCalls,
  type ControllerEnv,
} from '../harness/controller-env.js';
import { awsClientConfig, awsFake, freshNamespace, kubeConfig, testbed } from '../../testbed/harness/testbed.js';

const iam = () => new IAMClient(awsClientConfig());
const sts = () => new STSClient(awsClientConfig());
const core = () => kubeConfig().makeApiClient(CoreV1Api);
const ROLE_ARN = 'eks.amazonaws.com/role-arn';

type Mech = 'IRSA' | 'PodIdentity';
const spec = (sa: string, mechanism: Mech, prefix = 'app/') => ({
  serviceAccountName: sa,
  owner: 'team-s',
  environment: 'prod',
  mechanism,
  aws: { accountId: testbed().accountId, region: testbed().region },
  permissions: { s3: [{ bucket: 'company-prod-data', prefix, access: ['read'] }] },
});

async function token(namespace: string, sa: string, audience: string): Promise<string> {
  const out = await core().createNamespacedServiceAccountToken({ namespace, name: sa, body: { spec: { audiences: [audience] } } });
  return out.status!.token!;
}

const patchSpec = (namespace: string, name: string, spec: Record<string, unknown>) =>
  claimsApi().patchNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name, body: { spec } }, mergePatch);

const roleName = (arn: string) => arn.split('/').pop()!;

async function trustPrincipals(roleArn: string): Promise<string[]> {
  const out = await iam().send(new GetRoleCommand({ RoleName: roleName(roleArn) }));
  const doc = JSON.parse(decodeURIComponent(out.Role!.AssumeRolePolicyDocument!)) as { Statement: Array<{ Principal: Record<string, string> }> };
  return doc.Statement.flatMap((s) => Object.entries(s.Principal).map(([k, v]) => `${k}:${v}`)).sort();
}

interface Observation {
  at: number;
  annotation?: string;
  associations: number;
  irsa?: string; // 'ok' or the error name
  podIdentity?: string;
  /** A binding that failed was also retired while it was being tried (then its failure is no gap). */
  retiredDuring?: Mech[];
}

/**
 * One observation: read the ServiceAccount, then the associations for it, then
 * try each binding that is in place, for real. Reading the ServiceAccount
 * first matters: during IRSA -> Pod Identity the association is created before
 * the annotation is removed, and the reverse switch sets the annotation before
 * deleting the association, so reading in this order never misses both.
 */
async function observe(namespace: string, sa: string): Promise<Observation> {
  const at = Date.now();
  const account = await core().readNamespacedServiceAccount({ namespace, name: sa });
  const annotation = account.metadata?.annotations?.[ROLE_ARN];
  const associations = (await awsFake().associations()).filter((a) => a.namespace === namespace && a.serviceAccount === sa);
  const o: Observation = { at, associations: associations.length, ...(annotation ? { annotation } : {}) };
  const attempts: Promise<void>[] = [];
  if (annotation) {
    attempts.push((async () => {
      try {
        const out = await sts().send(new AssumeRoleWithWebIdentityCommand({ RoleArn: annotation, RoleSessionName: 'switch', WebIdentityToken: await token(namespace, sa, 'sts.amazonaws.com') }));
        o.irsa = out.Credentials?.AccessKeyId ? 'ok' : 'no credentials';
      } catch (err) {
        o.irsa = (err as Error).name;
      }
    })());
  }
  if (associations.length) {
    attempts.push((async () => {
      try {
        const out = await assumeRoleForPodIdentity(testbed().awsEndpoint, testbed().clusterName, await token(namespace, sa, 'pods.eks.amazonaws.com'));
        o.podIdentity = out.credentials.accessKeyId ? 'ok' : 'no credentials';
      } catch (err) {
        o.podIdentity = (err as Error).name;
      }
    })());
  }
  await Promise.all(attempts);
  if ((o.irsa && o.irsa !== 'ok') || (o.podIdentity && o.podIdentity !== 'ok')) {
    const now = await core().readNamespacedServiceAccount({ namespace, name: sa });
    const stillAssociated = (await awsFake().associations()).some((a) => a.namespace === namespace && a.serviceAccount === sa);
    const retired: Mech[] = [];
    if (o.irsa && o.irsa !== 'ok' && now.metadata?.annotations?.[ROLE_ARN] !== annotation) retired.push('IRSA');
    if (o.podIdentity && o.podIdentity !== 'ok' && !stillAssociated) retired.push('PodIdentity');
    if (retired.length) o.retiredDuring = retired;
  }
  return o;
}

/** The requirement: at every observation at least one way in works. */
const works = (o: Observation) => o.irsa === 'ok' || o.podIdentity === 'ok';
/**
 * Stricter, what running pods feel: every binding in place works (pods started
 * under the old binding keep using it until they restart), unless the binding
 * was retired while it was being tried.
 */
const everyBindingWorks = (o: Observation) =>
  (o.irsa === undefined || o.irsa === 'ok' || !!o.retiredDuring?.includes('IRSA')) &&
  (o.podIdentity === undefined || o.podIdentity === 'ok' || !!o.retiredDuring?.includes('PodIdentity'));

/**
 * Patches the claim to `to` and observes every ~100 ms until the switch is
 * complete (Ready for the new generation, which comes only after the trust was
 * reduced to the new mechanism, and the old binding gone), then a few ticks
 * more. Returns every observation; the caller asserts on them.
 */
async function switchAndObserve(namespace: string, name: string, sa: string, to: Mech): Promise<Observation[]> {
  const observations: Observation[] = [await observe(namespace, sa)];
  await patchSpec(namespace, name, { mechanism: to });
  const deadline = Date.now() + 60_000;
  let settledTicks = 0;
  while (Date.now() < deadline && settledTicks < 5) {
    await sleep(100);
    const o = await observe(namespace, sa);
    observations.push(o);
    const claim = await getClaim(namespace, name);
    const ready = readyCondition(claim)?.status === 'True' && claim?.status?.observedGeneration === claim?.metadata.generation && claim?.status?.mechanism === to;
    const oldGone = to === 'PodIdentity' ? !o.annotation : o.associations === 0;
    if (ready && oldGone) settledTicks++;
  }
  return observations;
}

function expectAlwaysAWayIn(observations: Observation[], from: Mech, to: Mech): void {
  const broken = observations.filter((o) => !works(o) || !everyBindingWorks(o));
  // Show the whole timeline when it fails: it tells which step left the gap.
  expect({ broken, timeline: broken.length ? observations : [] }).toEqual({ broken: [], timeline: [] });
  const key = (m: Mech) => (m === 'IRSA' ? 'irsa' : 'podIdentity');
  expect(observations[0]![key(from)]).toBe('ok');
  expect(observations.at(-1)![key(to)]).toBe('ok');
  expect(observations.at(-1)![key(from)]).toBeUndefined(); // the old binding is gone
  expect(observations.length).toBeGreaterThan(5);
}

describe('mechanism switch', () => {
  let env: ControllerEnv;
  beforeAll(async () => {
    env = await startControllerEnv();
  });
  afterAll(async () => {
    await env?.stop();
    await awsFake().clearFaults();
  });

  it('IRSA -> Pod Identity -> IRSA: the ServiceAccount always has a working way in', async () => {
    const ns = await freshNamespace('it-switch');
    await createClaim(ns, 'app', spec('app-sa', 'IRSA'));
    const roleArn = (await waitForReady(ns, 'app'))!.status!.roleArn!;
    const provider = `Federated:arn:aws:iam::${testbed().accountId}:oidc-provider/${testbed().issuer.replace(/^https:\/\//, '')}`;
    expect(await trustPrincipals(roleArn)).toEqual([provider]);

    // Slow AWS writes and reads down, so that a gap between two steps would
    // last long enough for a 100 ms poll to see it.
    await awsFake().setFaults([{ api: 'iam:*', fault: 'latency', latencyMs: 100 }, { api: 'eks:*', fault: 'latency', latencyMs: 100 }]);

    // IRSA -> Pod Identity
    const toPod = await switchAndObserve(ns, 'app', 'app-sa', 'PodIdentity');
    expectAlwaysAWayIn(toPod, 'IRSA', 'PodIdentity');
    let claim = await waitForReady(ns, 'app');
    expect(claim!.status).toMatchObject({ mechanism: 'PodIdentity', roleArn });
    const sa = await core().readNamespacedServiceAccount({ namespace: ns, name: 'app-sa' });
    expect(sa.metadata?.annotations?.[ROLE_ARN]).toBeUndefined();
    const associations = (await awsFake().associations()).filter((a) => a.namespace === ns);
    expect(associations).toHaveLength(1);
    expect(associations[0]).toMatchObject({ serviceAccount: 'app-sa', roleArn, associationId: claim!.status!.associationId });
    expect(await trustPrincipals(roleArn)).toEqual(['Service:pods.eks.amazonaws.com']);

    // Pod Identity -> IRSA
    const toIrsa = await switchAndObserve(ns, 'app', 'app-sa', 'IRSA');
    expectAlwaysAWayIn(toIrsa, 'PodIdentity', 'IRSA');
    claim = await waitForReady(ns, 'app');
    expect(claim!.status).toMatchObject({ mechanism: 'IRSA', roleArn });
    expect(claim!.status!.associationId ?? null).toBeNull();
    const back = await core().readNamespacedServiceAccount({ namespace: ns, name: 'app-sa' });
    expect(back.metadata?.annotations?.[ROLE_ARN]).toBe(roleArn);
    expect((await awsFake().associations()).filter((a) => a.namespace === ns)).toEqual([]);
    expect(await trustPrincipals(roleArn)).toEqual([provider]);
    await awsFake().clearFaults();
  }, 120_000);
});

// Two claims for one ServiceAccount, once with the default role name template
// (both claims compile to the same role name) and once with a template that
// includes the claim name (the second claim's role would be a different one).
describe.each([
  ['{cluster}-{namespace}-{serviceAccount}'],
  ['{cluster}-{namespace}-{claim}'],
])('two claims for one ServiceAccount (role names %s)', (template) => {
  let env: ControllerEnv;
  beforeAll(async () => {
    env = await startControllerEnv({ config: testPlatformConfig((raw) => (raw.roles.nameTemplate = template)) });
  });
  afterAll(async () => {
    await env?.stop();
  });

  it.each([['PodIdentity' as Mech], ['IRSA' as Mech]])('%s: the second claim reports ServiceAccountConflict and never touches the binding', async (mechanism) => {
    const ns = await freshNamespace('it-two');
    await createClaim(ns, 'first', spec('shared-sa', mechanism));
    const first = (await waitForReady(ns, 'first'))!;
    const firstRole = first.status!.roleArn!;
    const binding = async () => ({
      annotation: (await core().readNamespacedServiceAccount({ namespace: ns, name: 'shared-sa' })).metadata?.annotations?.[ROLE_ARN],
      associations: (await awsFake().associations()).filter((a) => a.namespace === ns).map((a) => ({ id: a.associationId, roleArn: a.roleArn, serviceAccount: a.serviceAccount })),
    });
    const before = await binding();
    expect(mechanism === 'IRSA' ? before.annotation : before.associations[0]?.roleArn).toBe(firstRole);

    await awsFake().resetCalls();
    // The second claim asks for more (write access), through the other mechanism too: neither may leak.
    await createClaim(ns, 'second', { ...spec('shared-sa', mechanism === 'IRSA' ? 'PodIdentity' : 'IRSA', 'other/'), permissions: { s3: [{ bucket: 'company-prod-data', prefix: 'other/', access: ['read', 'write'] }] } });
    const second = await waitForClaim(ns, 'second', (c) => readyCondition(c)?.reason === 'ServiceAccountConflict');
    expect(readyCondition(second)).toMatchObject({ status: 'False', reason: 'ServiceAccountConflict' });
    expect(readyCondition(second)!.message).toContain(`${ns}/first`);
    expect(second!.status!.conditions!.find((c) => c.type === 'ServiceAccountReady')).toMatchObject({ status: 'False', reason: 'ServiceAccountConflict' });
    expect(second!.status!.roleArn).toBeUndefined(); // it manages no role (and must not claim the first one's)
    expect(second!.status!.associationId).toBeUndefined();

    // Several resyncs of both: nothing is written anywhere, the binding stays the first claim's.
    for (let i = 0; i < 4; i++) {
      env.controller.queue.add(`${ns}/second`);
      env.controller.queue.add(`${ns}/first`);
      await env.controller.queue.idle();
      expect(await binding()).toEqual(before);
    }
    expect(writeCalls(await awsFake().calls())).toEqual({});
    // The second claim's role was never created (with a per-claim name it would be a role of its own).
    const secondRoleName = template.includes('{claim}') ? `${testbed().clusterName}-${ns}-second` : roleName(firstRole);
    if (template.includes('{claim}')) {
      await expect(iam().send(new GetRoleCommand({ RoleName: secondRoleName }))).rejects.toMatchObject({ name: 'NoSuchEntityException' });
    } else {
      const tags = (await iam().send(new GetRoleCommand({ RoleName: secondRoleName }))).Role!.Tags;
      expect(tags).toEqual(expect.arrayContaining([{ Key: 'awi.dev/claim', Value: 'first' }]));
    }
    const firstPolicyDigest = (await getClaim(ns, 'first'))!.status!.policyDigest;
    expect(firstPolicyDigest).toBe(first.status!.policyDigest);

    // Deleting the second claim leaves the first claim's role, binding and ServiceAccount alone.
    await claimsApi().deleteNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: ns, name: 'second' });
    await waitForClaim(ns, 'second', (c) => c === undefined);
    await env.controller.queue.idle();
    expect(writeCalls(await awsFake().calls())).toEqual({});
    expect(await binding()).toEqual(before);
    const sa = await core().readNamespacedServiceAccount({ namespace: ns, name: 'shared-sa' });
    expect(sa.metadata?.labels?.['awi.dev/claim']).toBe('first');
    await iam().send(new GetRoleCommand({ RoleName: roleName(firstRole) }));
    env.controller.queue.add(`${ns}/first`);
    await env.controller.queue.idle();
    expect(readyCondition(await getClaim(ns, 'first'))?.status).toBe('True');
    expect(writeCalls(await awsFake().calls())).toEqual({});
  });

  it('when the first claim goes, a waiting claim binds the ServiceAccount without waiting for a resync', async () => {
    const ns = await freshNamespace('it-next');
    await createClaim(ns, 'first', spec('handed-sa', 'PodIdentity'));
    await waitForReady(ns, 'first');
    await createClaim(ns, 'waiting', spec('handed-sa', 'IRSA'));
    await waitForClaim(ns, 'waiting', (c) => readyCondition(c)?.reason === 'ServiceAccountConflict');
    await claimsApi().deleteNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: ns, name: 'first' });
    // The resync period is an hour here: only the ServiceAccount's deletion can wake the waiting claim.
    const next = await waitForReady(ns, 'waiting');
    const sa = await core().readNamespacedServiceAccount({ namespace: ns, name: 'handed-sa' });
    expect(sa.metadata?.labels?.['awi.dev/claim']).toBe('waiting');
    expect(sa.metadata?.annotations?.[ROLE_ARN]).toBe(next!.status!.roleArn);
  });
});
