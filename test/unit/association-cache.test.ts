// The shared EKS observation: the cluster's Pod Identity associations listed
// in pages, described only where the summaries cannot answer (new, changed by
// awi, or due in the rotating re-describe), awi's own creations used without
// a read-back, and the restart pass vouched for by the claim's status. EKS is
// a scripted fake client here (the integration tests run against the AWS fake).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import type { EKSClient } from '@aws-sdk/client-eks';
import YAML from 'yaml';
import type { AwsWorkloadIdentityClaim } from '../../src/api/types.js';
import { compileClaim } from '../../src/compiler/compile.js';
import type { DesiredState, PodIdentityBinding } from '../../src/compiler/types.js';
import { parsePlatformConfig } from '../../src/config/index.js';
import type { ObservedAssociation } from '../../src/controller/managers/association.js';
import pino from 'pino';
import { noteAwsCall, withAwsCallCount } from '../../src/aws/call-scope.js';
import { ClaimChecks } from '../../src/controller/checks.js';
import type { CredentialVerifier } from '../../src/controller/verify.js';
import { AssociationCache } from '../../src/controller/observation/association-cache.js';
import { associationsOf, dueForRecheck, indexSummaries, recheckOwed, saKey, type AssociationRef } from '../../src/controller/observation/association-pages.js';
import { assumeFromStatus, needsAssociationRead, recordedVerdict } from '../../src/controller/observation/restart.js';

const CLUSTER = 'c1';

interface Stored { associationId: string; namespace: string; serviceAccount: string; roleArn: string; tags: Record<string, string> }

/** A scripted EKS: list (maxResults, nextToken, optional namespace/serviceAccount filter) and describe, counted by operation. */
function fakeEks(world: { associations: Stored[] }, opts: { denyList?: boolean } = {}) {
  const calls: Record<string, number> = {};
  const count = (op: string) => (calls[op] = (calls[op] ?? 0) + 1);
  const arn = (id: string) => `arn:aws:eks:eu-west-1:111122223333:podidentityassociation/${CLUSTER}/${id}`;
  const client = {
    async send(cmd: { constructor: { name: string }; input: Record<string, unknown> }) {
      const op = cmd.constructor.name.replace(/Command$/, '');
      count(op);
      if (op === 'ListPodIdentityAssociations') {
        const { namespace, serviceAccount, nextToken } = cmd.input as { namespace?: string; serviceAccount?: string; nextToken?: string };
        if (opts.denyList && namespace === undefined) throw Object.assign(new Error('denied'), { name: 'AccessDeniedException' });
        const max = (cmd.input.maxResults as number | undefined) ?? 100;
        const all = world.associations.filter((a) => (namespace === undefined || a.namespace === namespace) && (serviceAccount === undefined || a.serviceAccount === serviceAccount));
        const start = nextToken ? Number(nextToken) : 0;
        const page = all.slice(start, start + max);
        return {
          associations: page.map((a) => ({ clusterName: CLUSTER, namespace: a.namespace, serviceAccount: a.serviceAccount, associationId: a.associationId, associationArn: arn(a.associationId) })),
          ...(start + max < all.length ? { nextToken: String(start + max) } : {}),
        };
      }
      if (op === 'DescribePodIdentityAssociation') {
        const a = world.associations.find((x) => x.associationId === cmd.input.associationId);
        if (!a) throw Object.assign(new Error('not found'), { name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 404 } });
        return { association: { ...a, clusterName: CLUSTER, associationArn: arn(a.associationId), tags: { ...a.tags } } };
      }
      throw new Error(`unexpected ${op}`);
    },
  };
  return { client: client as unknown as EKSClient, calls, arn };
}

const stored = (i: number, over: Partial<Stored> = {}): Stored => ({
  associationId: `a-${String(i).padStart(4, '0')}`, namespace: 'ns', serviceAccount: `sa-${i}`, roleArn: `arn:aws:iam::111122223333:role/r${i}`, tags: { 'awi.dev/managed-by': 'awi' }, ...over,
});

