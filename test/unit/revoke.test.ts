// Revocation decisions (issue 9): which identity a claim moved away from goes
// on record, what is removed for it and what is kept, what a deletion still
// has to remove; and a ServiceAccount that is not awi's loses the claim's
// association.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import YAML from 'yaml';
import type { AwsWorkloadIdentityClaim, ClaimStatus, RetiringIdentity } from '../../src/api/types.js';
import { compileClaim } from '../../src/compiler/compile.js';
import type { DesiredState } from '../../src/compiler/types.js';
import { parsePlatformConfig } from '../../src/config/index.js';
import { appliedRecord } from '../../src/controller/applied.js';
import type { ObservedServiceAccount } from '../../src/controller/managers/service-account.js';
import { planReconcile, type Observed } from '../../src/controller/plan.js';
import { ROLE_ARN_ANNOTATION, TAG } from '../../src/ownership.js';
import { awsError, FakeWorld } from './reconciler-fakes.js';
import { retireIdentities } from '../../src/controller/retire.js';
import { appliedIdentity, MAX_RETIRING, recordIdentityMove, retireActions, retiringAtDeletion } from '../../src/controller/revoke.js';

const examples = path.join(process.cwd(), 'deploy', 'examples');
const rawConfig = YAML.parse(readFileSync(path.join(examples, 'platform-config.yaml'), 'utf8')) as Record<string, any>;
// A second account the claims may move to.
rawConfig.accounts = [...(rawConfig.accounts ?? [{ accountId: '111122223333' }]), { accountId: '444455556666', assumeRoleArn: 'arn:aws:iam::444455556666:role/awi-controller', externalId: 'awi-ext-1' }];
for (const g of rawConfig.guardrails) g.allowedAccounts = [...(g.allowedAccounts ?? ['111122223333']), '444455556666'];
const config = parsePlatformConfig(rawConfig);
const claim = (): AwsWorkloadIdentityClaim => YAML.parse(readFileSync(path.join(examples, 'checkout-api-s3-read.yaml'), 'utf8')) as AwsWorkloadIdentityClaim;

function compile(c: AwsWorkloadIdentityClaim): DesiredState {
  const r = compileClaim(c, config);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.desired;
}

/** The claim as it was applied, then edited by `edit`: its status and the desired identity of the edit. */
function moved(edit: (c: AwsWorkloadIdentityClaim) => void, status: Partial<ClaimStatus> = {}, base: (c: AwsWorkloadIdentityClaim) => void = () => undefined) {
  const before = claim();
  base(before);
  before.metadata.generation = 1;
  const old = compile(before);
  const after = claim();
  base(after);
  edit(after);
  const now = compile(after);
  return {
    old, now,
    status: { applied: appliedRecord(before, old), associationId: 'a-old', ...status } as ClaimStatus,
    wanted: { roleArn: now.role.arn, serviceAccount: now.serviceAccount.name },
  };
}

const rename = (c: AwsWorkloadIdentityClaim) => { c.spec.serviceAccountName = 'checkout-api-v2'; };

