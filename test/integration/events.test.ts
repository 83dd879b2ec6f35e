// Events like the anchors (issue 11): events.k8s.io/v1 Events only on
// decisions, and a repeated failure is one Event series, not an Event per
// attempt. Read back through both APIs: events.k8s.io/v1 (series) and core/v1
// (what `kubectl describe` and older tools read).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api, EventsV1Api, type EventsV1Event } from '@kubernetes/client-node';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { createClaim, readyCondition, startControllerEnv, testClaimSpec, waitForClaim, waitForReady, type ControllerEnv } from '../harness/controller-env.js';
import { awsClientConfig, freshNamespace, kubeConfig, testbed } from '../../testbed/harness/testbed.js';

const iam = () => new IAMClient(awsClientConfig());

async function eventsOf(namespace: string, claim: string): Promise<EventsV1Event[]> {
  const list = await kubeConfig().makeApiClient(EventsV1Api).listNamespacedEvent({ namespace, fieldSelector: `regarding.name=${claim}` });
  return list.items;
}

let env: ControllerEnv;
beforeAll(async () => {
  env = await startControllerEnv();
});
afterAll(async () => {
  await env?.stop();
});

describe('Events on decisions only', () => {
  it.each(['IRSA', 'PodIdentity'] as const)('a claim bound through %s that converges records at most 3 Events: Created, then Reconciled', async (mechanism) => {
    const ns = await freshNamespace('it-ev-ok');
    await createClaim(ns, 'app', testClaimSpec('app-sa', mechanism));
    await waitForReady(ns, 'app');
    await env.controller.queue.idle();
    // A drift check that finds nothing to do says nothing.
    env.controller.queue.add(`${ns}/app`);
    await env.controller.queue.idle();

    const events = await eventsOf(ns, 'app');
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(events.length).toBeLessThanOrEqual(3);
    expect(events.map((e) => e.reason)).toEqual(expect.arrayContaining(['Created', 'Reconciled']));
    expect(events.filter((e) => e.reason === 'IAMPropagating')).toEqual([]);
    for (const e of events) {
      expect(e).toMatchObject({ reportingController: 'awi-controller', regarding: { kind: 'AwsWorkloadIdentityClaim', name: 'app', namespace: ns } });
      expect(e.type).toBe('Normal');
      expect(e.series).toBeUndefined();
    }
    expect(events.find((e) => e.reason === 'Created')).toMatchObject({ action: 'Create', note: expect.stringContaining('CreateRole') });
    expect(events.find((e) => e.reason === 'Reconciled')!.note).toContain(`through ${mechanism}`);
  });
});

describe('a repeated failure is one Event series', () => {
  it('a claim whose role name is taken by a foreign role, reconciled 5 times: one RoleNotOwned Event with series.count >= 5', async () => {
    const ns = await freshNamespace('it-ev-taken');
    await iam().send(new CreateRoleCommand({
      RoleName: `${testbed().clusterName}-${ns}-taken-sa`,
      Path: '/awi/',
      AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] }),
    }));
    await createClaim(ns, 'taken', testClaimSpec('taken-sa', 'PodIdentity'));
    await waitForClaim(ns, 'taken', (c) => readyCondition(c)?.reason === 'RoleNotOwned');
    await env.controller.queue.idle();
    for (let i = 0; i < 4; i++) {
      env.controller.queue.add(`${ns}/taken`);
      await env.controller.queue.idle();
    }

    const events = await eventsOf(ns, 'taken');
    const refusals = events.filter((e) => e.reason === 'RoleNotOwned');
    expect(refusals).toHaveLength(1);
    const [series] = refusals;
    expect(series).toMatchObject({ type: 'Warning', action: 'Reconcile', note: expect.stringMatching(/^RoleReady=False: /) });
    expect(series!.series?.count).toBeGreaterThanOrEqual(5);
    expect(new Date(series!.series!.lastObservedTime as unknown as string).getTime()).toBeGreaterThan(new Date(series!.eventTime as unknown as string).getTime());
    // Nothing else was said: no Event per condition (RoleReady, BindingReady...); the ServiceAccount awi did create is one Normal Event.
    expect(events.filter((e) => e.reason !== 'RoleNotOwned').map((e) => [e.type, e.reason, e.note])).toEqual([['Normal', 'Created', 'Applied: CreateServiceAccount.']]);

    // core/v1 (kubectl describe) sees the same single Event and its series.
    const core = (await kubeConfig().makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=taken' })).items.filter((e) => e.reason === 'RoleNotOwned');
    expect(core).toHaveLength(1);
    expect(core[0]).toMatchObject({ reason: 'RoleNotOwned', reportingComponent: 'awi-controller', series: { count: series!.series!.count } });
  });
});