function cache(client: EKSClient, clock: { t: number }, over: Partial<ConstructorParameters<typeof AssociationCache>[0]> = {}) {
  return new AssociationCache({ eks: client, clusterName: CLUSTER, maxAgeMs: 300_000, recheckMs: 7_200_000, now: () => clock.t, ...over });
}

describe('indexSummaries and associationsOf', () => {
  const snap = indexSummaries([
    { associationId: 'a1', associationArn: 'arn1', namespace: 'ns', serviceAccount: 'x' },
    { associationId: 'a2', associationArn: 'arn2', namespace: 'ns', serviceAccount: 'x', ownerArn: 'arn:addon' },
    { associationId: 'a1', associationArn: 'arn1', namespace: 'ns', serviceAccount: 'x' },
    { associationArn: 'no-id', namespace: 'ns', serviceAccount: 'y' },
  ], 1000);

  it('indexes by ServiceAccount, once per id, keeping the add-on owner', () => {
    expect(snap.bySa.get(saKey('ns', 'x'))).toEqual([
      { associationId: 'a1', associationArn: 'arn1', namespace: 'ns', serviceAccount: 'x' },
      { associationId: 'a2', associationArn: 'arn2', namespace: 'ns', serviceAccount: 'x', ownerArn: 'arn:addon' },
    ]);
    expect([...snap.ids]).toEqual(['a1', 'a2']);
  });

  it('answers "none" for a ServiceAccount the pages do not list, and "read" after awi changed it', () => {
    expect(associationsOf(saKey('ns', 'y'), snap, undefined, 60_000)).toEqual([]);
    expect(associationsOf(saKey('ns', 'x'), snap, { kind: 'mustRead', at: 500 }, 60_000)).toBe('read');
    expect(associationsOf(saKey('ns', 'x'), undefined, undefined, 60_000)).toBe('read');
  });

  it('keeps awi\'s creation over pages that began less than the settle time after it', () => {
    const created = { kind: 'created' as const, at: 900, refs: [{ associationId: 'new', associationArn: 'arnN', namespace: 'ns', serviceAccount: 'y' }] };
    expect(associationsOf(saKey('ns', 'y'), snap, created, 60_000)).toEqual(created.refs);
    // Pages that began long enough after the creation are the truth (here: it is gone).
    expect(associationsOf(saKey('ns', 'y'), { ...snap, startedAt: 900 + 60_000 }, created, 60_000)).toEqual([]);
  });

  it('prefers a direct read over older pages, and newer pages over it', () => {
    const direct = { kind: 'direct' as const, at: 2000, refs: [] };
    expect(associationsOf(saKey('ns', 'x'), snap, direct, 60_000)).toEqual([]);
    expect(associationsOf(saKey('ns', 'x'), { ...snap, startedAt: 2000 }, direct, 60_000)).toHaveLength(2);
  });
});