describe('recordIdentityMove', () => {
  it('a renamed ServiceAccount (and so role, from the name template) puts the applied identity on record, with its association', () => {
    const m = moved(rename);
    expect(m.now.role.arn).not.toBe(m.old.role.arn); // the name template uses the ServiceAccount
    const u = recordIdentityMove(m.status, m.wanted);
    expect(u).toEqual({
      changed: true, overflow: false,
      retiring: [{ roleArn: m.old.role.arn, serviceAccount: 'checkout-api-aws-sa', mechanism: 'PodIdentity', associationId: 'a-old' }],
    });
  });

  it('an account change is a move even with the same role name and ServiceAccount', () => {
    // IRSA: Pod Identity binds roles of the cluster's account only.
    const m = moved((c) => { c.spec.aws.accountId = '444455556666'; }, {}, (c) => { c.spec.mechanism = 'IRSA'; });
    expect(m.now.role.name).toBe(m.old.role.name);
    expect(recordIdentityMove(m.status, m.wanted).retiring.map((e) => e.roleArn)).toEqual([m.old.role.arn]);
  });

  it('an edit that keeps role and ServiceAccount (permissions, mechanism) records nothing: the plan or a switch handles it', () => {
    for (const edit of [(c: AwsWorkloadIdentityClaim) => { c.spec.mechanism = 'IRSA'; }, (c: AwsWorkloadIdentityClaim) => { c.spec.owner = 'team-x'; }]) {
      const m = moved(edit);
      expect(recordIdentityMove(m.status, m.wanted)).toEqual({ retiring: [], changed: false, overflow: false });
    }
  });

  it('a claim never applied has nothing to retire', () => {
    expect(recordIdentityMove(undefined, { roleArn: 'arn:aws:iam::111122223333:role/awi/x', serviceAccount: 'x' })).toEqual({ retiring: [], changed: false, overflow: false });
  });

  it('renamed twice before either got Ready: both earlier identities stay on record, once each', () => {
    const first = moved(rename);
    const afterFirst = recordIdentityMove(first.status, first.wanted).retiring;
    // Now status.applied is the first rename, and the claim is renamed again.
    const second = claim();
    second.spec.serviceAccountName = 'checkout-api-v3';
    const third = compile(second);
    const status: ClaimStatus = { applied: appliedRecord({ ...claim(), spec: { ...claim().spec, serviceAccountName: 'checkout-api-v2' } }, first.now), retiring: afterFirst };
    const u = recordIdentityMove(status, { roleArn: third.role.arn, serviceAccount: 'checkout-api-v3' });
    expect(u.changed).toBe(true);
    expect(u.retiring.map((e) => e.serviceAccount)).toEqual(['checkout-api-aws-sa', 'checkout-api-v2']);
    // Recording again is stable.
    expect(recordIdentityMove({ ...status, retiring: u.retiring }, { roleArn: third.role.arn, serviceAccount: 'checkout-api-v3' }).changed).toBe(false);
  });

  it('renamed back before the old identity was retired: it leaves the list (it is the one in force again)', () => {
    const m = moved(rename);
    const retiring = recordIdentityMove(m.status, m.wanted).retiring;
    const status: ClaimStatus = { applied: appliedRecord({ ...claim(), spec: { ...claim().spec, serviceAccountName: 'checkout-api-v2' } }, m.now), retiring };
    const back = recordIdentityMove(status, { roleArn: m.old.role.arn, serviceAccount: 'checkout-api-aws-sa' });
    expect(back.changed).toBe(true);
    expect(back.retiring.map((e) => e.serviceAccount)).toEqual(['checkout-api-v2']);
  });

  it('more identities waiting than status holds is flagged, so they are retired first rather than forgotten', () => {
    const retiring: RetiringIdentity[] = Array.from({ length: MAX_RETIRING }, (_, i) => ({ roleArn: `arn:aws:iam::111122223333:role/awi/r${i}`, serviceAccount: `sa-${i}` }));
    const m = moved(rename, { retiring });
    const u = recordIdentityMove(m.status, m.wanted);
    expect(u.retiring).toHaveLength(MAX_RETIRING + 1);
    expect(u.overflow).toBe(true);
  });
});

describe('retireActions', () => {
  const role = (n: string, account = '111122223333') => `arn:aws:iam::${account}:role/awi/${n}`;

  it('removes role and ServiceAccount side of an identity the claim no longer uses at all', () => {
    expect(retireActions([{ roleArn: role('old'), serviceAccount: 'old-sa' }], { roleArn: role('new'), serviceAccount: 'new-sa' })).toEqual([{
      entry: { roleArn: role('old'), serviceAccount: 'old-sa' },
      role: { accountId: '111122223333', name: 'old', arn: role('old') },
      serviceAccount: 'old-sa',
    }]);
  });

  it('account change: the old account\'s role goes, the ServiceAccount (and its association, updated in place) stays', () => {
    const actions = retireActions([{ roleArn: role('app', '111122223333'), serviceAccount: 'app-sa' }], { roleArn: role('app', '444455556666'), serviceAccount: 'app-sa' });
    expect(actions).toEqual([{ entry: expect.any(Object), role: { accountId: '111122223333', name: 'app', arn: role('app') } }]);
  });

  it('rename with a role name that does not follow the ServiceAccount: the role stays, the old ServiceAccount goes', () => {
    const actions = retireActions([{ roleArn: role('app'), serviceAccount: 'old-sa' }], { roleArn: role('app'), serviceAccount: 'new-sa' });
    expect(actions).toEqual([{ entry: expect.any(Object), serviceAccount: 'old-sa' }]);
  });

  it('a role or ServiceAccount shared by several entries is removed once; a malformed ARN is never acted on', () => {
    const actions = retireActions([
      { roleArn: role('a'), serviceAccount: 's1' },
      { roleArn: role('a'), serviceAccount: 's2' },
      { roleArn: 'not-an-arn', serviceAccount: 's2' },
    ], { roleArn: role('b'), serviceAccount: 's3' });
    expect(actions.map((a) => [a.role?.name, a.serviceAccount])).toEqual([['a', 's1'], [undefined, 's2']]);
  });

  it('with nothing kept (a deleted claim that never compiled), everything listed goes', () => {
    expect(retireActions([{ roleArn: role('a'), serviceAccount: 's1' }])).toHaveLength(1);
  });
});

