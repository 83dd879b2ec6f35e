// The held-in hostile corpus (test/fixtures/hostile.ts) through the real
// controller on the test bed, with the corpus's config (the shipped
// deploy/platform-config.yaml pointed at the bed, plus the corpus's raw-* and
// pinned-* guardrails). Every claim is applied in one batch: the API server
// refuses some (its schema and CEL rules, a refusal too); every other one
// must end Ready=False naming its field and rule, with zero AWS calls, no
// failed reconcile, and no retry: the outcome is terminal. The problem flood
// (more than 32 KiB of problems) must settle with a capped message.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AwsWorkloadIdentityClaim } from '../../src/api/types.js';
import { parsePlatformConfig } from '../../src/config/index.js';
import { claimKey, GROUP, PLURAL, VERSION } from '../../src/kube/claims.js';
import { mergePatch } from '../../src/kube/patch.js';
import { hostileCases, hostileConfigDocument, PINNED_NAMESPACE, type HostileCase } from '../fixtures/hostile.js';
import { claimsApi, createClaim, readyCondition, startControllerEnv, waitForClaim, waitForReady, writeCalls, type ControllerEnv } from '../harness/controller-env.js';
import { bedHostileEnv, shippedConfigDocument } from '../harness/shipped-config.js';
import { awsFake, ignoreConflict, kubeConfig } from '../../testbed/harness/testbed.js';

const core = () => kubeConfig().makeApiClient(CoreV1Api);
const REFUSAL_REASONS = ['InvalidSpec', 'GuardrailViolation', 'LimitExceeded'];

const cases = hostileCases(bedHostileEnv());
const config = parsePlatformConfig(hostileConfigDocument(shippedConfigDocument(), bedHostileEnv()), 'shipped config on the test bed + corpus guardrails');

let env: ControllerEnv;
/** What the API server said to each create it refused, by case id. */
const refusedByApiServer = new Map<string, string>();
const accepted: HostileCase[] = [];
/** The claims' last state seen once every accepted one had settled, by case id. */
const settled = new Map<string, AwsWorkloadIdentityClaim>();
const keyOf = (c: HostileCase) => claimKey(c.claim.metadata.namespace!, c.claim.metadata.name);

/** Every namespace the corpus uses, with the labels its cases want (one set per namespace). */
async function prepareNamespaces(): Promise<void> {
  const labels = new Map<string, Record<string, string> | undefined>();
  for (const c of cases) {
    const ns = c.claim.metadata.namespace!;
    const before = labels.get(ns);
    if (before !== undefined && c.namespaceLabels !== undefined && JSON.stringify(before) !== JSON.stringify(c.namespaceLabels)) {
      throw new Error(`corpus: namespace ${ns} wants two label sets; give one of its cases its own namespace`);
    }
    labels.set(ns, before ?? c.namespaceLabels);
  }
  for (const [name, want] of labels) {
    await core().createNamespace({ body: { metadata: { name, labels: want ?? {} } } }).catch(ignoreConflict);
    if (want && Object.keys(want).length) await core().patchNamespace({ name, body: { metadata: { labels: want } } }, mergePatch);
  }
}

async function listClaims(): Promise<AwsWorkloadIdentityClaim[]> {
  return ((await claimsApi().listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })) as { items: AwsWorkloadIdentityClaim[] }).items;
}

const isSettled = (c: AwsWorkloadIdentityClaim | undefined) => {
  const ready = readyCondition(c);
  return ready?.status === 'False' && c?.status?.observedGeneration === c?.metadata.generation && REFUSAL_REASONS.includes(ready.reason ?? '');
};

beforeAll(async () => {
  env = await startControllerEnv({ config });
  await prepareNamespaces();
  await awsFake().resetCalls();

  // One batch: create every claim, then wait for all of them.
  for (const c of cases) {
    try {
      await claimsApi().createNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: c.claim.metadata.namespace!, body: c.claim });
      accepted.push(c);
    } catch (err) {
      const code = (err as { code?: number }).code;
      if (code !== 422 && code !== 400) throw err;
      refusedByApiServer.set(c.id, String((err as { body?: unknown }).body ?? err));
    }
  }
  const deadline = Date.now() + 90_000;
  for (;;) {
    const byKey = new Map((await listClaims()).map((c) => [claimKey(c.metadata.namespace!, c.metadata.name), c]));
    const pending = accepted.filter((c) => !isSettled(byKey.get(keyOf(c))));
    if (pending.length === 0 || Date.now() > deadline) {
      for (const c of accepted) if (byKey.get(keyOf(c))) settled.set(c.id, byKey.get(keyOf(c))!);
      break;
    }
    await sleep(500);
  }
  await env.controller.queue.idle();
}, 150_000);

afterAll(async () => {
  await env?.stop();
});