describe('dueForRecheck and recheckOwed', () => {
  const details = new Map([
    ['old', { checkedAt: 100, assumed: false }],
    ['new', { checkedAt: 900, assumed: false }],
    ['mid', { checkedAt: 500, assumed: false }],
    ['assumed', { checkedAt: 1000, assumed: true }],
  ]);

  it('picks assumed ones first, then the oldest', () => {
    expect(dueForRecheck(details, 1)).toEqual(['assumed']);
    expect(dueForRecheck(details, 3)).toEqual(['assumed', 'old', 'mid']);
    expect(dueForRecheck(details, 9)).toEqual(['assumed', 'old', 'mid', 'new']);
    expect(dueForRecheck(details, 0)).toEqual([]);
  });

  it('owes associations x elapsed / recheck describes, carrying the fraction', () => {
    expect(recheckOwed(250, 300_000, 7_200_000, 0)).toEqual({ count: 10, carry: expect.closeTo(0.4167, 3) });
    expect(recheckOwed(250, 300_000, 7_200_000, 0.6)).toEqual({ count: 11, carry: expect.closeTo(0.0167, 3) });
    // A small set is not described at every refresh, yet each is within the period.
    let carry = 0;
    let total = 0;
    for (let i = 0; i < 24; i++) {
      const o = recheckOwed(2, 300_000, 7_200_000, carry);
      total += o.count;
      carry = o.carry;
    }
    expect(total).toBe(2);
    expect(recheckOwed(4, 9000, 4000, 0)).toEqual({ count: 4, carry: 0 });
  });

  it('owes nothing with the rotation off (0: lookups describe) or no time elapsed', () => {
    expect(recheckOwed(10, 1000, 0, 0)).toEqual({ count: 0, carry: 0 });
    expect(recheckOwed(10, 0, 4000, 0)).toEqual({ count: 0, carry: 0 });
  });
});