describe('retiringAtDeletion', () => {
  it('lists status.retiring, and the applied identity when the claim moved away from it before the move was recorded', () => {
    const m = moved(rename);
    const listed = { roleArn: 'arn:aws:iam::111122223333:role/awi/older', serviceAccount: 'older-sa' };
    const target = { roleArn: m.now.role.arn, serviceAccount: m.now.serviceAccount.name };
    expect(retiringAtDeletion({ ...m.status, retiring: [listed] }, target)).toEqual([listed, appliedIdentity(m.status)]);
    // Applied is the target: only what is listed.
    expect(retiringAtDeletion({ ...m.status, retiring: [listed] }, { roleArn: m.old.role.arn, serviceAccount: 'checkout-api-aws-sa' })).toEqual([listed]);
    expect(retiringAtDeletion(undefined, target)).toEqual([]);
  });
});

describe('a ServiceAccount that is not awi\'s loses the claim\'s binding', () => {
  const pod = compile(claim());
  const irsaClaim = claim();
  irsaClaim.spec.mechanism = 'IRSA';
  const irsa = compile(irsaClaim);
  const handMade = (d: DesiredState, annotations: Record<string, string> = {}): ObservedServiceAccount => ({
    namespace: d.serviceAccount.namespace, name: d.serviceAccount.name, uid: 'u2', resourceVersion: '9', labels: {}, annotations,
  });
  const ourRole = (d: DesiredState) => ({
    name: d.role.name, path: d.role.path, arn: d.role.arn, trustPolicy: d.role.trustPolicy, tags: { ...d.role.tags }, maxSessionDurationSeconds: 3600, description: '',
  });
  const world = (d: DesiredState, sa: ObservedServiceAccount, associationTags: Record<string, string>): Observed => ({
    serviceAccount: sa, role: ourRole(d), inlinePolicyNames: [], attachedPolicyArns: [],
    associations: [{ associationId: 'a-ours', associationArn: `arn:aws:eks:${config.cluster.region}:${config.cluster.accountId}:podidentityassociation/${config.cluster.name}/a-ours`, clusterName: config.cluster.name, namespace: sa.namespace, serviceAccount: sa.name, roleArn: d.role.arn, tags: associationTags, disableSessionTags: false }],
  });

  it('Pod Identity: the claim\'s association is removed and the claim reports ServiceAccountNotOwned, saying pods get no role', () => {
    const plan = planReconcile(pod, world(pod, handMade(pod), { ...pod.role.tags }));
    expect(plan.steps).toEqual([{ kind: 'RevokeAssociation', associationId: 'a-ours', why: `ServiceAccount ${pod.serviceAccount.namespace}/${pod.serviceAccount.name} is not this claim's` }]);
    expect(plan.blockers).toHaveLength(1);
    expect(plan.blockers[0]).toMatchObject({ resource: 'ServiceAccount', reason: 'ServiceAccountNotOwned' });
    expect(plan.blockers[0]!.message).toContain('awi keeps no Pod Identity association of this claim for it: pods using it get no role from this claim.');
  });

  it('an association someone else made for it is not awi\'s to remove', () => {
    const plan = planReconcile(pod, world(pod, handMade(pod), { team: 'x' }));
    expect(plan.steps).toEqual([]);
    expect(plan.blockers[0]!.reason).toBe('ServiceAccountNotOwned');
  });

  it('IRSA: nothing to remove from a ServiceAccount awi does not own; the message says the role still works for it', () => {
    const annotated = planReconcile(irsa, { ...world(irsa, handMade(irsa, { [ROLE_ARN_ANNOTATION]: irsa.role.arn }), {}), associations: [] });
    expect(annotated.steps).toEqual([]);
    expect(annotated.blockers[0]!.message).toContain(`With IRSA, role ${irsa.role.arn} still trusts tokens of`);
    expect(annotated.blockers[0]!.message).toContain('pods using it still get the role');
    const bare = planReconcile(irsa, { ...world(irsa, handMade(irsa), {}), associations: [] });
    expect(bare.blockers[0]!.message).toContain('a pod using it can still assume the role');
    // Before awi made the role, there is nothing to warn about.
    const fresh = planReconcile(irsa, { serviceAccount: handMade(irsa), inlinePolicyNames: [], attachedPolicyArns: [], associations: [] });
    expect(fresh.blockers[0]!.message).not.toContain('IRSA');
  });
});

