// The tags of awi's Pod Identity association are enforced (issue 8): a tag
// changed, removed or added behind awi's back is restored or removed at the
// next drift check, with a DriftCorrected Warning naming it, and tags outside
// awi.dev/ that awi does not set stay. An association whose ownership tags
// were stripped by hand, still pointing at the claim's own role, is
// recognised and retagged (no AssociationConflict); one stripped and pointed
// at another role is foreign and left alone. Tags are changed the way a
// person would, with EKS TagResource / UntagResource.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { EKSClient, TagResourceCommand, UntagResourceCommand, UpdatePodIdentityAssociationCommand } from '@aws-sdk/client-eks';
import {
  claimEvents as events, createClaim, fakeAssociation as ourAssociation, readyCondition, startControllerEnv, testClaimSpec, until, waitForClaim, waitForReady,
  writeCalls, type ControllerEnv,
} from '../harness/controller-env.js';
import { awsClientConfig, awsFake, freshNamespace, testbed } from '../../testbed/harness/testbed.js';

const iam = () => new IAMClient(awsClientConfig());
const eks = () => new EKSClient(awsClientConfig());


let env: ControllerEnv;
beforeAll(async () => {
  env = await startControllerEnv();
});
afterAll(async () => {
  await env?.stop();
});

describe('the tags of the Pod Identity association', () => {
  it('a changed, a removed and a stale awi.dev/ tag are put right, with a DriftCorrected event naming them; a platform tag stays', async () => {
    const ns = await freshNamespace('it-atags');
    await createClaim(ns, 'app', testClaimSpec('app-sa', 'PodIdentity'));
    await waitForReady(ns, 'app');
    const a = (await ourAssociation(ns, 'app-sa'))!;
    const want = { ...a.tags };
    expect(want).toMatchObject({ 'awi.dev/managed-by': 'awi', 'awi.dev/owner': expect.any(String), 'awi.dev/environment': expect.any(String) });

    await eks().send(new TagResourceCommand({ resourceArn: a.associationArn, tags: { 'awi.dev/owner': 'someone-else', 'awi.dev/stale': 'x', 'cost-center': '42' } }));
    await eks().send(new UntagResourceCommand({ resourceArn: a.associationArn, tagKeys: ['awi.dev/environment'] }));

    env.controller.queue.add(`${ns}/app`);
    await until('the tags to be restored', async () => {
      const now = await ourAssociation(ns, 'app-sa');
      return !!now && now.tags['awi.dev/owner'] === want['awi.dev/owner'] && now.tags['awi.dev/environment'] === want['awi.dev/environment'] && !('awi.dev/stale' in now.tags);
    });
    expect((await ourAssociation(ns, 'app-sa'))!.tags).toEqual({ ...want, 'cost-center': '42' });
    const drift = await until('a DriftCorrected event', async () => (await events(ns, 'app')).find((e) => e.reason === 'DriftCorrected'));
    expect(drift.type).toBe('Warning');
    expect(drift.message).toContain(`association ${a.associationId}: tags awi.dev/environment (was unset), awi.dev/owner (was someone-else)`);
    expect(drift.message).toContain(`association ${a.associationId}: removed stale tags awi.dev/stale`);
    expect(drift.message).not.toContain('cost-center');
    await waitForReady(ns, 'app');
  });

  it('ownership tags stripped by hand from awi\'s association (still pointing at the claim\'s role): retagged, never AssociationConflict', async () => {
    const ns = await freshNamespace('it-astrip');
    await createClaim(ns, 'app', testClaimSpec('app-sa', 'PodIdentity'));
    const ready = await waitForReady(ns, 'app');
    const a = (await ourAssociation(ns, 'app-sa'))!;
    const want = { ...a.tags };
    const awiKeys = Object.keys(want).filter((k) => k.startsWith('awi.dev/'));
    expect(awiKeys).toEqual(expect.arrayContaining(['awi.dev/managed-by', 'awi.dev/cluster', 'awi.dev/namespace', 'awi.dev/claim']));
    await eks().send(new UntagResourceCommand({ resourceArn: a.associationArn, tagKeys: awiKeys }));
    expect(Object.keys((await ourAssociation(ns, 'app-sa'))!.tags).filter((k) => k.startsWith('awi.dev/'))).toEqual([]);

    env.controller.queue.add(`${ns}/app`);
    await until('the ownership tags to be back', async () => (await ourAssociation(ns, 'app-sa'))?.tags['awi.dev/managed-by'] === 'awi');
    expect(await ourAssociation(ns, 'app-sa')).toMatchObject({ associationId: a.associationId, roleArn: ready!.status!.roleArn, tags: want });
    const drift = await until('a DriftCorrected event', async () => (await events(ns, 'app')).find((e) => e.reason === 'DriftCorrected'));
    expect(drift.message).toContain(`association ${a.associationId}: tags `);
    expect(drift.message).toContain('awi.dev/managed-by (was unset)');
    const after = await waitForReady(ns, 'app');
    expect(after!.status!.associationId).toBe(a.associationId);
    expect((await events(ns, 'app')).filter((e) => e.reason === 'AssociationConflict')).toEqual([]);
  });

  it('stripped and pointed at another role: foreign, AssociationConflict, and awi neither retags nor repoints it', async () => {
    const ns = await freshNamespace('it-aforeign');
    await createClaim(ns, 'app', testClaimSpec('app-sa', 'PodIdentity'));
    await waitForReady(ns, 'app');
    const a = (await ourAssociation(ns, 'app-sa'))!;
    const theirs = (await iam().send(new CreateRoleCommand({
      RoleName: `theirs-${ns}`,
      AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'pods.eks.amazonaws.com' }, Action: ['sts:AssumeRole', 'sts:TagSession'] }] }),
    }))).Role!.Arn!;
    // Two calls, so the controller is stopped meanwhile: a drift check between them would (rightly) undo the first.
    await env.stop();
    await eks().send(new UntagResourceCommand({ resourceArn: a.associationArn, tagKeys: Object.keys(a.tags).filter((k) => k.startsWith('awi.dev/')) }));
    await eks().send(new UpdatePodIdentityAssociationCommand({ clusterName: testbed().clusterName, associationId: a.associationId, roleArn: theirs }));
    await awsFake().resetCalls();

    // Restarted, the controller looks at every claim.
    env = await startControllerEnv({ reset: false });
    const blocked = await waitForClaim(ns, 'app', (c) => readyCondition(c)?.reason === 'AssociationConflict');
    expect(readyCondition(blocked)!.message).toContain(theirs);
    await env.controller.queue.idle();
    const now = (await ourAssociation(ns, 'app-sa'))!;
    expect(now.roleArn).toBe(theirs);
    expect(Object.keys(now.tags).filter((k) => k.startsWith('awi.dev/'))).toEqual([]);
    // Not only this association: no AWS write at all for the blocked claim.
    expect(writeCalls(await awsFake().calls())).toEqual({});
  });
});