describe('AssociationCache', () => {
  it('a resync of many ServiceAccounts costs the list pages, not a list and a describe per claim', async () => {
    const world = { associations: Array.from({ length: 250 }, (_, i) => stored(i)) };
    const { client, calls } = fakeEks(world);
    const clock = { t: 1_000_000 };
    const c = cache(client, clock);
    // First sight: every association a claim looks at is described once.
    for (let i = 0; i < 250; i++) expect((await c.find('ns', `sa-${i}`))[0]?.roleArn).toBe(`arn:aws:iam::111122223333:role/r${i}`);
    expect(calls).toEqual({ ListPodIdentityAssociations: 3, DescribePodIdentityAssociation: 250 });

    // The next resync, one observation period later: three pages (100 per page) and the rotation's share.
    for (const k of Object.keys(calls)) delete calls[k];
    clock.t += 300_001;
    for (let i = 0; i < 250; i++) await c.find('ns', `sa-${i}`);
    // 250 associations x 300 s / 7200 s = 10.4: 10 are described again (the fraction is carried).
    expect(calls).toEqual({ ListPodIdentityAssociations: 3, DescribePodIdentityAssociation: 10 });
  });

  it('a ServiceAccount without an association costs no per-claim call', async () => {
    const { client, calls } = fakeEks({ associations: [stored(1)] });
    const c = cache(client, { t: 1000 });
    await c.refresh();
    expect(await c.find('ns', 'nobody')).toEqual([]);
    expect(await c.find('other', 'sa-1')).toEqual([]);
    expect(calls).toEqual({ ListPodIdentityAssociations: 1 });
  });

  it('describes an association created since the last observation, and forgets one deleted since', async () => {
    const world = { associations: [stored(1)] };
    const { client, calls } = fakeEks(world);
    const clock = { t: 1000 };
    const c = cache(client, clock);
    await c.find('ns', 'sa-1');
    world.associations = [stored(2, { serviceAccount: 'sa-1', roleArn: 'arn:aws:iam::111122223333:role/theirs' })];
    clock.t += 300_001;
    expect((await c.find('ns', 'sa-1')).map((a) => [a.associationId, a.roleArn])).toEqual([['a-0002', 'arn:aws:iam::111122223333:role/theirs']]);
    expect(calls).toEqual({ ListPodIdentityAssociations: 2, DescribePodIdentityAssociation: 2 });
    expect(c.size).toBe(1);
  });

  it('finds a field changed behind awi\'s back within the recheck period (rotation), and at every lookup with recheck 0', async () => {
    const world = { associations: Array.from({ length: 8 }, (_, i) => stored(i)) };
    const { client } = fakeEks(world);
    const clock = { t: 1000 };
    const c = cache(client, clock, { maxAgeMs: 1000, recheckMs: 8000 });
    for (let i = 0; i < 8; i++) await c.find('ns', `sa-${i}`);
    world.associations[5]!.roleArn = 'arn:aws:iam::111122223333:role/evil';
    const seen: number[] = [];
    for (let step = 1; step <= 8; step++) {
      clock.t += 1001;
      if ((await c.find('ns', 'sa-5'))[0]!.roleArn.endsWith('/evil')) seen.push(step);
    }
    // Seen within one recheck period (8 refreshes of ~1 s for 8 s), and from then on.
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[0]).toBeLessThanOrEqual(8);

    const zero = cache(fakeEks(world).client, { t: 1 }, { maxAgeMs: 0, recheckMs: 0 });
    await zero.find('ns', 'sa-6');
    world.associations[6]!.tags = {};
    expect((await zero.find('ns', 'sa-6'))[0]!.tags).toEqual({});
  });

  it('uses awi\'s own creation without a read-back, even while the pages do not list it yet', async () => {
    const world = { associations: [] as Stored[] };
    const { client, calls, arn } = fakeEks(world);
    const clock = { t: 1000 };
    const c = cache(client, clock, { maxAgeMs: 0 });
    expect(await c.find('ns', 'sa-1')).toEqual([]);
    const created: ObservedAssociation = {
      associationId: 'a-new', associationArn: arn('a-new'), clusterName: CLUSTER, namespace: 'ns', serviceAccount: 'sa-1', roleArn: 'arn:aws:iam::111122223333:role/r1', tags: { t: '1' }, disableSessionTags: false,
    };
    c.created(created);
    clock.t += 10; // EKS's list does not show it yet
    expect(await c.find('ns', 'sa-1')).toEqual([created]);
    expect(calls.DescribePodIdentityAssociation).toBeUndefined();
    // Long after the creation, pages that still do not list it mean it is gone.
    clock.t += 60_000;
    expect(await c.find('ns', 'sa-1')).toEqual([]);
  });

  it('after awi changed an association, the next lookup reads the ServiceAccount directly; the one after uses the cache', async () => {
    const world = { associations: [stored(1)] };
    const { client, calls } = fakeEks(world);
    const clock = { t: 1000 };
    const c = cache(client, clock);
    await c.find('ns', 'sa-1');
    world.associations[0]!.tags = { fixed: 'yes' };
    c.wrote('ns', 'sa-1', ['a-0001']);
    for (const k of Object.keys(calls)) delete calls[k];
    clock.t += 1;
    expect((await c.find('ns', 'sa-1'))[0]!.tags).toEqual({ fixed: 'yes' });
    expect(calls).toEqual({ ListPodIdentityAssociations: 1, DescribePodIdentityAssociation: 1 });
    clock.t += 1;
    expect((await c.find('ns', 'sa-1'))[0]!.tags).toEqual({ fixed: 'yes' });
    expect(calls).toEqual({ ListPodIdentityAssociations: 1, DescribePodIdentityAssociation: 1 });
  });

  it('concurrent lookups share one listing', async () => {
    const { client, calls } = fakeEks({ associations: [] });
    const c = cache(client, { t: 1000 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => c.find('ns', `sa-${i}`)));
    expect(calls).toEqual({ ListPodIdentityAssociations: 1 });
  });

  it('without the cluster-wide listing permission, reads each ServiceAccount as before', async () => {
    const { client, calls } = fakeEks({ associations: [stored(1)] }, { denyList: true });
    const c = cache(client, { t: 1000 });
    expect((await c.find('ns', 'sa-1')).map((a) => a.associationId)).toEqual(['a-0001']);
    expect(calls).toEqual({ ListPodIdentityAssociations: 2, DescribePodIdentityAssociation: 1 });
  });

  it('takes what the claim\'s status vouches for on first sight (restart pass), and describes it first in the rotation', async () => {
    const world = { associations: Array.from({ length: 4 }, (_, i) => stored(i)) };
    const { client, calls } = fakeEks(world);
    const clock = { t: 1000 };
    const c = cache(client, clock, { recheckMs: 4 * 300_000 });
    const vouched = (ref: AssociationRef): ObservedAssociation => ({ ...ref, clusterName: CLUSTER, roleArn: 'vouched', tags: {}, disableSessionTags: false });
    for (let i = 0; i < 4; i++) expect((await c.find('ns', `sa-${i}`, { assume: i < 2 ? vouched : () => undefined }))[0]!.roleArn).toBe(i < 2 ? 'vouched' : `arn:aws:iam::111122223333:role/r${i}`);
    expect(calls).toEqual({ ListPodIdentityAssociations: 1, DescribePodIdentityAssociation: 2 });
    // One observation period later the rotation owes one describe per association and period: the two assumed ones go first.
    clock.t += 600_000;
    await c.refresh();
    expect(calls.DescribePodIdentityAssociation).toBe(4);
    expect((await c.find('ns', 'sa-0'))[0]!.roleArn).toBe('arn:aws:iam::111122223333:role/r0');
    expect((await c.find('ns', 'sa-1'))[0]!.roleArn).toBe('arn:aws:iam::111122223333:role/r1');
  });
});