describe('retireIdentities', () => {
  it('a role in an account no longer configured is reported unreachable, with no AWS call (retrying could never succeed)', async () => {
    const calls: string[] = [];
    const managers = {
      forAccount: (id: string) => { calls.push(id); throw new Error('no IAM manager expected'); },
      cluster: () => { calls.push('cluster'); return {} as never; },
      serviceAccounts: {} as never,
    };
    const result = await retireIdentities(
      [{ entry: { roleArn: 'arn:aws:iam::999999999999:role/awi/gone', serviceAccount: 'x' }, role: { accountId: '999999999999', name: 'gone', arn: 'arn:aws:iam::999999999999:role/awi/gone' } }],
      { managers, config, owner: { cluster: config.cluster.arn, namespace: 'ns', claim: 'c' }, log: pino({ level: 'silent' }) },
    );
    expect(result).toEqual({ removed: [], unreachable: ['arn:aws:iam::999999999999:role/awi/gone'] });
    expect(calls).toEqual(['cluster']); // the association manager only, never the unknown account
  });

  it("tells the association observation about each association it deletes, even when the delete fails (the next look reads that ServiceAccount)", async () => {
    const world = new FakeWorld(config.cluster.accountId);
    const owner = { cluster: config.cluster.arn, namespace: 'ns', claim: 'c' };
    const tags = { [TAG.managedBy]: 'awi', [TAG.cluster]: owner.cluster, [TAG.namespace]: 'ns', [TAG.claim]: 'c' };
    const ours = world.putAssociation({ clusterName: config.cluster.name, namespace: 'ns', serviceAccount: 'old-sa', roleArn: 'arn:aws:iam::111122223333:role/awi/old', tags, disableSessionTags: false });
    world.putAssociation({ clusterName: config.cluster.name, namespace: 'ns', serviceAccount: 'old-sa', roleArn: 'arn:aws:iam::111122223333:role/x', tags: {}, disableSessionTags: false });
    const told: string[] = [];
    const c = { managers: world.factory(), config, owner, log: pino({ level: 'silent' }), associationWritten: (ns: string, sa: string, ids: readonly string[]) => { told.push(`${ns}/${sa} ${ids.join(',')}`); } };
    const retire = [{ entry: { roleArn: 'arn:aws:iam::111122223333:role/awi/old', serviceAccount: 'old-sa' }, serviceAccount: 'old-sa' }];
    world.failNext('association.delete', awsError('ThrottlingException', 'Rate exceeded', 400));
    await expect(retireIdentities(retire, c)).rejects.toThrow('Rate exceeded');
    expect(told).toEqual([`ns/old-sa ${ours.associationId}`]);
    const result = await retireIdentities(retire, c);
    expect(result.removed).toEqual([`Pod Identity association ${ours.associationId} of ServiceAccount ns/old-sa`]);
    // Only the claim's own association went (and was told); the other is not awi's.
    expect(told).toEqual([`ns/old-sa ${ours.associationId}`, `ns/old-sa ${ours.associationId}`]);
    expect(world.associations.map((a) => a.associationId)).not.toContain(ours.associationId);
  });
});