describe('the hostile corpus through the controller on the test bed', () => {
  it('every claim is refused: by the API server, or by the controller with Ready=False naming its field and rule', () => {
    expect(cases.length).toBeGreaterThanOrEqual(100);
    expect(accepted.length + refusedByApiServer.size).toBe(cases.length);
    // The API server names a rule for its CEL refusals ("(rule: x)"): the corpus's, when it names one.
    const apiMismatches = [...refusedByApiServer].flatMap(([id, body]) => {
      const c = cases.find((x) => x.id === id)!;
      const named = [...body.matchAll(/\(rule: ([a-z0-9-]+)\)/g)].map((m) => m[1]);
      return named.length && !named.includes(c.expected.rule) ? [{ id, expected: c.expected.rule, named }] : [];
    });
    expect(apiMismatches).toEqual([]);
    // Each controller refusal: terminal reason, the labelled field and rule in the message.
    const controllerMismatches = accepted.flatMap((c) => {
      const ready = readyCondition(settled.get(c.id));
      const ok = ready?.status === 'False' && REFUSAL_REASONS.includes(ready.reason ?? '') && ready.message?.includes(c.expected.field) && ready.message.includes(c.expected.rule);
      return ok ? [] : [{ id: c.id, expected: c.expected, ready: ready ?? settled.get(c.id)?.status ?? 'no status' }];
    });
    expect(controllerMismatches).toEqual([]);
    // Most of the corpus gets past the API server: it is the controller that refuses it.
    expect(accepted.length).toBeGreaterThan(cases.length / 2);
    console.log(`hostile corpus on the bed: ${cases.length} claims, ${refusedByApiServer.size} refused by the API server (${[...refusedByApiServer.keys()].join(', ')}), ${accepted.length} refused by the controller`);
  });

  it('zero AWS calls (so zero writes), no reconcile failed or threw, no refused claim got a finalizer', async () => {
    const calls = await awsFake().calls();
    expect(writeCalls(calls)).toEqual({});
    expect(calls).toEqual({});
    const results = Object.fromEntries((await env.controller.metrics.reconciles.get()).values.map((v) => [v.labels.result, v.value]));
    expect(results.retry ?? 0).toBe(0);
    expect(results.error ?? 0).toBe(0);
    expect(results.terminal).toBeGreaterThanOrEqual(accepted.length);
    for (const c of accepted) expect([c.id, settled.get(c.id)?.metadata.finalizers ?? []]).toEqual([c.id, []]);
  });

  it('every refusal is terminal: nothing is requeued, and statuses stop changing', async () => {
    for (const c of accepted) expect([c.id, env.controller.queue.failures(keyOf(c))]).toEqual([c.id, 0]);
    expect(env.controller.queue.delayedCount).toBe(0);
    const before = (await env.controller.metrics.reconciles.get()).values.reduce((n, v) => n + v.value, 0);
    await sleep(3000);
    const after = await listClaims();
    const changed = accepted.filter((c) => after.find((x) => x.metadata.namespace === c.claim.metadata.namespace && x.metadata.name === c.claim.metadata.name)?.metadata.resourceVersion !== settled.get(c.id)?.metadata.resourceVersion);
    expect(changed.map((c) => c.id)).toEqual([]);
    expect((await env.controller.metrics.reconciles.get()).values.reduce((n, v) => n + v.value, 0)).toBe(before);
  });

  it('a claim with more than 32 KiB of problems settles: the status lists the first problems and ends "and N more"; one Warning Event names them all', async () => {
    const flood = accepted.find((c) => c.id === 'problem-flood');
    if (!flood) throw new Error(`the API server refused the problem flood: ${refusedByApiServer.get('problem-flood')}`);
    const ready = readyCondition(settled.get(flood.id))!;
    expect(ready).toMatchObject({ status: 'False', reason: 'GuardrailViolation' });
    expect(ready.message).toMatch(/\nand \d+ more$/);
    expect(ready.message.length).toBeLessThanOrEqual(4096);
    expect(ready.message.startsWith(`${flood.expected.field}: ${flood.expected.rule}: `)).toBe(true);

    // Reconciled again (a resync, a restart): the same status, no second Event.
    env.controller.queue.add(keyOf(flood));
    await env.controller.queue.idle();
    const events = (await core().listNamespacedEvent({ namespace: flood.claim.metadata.namespace! })).items
      .filter((e) => e.involvedObject.name === flood.claim.metadata.name && e.reason === 'ProblemsSummarized');
    expect(events).toHaveLength(1);
    expect(events[0]!.type).toBe('Warning');
    const omitted = Number(/and (\d+) more$/.exec(ready.message)![1]);
    expect(events[0]!.message).toMatch(new RegExp(`^${omitted + ready.message.split('\n').length - 1} problems, the status lists the first ${ready.message.split('\n').length - 1} `));
  });

  it('positive control: the pinned namespace gets an identity when the owner is its label (the controller reads namespace labels)', async () => {
    const owner = cases.find((c) => c.claim.metadata.namespace === PINNED_NAMESPACE && c.namespaceLabels)!.namespaceLabels!['awi.dev/owner']!;
    await createClaim(PINNED_NAMESPACE, 'control', {
      serviceAccountName: 'control-sa', owner, environment: 'prod', mechanism: 'PodIdentity',
      aws: { accountId: bedHostileEnv().accountId, region: bedHostileEnv().region },
      permissions: { sqs: [{ queue: `${PINNED_NAMESPACE}_jobs`, access: ['send'] }] },
    });
    const claim = await waitForReady(PINNED_NAMESPACE, 'control', 60_000);
    expect(claim!.status!.roleArn).toContain(PINNED_NAMESPACE);
    await claimsApi().deleteNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: PINNED_NAMESPACE, name: 'control' });
    await waitForClaim(PINNED_NAMESPACE, 'control', (c) => c === undefined);
  });
});