describe('assumeFromStatus', () => {
  const examples = path.join(process.cwd(), 'deploy', 'examples');
  const config = parsePlatformConfig(YAML.parse(readFileSync(path.join(examples, 'platform-config.yaml'), 'utf8')));
  const claim = YAML.parse(readFileSync(path.join(examples, 'checkout-api-s3-read.yaml'), 'utf8')) as AwsWorkloadIdentityClaim;
  claim.metadata.uid = '0b6d1c2e-1111-2222-3333-444455556666';
  claim.metadata.generation = 3;
  const r = compileClaim(claim, config);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  const desired: DesiredState = r.desired;
  const b = desired.binding as PodIdentityBinding;
  const ref: AssociationRef = { associationId: 'a-1', associationArn: 'arn:a-1', namespace: b.namespace, serviceAccount: b.serviceAccount };
  const recorded = (over: Record<string, unknown> = {}): AwsWorkloadIdentityClaim => ({
    ...claim,
    status: {
      observedGeneration: 3, mechanism: 'PodIdentity', roleArn: desired.role.arn, associationId: 'a-1',
      policyDigest: desired.digests.policy, trustPolicyDigest: desired.digests.trust,
      conditions: [{ type: 'Ready', status: 'True', reason: 'Reconciled', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }],
      ...over,
    } as AwsWorkloadIdentityClaim['status'],
  });

  it('is the association the claim asks for when the status recorded exactly this state as Ready', () => {
    expect(b.kind).toBe('PodIdentityAssociation');
    expect(assumeFromStatus(recorded(), desired, ref)).toEqual({
      associationId: 'a-1', associationArn: 'arn:a-1', clusterName: b.clusterName, namespace: b.namespace, serviceAccount: b.serviceAccount,
      roleArn: b.roleArn, tags: b.tags, disableSessionTags: false, ...(b.policy ? { policy: b.policy } : {}),
    });
  });

  it.each([
    ['another association id', { associationId: 'a-2' }],
    ['not Ready', { conditions: [{ type: 'Ready', status: 'False', reason: 'X', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }] }],
    ['an older generation', { observedGeneration: 2 }],
    ['another policy digest', { policyDigest: 'sha256:other' }],
    ['another trust digest', { trustPolicyDigest: 'sha256:other' }],
    ['another role', { roleArn: 'arn:aws:iam::111122223333:role/other' }],
    ['IRSA recorded', { mechanism: 'IRSA' }],
  ])('vouches for nothing with %s in status (describe it)', (_why, over) => {
    expect(assumeFromStatus(recorded(over), desired, ref)).toBeUndefined();
  });

  it('a new process takes the verdict status recorded for this state instead of exchanging a token for every claim at once', async () => {
    let exchanges = 0;
    const verifier = { exchange: async () => (exchanges++, { ok: true, assumedRoleArn: 'arn:aws:sts::111122223333:assumed-role/r/s' }) } as unknown as CredentialVerifier;
    const checks = () => new ClaimChecks({ controller: { verification: { enabled: true, intervalSeconds: 600 }, switchMaxSeconds: 60 }, verifier, now: () => new Date(1_000_000), random: () => 0.5 });
    const observed = {
      serviceAccount: { namespace: b.namespace, name: b.serviceAccount, uid: 'u', resourceVersion: '1', labels: desired.serviceAccount.labels, annotations: {} },
      role: { name: desired.role.name, path: desired.role.path, arn: desired.role.arn, trustPolicy: desired.role.trustPolicy, tags: desired.role.tags, maxSessionDurationSeconds: 3600, description: '' },
      inlinePolicyNames: [], attachedPolicyArns: [], associations: [],
    };
    const log = pino({ level: 'silent' });
    const verified = { type: 'CredentialsVerified', status: 'True', reason: 'Verified', message: 'ok', lastTransitionTime: '2026-01-01T00:00:00Z' };
    const withVerdict = recorded({ conditions: [...recorded().status!.conditions!, verified] });
    expect(await checks().credentials('k', desired, observed, false, log, recordedVerdict(withVerdict))).toMatchObject({ status: 'True', reason: 'Verified' });
    expect(exchanges).toBe(0);
    // Not for another generation, nor without a recorded verdict, nor when the plan has something to change.
    await checks().credentials('k', desired, observed, false, log, recordedVerdict(recorded({ observedGeneration: 2, conditions: [verified] })));
    await checks().credentials('k', desired, observed, false, log, recordedVerdict(recorded()));
    await checks().credentials('k', desired, observed, true, log, recordedVerdict(withVerdict));
    expect(exchanges).toBe(3);
  });

  it('vouches for nothing owned by an add-on, on another ServiceAccount, or cross-account (the external id is only in a describe)', () => {
    expect(assumeFromStatus(recorded(), desired, { ...ref, ownerArn: 'arn:addon' })).toBeUndefined();
    expect(assumeFromStatus(recorded(), desired, { ...ref, serviceAccount: 'other' })).toBeUndefined();
    expect(assumeFromStatus(recorded(), { ...desired, binding: { ...b, targetRoleArn: 'arn:aws:iam::444455556666:role/x' } }, ref)).toBeUndefined();
  });
});

describe('needsAssociationRead', () => {
  it('reads associations directly before changing one or reporting a conflict, not before creating one', () => {
    expect(needsAssociationRead({ steps: [{ kind: 'CreateAssociation' }], blockers: [] })).toBe(false);
    expect(needsAssociationRead({ steps: [{ kind: 'DeleteAssociation', associationId: 'a', why: 'x' }], blockers: [] })).toBe(true);
    expect(needsAssociationRead({ steps: [], blockers: [{ resource: 'Binding', reason: 'AssociationConflict', message: 'm' }] })).toBe(true);
    expect(needsAssociationRead({ steps: [], blockers: [{ resource: 'Role', reason: 'RoleNotOwned', message: 'm' }] })).toBe(false);
  });
});

describe('withAwsCallCount', () => {
  it('counts the calls of each unit of work apart, through awaits, and none outside a scope', async () => {
    const work = async (n: number) => {
      for (let i = 0; i < n; i++) {
        await new Promise((r) => setTimeout(r, 1));
        noteAwsCall();
      }
      return n;
    };
    noteAwsCall();
    const [a, b, none] = await Promise.all([withAwsCallCount(() => work(3)), withAwsCallCount(() => work(1)), withAwsCallCount(() => work(0))]);
    expect([a, b, none]).toEqual([{ result: 3, calls: 3 }, { result: 1, calls: 1 }, { result: 0, calls: 0 }]);
  });
});
