// The reconciler with in-memory managers (reconciler-fakes.ts): what it calls,
// what status it writes and which outcome it hands the work queue, for apply,
// blockers, propagation, conflicts, each failure class, deletion with Delete
// and Retain, and a refused claim.
import { describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import type { AwsWorkloadIdentityClaim } from '../../src/api/types.js';
import type { DesiredState } from '../../src/compiler/types.js';
import { FINALIZER } from '../../src/kube/claims.js';
import { RELEASED_TAG, ROLE_ARN_ANNOTATION } from '../../src/ownership.js';
import type { AssociationCache } from '../../src/controller/observation/association-cache.js';
import { RoleCache } from '../../src/controller/observation/role-cache.js';
import { ClaimChecks } from '../../src/controller/checks.js';
import type { CredentialVerifier, ExchangeResult } from '../../src/controller/verify.js';
import { Reconciler, type OwnWriteRecords } from '../../src/controller/reconciler.js';
import { OwnWrites } from '../../src/runtime/own-writes.js';
import { awsError, FakeClaims, FakeEvents, FakeWorld, kubeError } from './reconciler-fakes.js';
import { config, desiredFor, exampleClaim, IRSA, POD_IDENTITY } from './reconciler-fixtures.js';

const PROPAGATION_MS = 7_000;
const RESYNC_MS = 600_000;

/** The fake world's AWS calls (not the ServiceAccount's: those go to the API server). */
const awsCalls = (world: FakeWorld) => world.calls.filter((c) => !c.startsWith('serviceAccount.')).length;

function setup(claim: AwsWorkloadIdentityClaim, roleCache?: RoleCache, o: { countAwsCalls?: boolean; associationCache?: AssociationCache; ownWrites?: OwnWriteRecords; checks?: ClaimChecks } = {}) {
  const world = new FakeWorld(config.cluster.accountId);
  const claims = new FakeClaims(claim);
  const events = new FakeEvents();
  const counter = async <T>(fn: () => Promise<T>) => {
    const before = awsCalls(world);
    const result = await fn();
    return { result, calls: awsCalls(world) - before };
  };
  const reconciler = new Reconciler({
    config, claims, managers: world.factory(), events, log: pino({ level: 'silent' }), ...(roleCache ? { roleCache } : {}),
    ...(o.countAwsCalls ? { countAwsCalls: counter } : {}), ...(o.associationCache ? { associationCache: o.associationCache } : {}),
    ...(o.ownWrites ? { ownWrites: o.ownWrites } : {}), ...(o.checks ? { checks: o.checks } : {}),
    propagationRequeueMs: PROPAGATION_MS, resyncMs: RESYNC_MS, resyncJitterRatio: 0, random: () => 0.5,
    now: () => new Date('2026-11-26T03:00:00Z'),
  });
  const key = `${claim.metadata.namespace}/${claim.metadata.name}`;
  return { world, claims, events, reconciler, run: () => reconciler.reconcile(key) };
}

type Setup = ReturnType<typeof setup>;

const conditions = (s: Setup) => Object.fromEntries((s.claims.claim?.status?.conditions ?? []).map((c) => [c.type, `${c.status}/${c.reason}`]));

/** The world exactly as the claim wants it (what a converged claim leaves behind). */
function converged(s: Setup, d: DesiredState): void {
  s.world.putRole(d.accountId, d.role, { inline: { [d.permissionPolicy.name]: d.permissionPolicy.document }, attached: d.managedPolicyArns });
  s.world.putServiceAccount({ namespace: d.serviceAccount.namespace, name: d.serviceAccount.name, labels: { ...d.serviceAccount.labels }, annotations: { ...d.serviceAccount.annotations } });
  if (d.binding.kind === 'PodIdentityAssociation') {
    const b = d.binding;
    s.world.putAssociation({ clusterName: b.clusterName, namespace: b.namespace, serviceAccount: b.serviceAccount, roleArn: b.roleArn, tags: { ...b.tags }, disableSessionTags: false });
  }
}

describe('Reconciler: apply', () => {
  it('creates ServiceAccount, role, policy and association in order, adds the finalizer first, and waits for IAM', async () => {
    const claim = exampleClaim(POD_IDENTITY);
    const d = desiredFor(claim);
    const s = setup(claim);
    expect(await s.run()).toEqual({ kind: 'done', requeueAfterMs: PROPAGATION_MS, urgent: true });
    expect(s.world.writes()).toEqual([
      `serviceAccount.create ${d.serviceAccount.namespace}/${d.serviceAccount.name}`,
      `role.create ${d.role.name}`,
      `policy.putInline ${d.role.name}/${d.permissionPolicy.name}`,
      `association.create ${d.serviceAccount.namespace}/${d.serviceAccount.name}`,
    ]);
    expect(s.claims.calls.slice(0, 2)).toEqual(['get', 'setFinalizers']);
    expect(s.claims.claim!.metadata.finalizers).toEqual([FINALIZER]);
    expect(conditions(s)).toEqual({
      Ready: 'False/IAMPropagating', PolicyReady: 'False/IAMPropagating', RoleReady: 'False/IAMPropagating', BindingReady: 'False/IAMPropagating', ServiceAccountReady: 'True/Reconciled',
    });
    const status = s.claims.claim!.status!;
    expect(status).toMatchObject({ mechanism: 'PodIdentity', roleArn: d.role.arn, associationId: s.world.associations[0]!.associationId, observedGeneration: 1 });
    expect(status.applied).toMatchObject({ generation: 1, roleArn: d.role.arn });
    expect(s.events.events).toEqual([expect.objectContaining({ type: 'Normal', reason: 'Created' })]);

    // The next look finds everything in place: Ready, no write, the periodic resync.
    s.world.calls.length = 0;
    expect(await s.run()).toEqual({ kind: 'done', requeueAfterMs: RESYNC_MS });
    expect(s.world.writes()).toEqual([]);
    expect(conditions(s)).toEqual({ Ready: 'True/Reconciled', PolicyReady: 'True/Reconciled', RoleReady: 'True/Reconciled', BindingReady: 'True/Reconciled', ServiceAccountReady: 'True/Reconciled' });
    expect(s.events.events.at(-1)).toEqual(expect.objectContaining({ type: 'Normal', reason: 'Reconciled' }));
  });

  it('IRSA: the ServiceAccount is created with the role-arn annotation in the same write; no association', async () => {
    const claim = exampleClaim(IRSA);
    const d = desiredFor(claim);
    const s = setup(claim);
    await s.run();
    expect(s.world.writes().some((c) => c.startsWith('association.'))).toBe(false);
    expect(s.world.serviceAccounts.get(`${d.serviceAccount.namespace}/${d.serviceAccount.name}`)!.annotations[ROLE_ARN_ANNOTATION]).toBe(d.role.arn);
    expect(s.claims.claim!.status).toMatchObject({ mechanism: 'IRSA', roleArn: d.role.arn });
    expect(s.claims.claim!.status!.associationId).toBeUndefined();
  });

  it('corrects drift on a converged claim and says so (DriftCorrected)', async () => {
    const claim = exampleClaim(POD_IDENTITY);
    const d = desiredFor(claim);
    const s = setup(claim);
    converged(s, d);
    await s.run();
    s.world.role(d.accountId, d.role.name)!.attached.add('arn:aws:iam::aws:policy/AdministratorAccess');
    s.world.calls.length = 0;
    expect(await s.run()).toEqual({ kind: 'done', requeueAfterMs: PROPAGATION_MS, urgent: true });
    expect(s.world.writes()).toEqual([`policy.detach ${d.role.name} arn:aws:iam::aws:policy/AdministratorAccess`]);
    expect(s.events.events.at(-1)).toEqual(expect.objectContaining({ type: 'Warning', reason: 'DriftCorrected' }));
  });
});

describe('Reconciler: the role cache', () => {
  it('after writes IAM has not propagated yet, the re-check reads no role back: the role is as written, the token exchange tells when IAM shows it', async () => {
    const claim = exampleClaim(POD_IDENTITY);
    const d = desiredFor(claim);
    // A role cache without the page permissions: only what awi read or wrote itself.
    const denied = { send: async () => { throw Object.assign(new Error('denied'), { name: 'AccessDenied' }); } };
    const roleCache = new RoleCache({ iamFor: () => denied as never, pathPrefix: '/awi/', maxAgeMs: 60_000, now: () => 1_000_000 });
    let exchange: ExchangeResult = { ok: false, code: 'AccessDenied', message: 'not authorized to perform sts:AssumeRole', retryable: false };
    const verifier = { exchange: async () => exchange } as unknown as CredentialVerifier;
    const now = () => new Date('2026-11-26T03:00:00Z');
    const checks = new ClaimChecks({ controller: { verification: { enabled: true, intervalSeconds: 600 }, switchMaxSeconds: 60 }, verifier, now });
    const s = setup(claim, roleCache, { checks });
    expect(await s.run()).toEqual({ kind: 'done', requeueAfterMs: PROPAGATION_MS, urgent: true });
    expect(conditions(s)).toMatchObject({ Ready: 'False/IAMPropagating', CredentialsVerified: 'False/IAMPropagating' });
    // Still propagating at the re-check: no IAM read, no write, still waiting.
    s.world.calls.length = 0;
    expect(await s.run()).toEqual({ kind: 'done', requeueAfterMs: PROPAGATION_MS, urgent: true });
    expect(s.world.calls.filter((c) => /^(role|policy)\./.test(c))).toEqual([]);
    expect(conditions(s)).toMatchObject({ Ready: 'False/IAMPropagating' });
    // IAM shows it: Ready, still without reading the role back.
    exchange = { ok: true, assumedRoleArn: `arn:aws:sts::${d.accountId}:assumed-role/${d.role.name}/awi-verify` };
    expect(await s.run()).toMatchObject({ kind: 'done' });
    expect(s.world.calls.filter((c) => /^(role|policy)\./.test(c))).toEqual([]);
    expect(conditions(s)).toMatchObject({ Ready: 'True/Reconciled', CredentialsVerified: 'True/Verified' });
  });

  /** A role cache that still remembers the converged role, whatever happened since; records what it is told. */
  function staleCache(d: DesiredState) {
    const told: string[] = [];
    const cache = {
      lookup: async () => ({ value: { role: { ...d.role, tags: { ...d.role.tags } }, inlinePolicies: { [d.permissionPolicy.name]: d.permissionPolicy.document }, attachedPolicyArns: [...d.managedPolicyArns] } }),
      observed: (_account: string, name: string, value: unknown) => { told.push(`observed ${name} ${value ? 'present' : 'absent'}`); },
      wrote: (_account: string, name: string) => { told.push(`wrote ${name}`); },
    };
    return { cache: cache as unknown as RoleCache, told };
  }

  it('a reconcile answered without any AWS call says so (its rate-limit token goes back); one that read AWS does not', async () => {
    const claim = exampleClaim(IRSA);
    const d = desiredFor(claim);
    const applied = { ...claim, status: { applied: { generation: 1, spec: claim.spec, mechanism: 'IRSA' as const, roleArn: d.role.arn } } };
    // The shared observations know the role and that the ServiceAccount has no association.
    const noAssociation = { find: async () => [], read: async () => [] } as unknown as AssociationCache;
    const cached = setup(applied, staleCache(d).cache, { countAwsCalls: true, associationCache: noAssociation });
    converged(cached, d);
    expect(await cached.run()).toEqual({ kind: 'done', requeueAfterMs: RESYNC_MS, noAwsCall: true });
    const direct = setup(applied, undefined, { countAwsCalls: true });
    converged(direct, d);
    expect(await direct.run()).toEqual({ kind: 'done', requeueAfterMs: RESYNC_MS });
  });

  it('a converged claim is answered from the cache: no IAM read', async () => {
    const claim = exampleClaim(POD_IDENTITY);
    const d = desiredFor(claim);
    const { cache } = staleCache(d);
    const s = setup({ ...claim, status: { applied: { generation: 1, spec: claim.spec, mechanism: 'PodIdentity', roleArn: d.role.arn } } }, cache);
    converged(s, d);
    expect(await s.run()).toEqual({ kind: 'done', requeueAfterMs: RESYNC_MS });
    expect(s.world.calls.filter((c) => c.startsWith('role.') || c.startsWith('policy.'))).toEqual([]);
  });

  it('when the plan finds something to do, the role is read directly, and nothing of the cached answer stays', async () => {
    const claim = exampleClaim(POD_IDENTITY);
    const d = desiredFor(claim);
    const { cache, told } = staleCache(d);
    const s = setup({ ...claim, status: { applied: { generation: 1, spec: claim.spec, mechanism: 'PodIdentity', roleArn: d.role.arn } } }, cache);
    converged(s, d);
    // The role went behind awi's back (the cache does not know yet), and a ServiceAccount label too.
    s.world.roles.clear();
    delete s.world.serviceAccounts.get(`${d.serviceAccount.namespace}/${d.serviceAccount.name}`)!.labels['awi.dev/claim-namespace'];
    await s.run();
    expect(s.world.writes()).toEqual([
      `serviceAccount.patchMetadata ${d.serviceAccount.namespace}/${d.serviceAccount.name}`,
      `role.create ${d.role.name}`,
      `policy.putInline ${d.role.name}/${d.permissionPolicy.name}`,
    ]);
    expect(told).toEqual([`observed ${d.role.name} absent`, `wrote ${d.role.name}`]);
  });
});

describe('Reconciler: a new claim whose role the cache shows absent', () => {
  /**
   * A role cache whose pages showed no role of the claim's name (whatever IAM
   * holds now); like RoleCache, it stops vouching for a role once awi wrote it.
   */
  function absentCache() {
    const told: string[] = [];
    const written = new Set<string>();
    const cache = {
      absent: async (_account: string, name: string) => !written.has(name),
      lookup: async (_account: string, name: string) => (written.has(name) ? 'unknown' : { observedAt: 0, value: undefined }),
      observed: (_account: string, name: string, value: unknown) => { told.push(`observed ${name} ${value ? 'present' : 'absent'}`); },
      wrote: (_account: string, name: string) => { written.add(name); told.push(`wrote ${name}`); },
      confirmedWrite: () => undefined,
    };
    return { cache: cache as unknown as RoleCache, told };
  }
  const iamCalls = (s: Setup) => s.world.calls.filter((c) => c.startsWith('role.') || c.startsWith('policy.'));

  it('creates the role without reading it first (2 IAM calls: CreateRole, PutRolePolicy)', async () => {
    const claim = exampleClaim(POD_IDENTITY);
    const d = desiredFor(claim);
    const s = setup(claim, absentCache().cache);
    expect(await s.run()).toEqual({ kind: 'done', requeueAfterMs: PROPAGATION_MS, urgent: true });
    expect(iamCalls(s)).toEqual([`role.create ${d.role.name}`, `policy.putInline ${d.role.name}/${d.permissionPolicy.name}`]);
    expect(s.world.role(d.accountId, d.role.name)).toBeDefined();
  });

  it('a role of that name made by someone else: EntityAlreadyExists, no status from the wrong view, then a direct read blocks the claim', async () => {
    const claim = exampleClaim(POD_IDENTITY);
    const d = desiredFor(claim);
    const { cache, told } = absentCache();
    const s = setup(claim, cache);
    // Outside awi's path, or made between two page reads: the cache does not know it.
    s.world.putRole(d.accountId, { ...d.role, tags: { team: 'someone-else' } });
    const foreign = structuredClone(s.world.role(d.accountId, d.role.name)!.role);
    expect(await s.run()).toEqual({ kind: 'conflict' });
    expect(iamCalls(s)).toEqual([`role.create ${d.role.name}`]);
    expect(s.claims.claim!.status?.conditions).toBeUndefined();

    s.world.calls.length = 0;
    expect((await s.run()).kind).toBe('terminal');
    expect(iamCalls(s)).toEqual([`role.get ${d.role.name}`]);
    expect(conditions(s)).toMatchObject({ RoleReady: 'False/RoleNotOwned', Ready: 'False/RoleNotOwned' });
    expect(s.world.role(d.accountId, d.role.name)!.role).toEqual(foreign);
    expect(told).toEqual([`wrote ${d.role.name}`]);
  });

  it('a role of that name another claim owns is not taken over either', async () => {
    const claim = exampleClaim(POD_IDENTITY);
    const d = desiredFor(claim);
    const s = setup(claim, absentCache().cache);
    s.world.putRole(d.accountId, { ...d.role, tags: { ...d.role.tags, 'awi.dev/claim': 'other-claim' } });
    expect(await s.run()).toEqual({ kind: 'conflict' });
    expect((await s.run()).kind).toBe('terminal');
    expect(conditions(s)).toMatchObject({ RoleReady: 'False/RoleNotOwned' });
    expect(s.world.writes().filter((c) => c.startsWith('role.') || c.startsWith('policy.'))).toEqual([`role.create ${d.role.name}`]);
  });

  it("the claim's own role, made between two page reads: after EntityAlreadyExists a direct read adopts it", async () => {
    const claim = exampleClaim(POD_IDENTITY);
    const d = desiredFor(claim);
    const s = setup(claim, absentCache().cache);
    s.world.putRole(d.accountId, d.role);
    expect(await s.run()).toEqual({ kind: 'conflict' });
    s.world.calls.length = 0;
    expect(await s.run()).toEqual({ kind: 'done', requeueAfterMs: PROPAGATION_MS, urgent: true });
    // Read, then only what is missing (its policy) written: no second create.
    expect(iamCalls(s)).toEqual([
      `role.get ${d.role.name}`, `policy.getInline ${d.role.name}/${d.permissionPolicy.name}`, `policy.listInlineNames ${d.role.name}`, `policy.listAttached ${d.role.name}`,
      `policy.putInline ${d.role.name}/${d.permissionPolicy.name}`,
    ]);
  });

  it('a claim the cache cannot vouch for (a role of that name cached) is read directly, as before', async () => {
    const claim = exampleClaim(POD_IDENTITY);
    const d = desiredFor(claim);
    const cache = { absent: async () => false, lookup: async () => 'unknown', observed: () => undefined, wrote: () => undefined, confirmedWrite: () => undefined } as unknown as RoleCache;
    const s = setup(claim, cache);
    await s.run();
    expect(iamCalls(s).slice(0, 2)).toEqual([`role.get ${d.role.name}`, `role.create ${d.role.name}`]);
  });
});

describe("Reconciler: awi's own writes (their watch echoes do not run the claim again)", () => {
  const echoOf = (own: OwnWrites, key: string, rv: string | undefined) => {
    let out: string | undefined = 'not delivered';
    own.deliver(key, rv, (by) => { out = by; });
    return out;
  };

  it('records the finalizer patch and the ServiceAccount create with the resourceVersions they returned; not the status write', async () => {
    const claim = exampleClaim(POD_IDENTITY);
    const d = desiredFor(claim);
    const own = { claims: new OwnWrites(), serviceAccounts: new OwnWrites() };
    const s = setup(claim, undefined, { ownWrites: own });
    const key = `${claim.metadata.namespace}/${claim.metadata.name}`;
    const saKey = `${d.serviceAccount.namespace}/${d.serviceAccount.name}`;
    const setFinalizers = s.claims.setFinalizers.bind(s.claims);
    let finalizerVersion: string | undefined;
    s.claims.setFinalizers = async (c, list) => {
      const written = await setFinalizers(c, list);
      finalizerVersion = written.metadata.resourceVersion;
      return written;
    };
    await s.run();
    const statusVersion = s.claims.claim!.metadata.resourceVersion;
    expect(finalizerVersion).toBeDefined();
    expect(statusVersion).not.toBe(finalizerVersion);
    // Status patches carry no resourceVersion: one could land on an edit this reconcile never saw, so its echo is not dropped
    // (status-only changes do not enqueue anyway).
    expect(echoOf(own.claims, key, statusVersion)).toBeUndefined();
    expect(echoOf(own.claims, key, finalizerVersion)).toBe(key);
    expect(echoOf(own.serviceAccounts, saKey, s.world.serviceAccounts.get(saKey)!.resourceVersion)).toBe(key);
    expect(own.claims.size + own.serviceAccounts.size).toBe(0);
  });

  it('records a ServiceAccount patch at the resourceVersion it returned (later steps patch that one)', async () => {
    const claim = exampleClaim(POD_IDENTITY);
    const d = desiredFor(claim);
    const own = { claims: new OwnWrites(), serviceAccounts: new OwnWrites() };
    const s = setup(claim, undefined, { ownWrites: own });
    converged(s, d);
    const saKey = `${d.serviceAccount.namespace}/${d.serviceAccount.name}`;
    delete s.world.serviceAccounts.get(saKey)!.labels['awi.dev/claim-namespace'];
    await s.run();
    expect(s.world.writes()).toEqual([`serviceAccount.patchMetadata ${saKey}`]);
    expect(echoOf(own.serviceAccounts, saKey, s.world.serviceAccounts.get(saKey)!.resourceVersion)).toBe(`${claim.metadata.namespace}/${claim.metadata.name}`);
  });
});

describe('Reconciler: blockers (terminal, nothing of someone else is touched)', () => {
  const cases: [string, (s: Setup, d: DesiredState) => void, Record<string, string>, (d: DesiredState) => string[]][] = [
    ['a ServiceAccount awi does not own', (s, d) => {
      s.world.putServiceAccount({ namespace: d.serviceAccount.namespace, name: d.serviceAccount.name, labels: {}, annotations: {} });
    }, { ServiceAccountReady: 'False/ServiceAccountNotOwned', RoleReady: 'Unknown/Blocked', Ready: 'False/ServiceAccountNotOwned' }, () => []],
    ['a role of that name awi does not own', (s, d) => {
      s.world.putRole(d.accountId, { ...d.role, tags: { team: 'someone-else' } });
    }, { RoleReady: 'False/RoleNotOwned', PolicyReady: 'Unknown/Blocked', Ready: 'False/RoleNotOwned' },
    (d) => [`serviceAccount.create ${d.serviceAccount.namespace}/${d.serviceAccount.name}`]],
    ['a Pod Identity association someone else made for the ServiceAccount', (s, d) => {
      s.world.putAssociation({ clusterName: config.cluster.name, namespace: d.serviceAccount.namespace, serviceAccount: d.serviceAccount.name, roleArn: 'arn:aws:iam::111122223333:role/other', tags: {}, disableSessionTags: false });
    }, { BindingReady: 'False/AssociationConflict', RoleReady: 'Unknown/Blocked', Ready: 'False/AssociationConflict' },
    (d) => [`serviceAccount.create ${d.serviceAccount.namespace}/${d.serviceAccount.name}`]],
  ];

  it.each(cases)('%s', async (_name, seed, want, writes) => {
    const claim = exampleClaim(POD_IDENTITY);
    const d = desiredFor(claim);
    const s = setup(claim);
    seed(s, d);
    const before = s.world.roles.size;
    const outcome = await s.run();
    expect(outcome.kind).toBe('terminal');
    expect(s.world.writes()).toEqual(writes(d));
    expect(s.world.roles.size).toBe(before);
    expect(conditions(s)).toMatchObject(want);
    // A claim blocked on the ServiceAccount or the role reports no role (it would be the other one's).
    if (want.ServiceAccountReady?.startsWith('False') || want.RoleReady?.startsWith('False')) expect(s.claims.claim!.status!.roleArn).toBeUndefined();
    expect(s.events.events.some((e) => e.type === 'Warning' && e.reason === want.Ready!.split('/')[1])).toBe(true);
  });
});

describe('Reconciler: propagation and conflicts', () => {
  it('a create that finds the role existing but not yet readable stops there and requeues after the propagation delay', async () => {
    const claim = exampleClaim(POD_IDENTITY);
    const d = desiredFor(claim);
    const s = setup(claim);
    s.world.failNext('role.create', awsError('EntityAlreadyExists', 'Role exists', 409));
    expect(await s.run()).toEqual({ kind: 'done', requeueAfterMs: PROPAGATION_MS, urgent: true });
    expect(s.world.writes()).toEqual([`serviceAccount.create ${d.serviceAccount.namespace}/${d.serviceAccount.name}`, `role.create ${d.role.name}`]);
    expect(conditions(s)).toMatchObject({ Ready: 'False/IAMPropagating', RoleReady: 'False/IAMPropagating', PolicyReady: 'False/IAMPropagating' });
  });

  it.each([
    ['adding the finalizer', 'setFinalizers'],
    ['writing status', 'patchStatus'],
  ] as const)('an API-server conflict while %s requeues at once, without a failure status', async (_name, op) => {
    const s = setup(exampleClaim(POD_IDENTITY));
    s.claims.failNext(op, kubeError(409, 'the object has been modified; please apply your changes to the latest version'));
    expect(await s.run()).toEqual({ kind: 'conflict' });
    expect(s.claims.calls.filter((c) => c === 'patchStatus')).toHaveLength(op === 'patchStatus' ? 1 : 0);
    expect(s.claims.claim!.status?.conditions).toBeUndefined();
  });
});

describe('Reconciler: failures retry with backoff, Ready says why', () => {
  it.each([
    ['IAM throttling', 'role.create', awsError('Throttling', 'Rate exceeded', 400), 'Throttled', 'Throttling: Rate exceeded. Retrying with backoff.', 10_000],
    ['an AWS 5xx', 'association.create', awsError('ServiceUnavailableException', 'try again', 503), 'AWSUnavailable', 'ServiceUnavailableException: try again. Retrying with backoff.', 60_000],
    ['AccessDenied', 'policy.putInline', awsError('AccessDenied', 'not authorized to perform iam:PutRolePolicy', 403), 'AWSError', 'AccessDenied: not authorized to perform iam:PutRolePolicy. Retrying with backoff.', undefined],
    ['a Kubernetes API error', 'serviceAccount.create', kubeError(403, 'serviceaccounts is forbidden'), 'KubernetesAPIError', 'The Kubernetes API answered 403: serviceaccounts is forbidden. Retrying with backoff.', undefined],
  ])('%s', async (_name, op, err, reason, message, maxDelayMs) => {
    const s = setup(exampleClaim(POD_IDENTITY));
    s.world.failNext(op, err);
    const outcome = await s.run();
    // Transient AWS failures (the call budget already retried them) come back within a bounded delay.
    expect(outcome).toEqual({ kind: 'retry', error: err, ...(maxDelayMs !== undefined ? { maxDelayMs } : {}) });
    const ready = s.claims.claim!.status!.conditions!.find((c) => c.type === 'Ready')!;
    expect(ready).toMatchObject({ status: 'False', reason, message });
    expect(s.events.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason }));
    // The next attempt goes on from where the world is.
    expect((await s.run()).kind).toBe('done');
  });
});

describe('Reconciler: deletion', () => {
  function deleted(policy: 'Delete' | 'Retain') {
    const claim = exampleClaim(POD_IDENTITY, (spec) => { spec.deletionPolicy = policy; });
    const d = desiredFor(claim);
    const s = setup(claim);
    converged(s, d);
    s.world.putAssociation({ clusterName: config.cluster.name, namespace: d.serviceAccount.namespace, serviceAccount: 'someone-elses', roleArn: 'arn:aws:iam::111122223333:role/x', tags: {}, disableSessionTags: false });
    s.claims.claim = { ...claim, metadata: { ...claim.metadata, finalizers: ['other', FINALIZER], deletionTimestamp: '2026-11-26T03:00:00Z' } };
    return { s, d };
  }

  it('Delete: association, policies, role, then the ServiceAccount; only our finalizer goes', async () => {
    const { s, d } = deleted('Delete');
    expect(await s.run()).toEqual({ kind: 'done' });
    const sa = `${d.serviceAccount.namespace}/${d.serviceAccount.name}`;
    const association = s.world.calls.find((c) => c.startsWith('association.delete'))!;
    expect(s.world.writes()).toEqual([
      association,
      `policy.deleteInline ${d.role.name}/${d.permissionPolicy.name}`,
      `role.delete ${d.role.name}`,
      `serviceAccount.delete ${sa}`,
    ]);
    expect(s.world.roles.size).toBe(0);
    expect(s.world.serviceAccounts.size).toBe(0);
    expect(s.world.associations.map((a) => a.serviceAccount)).toEqual(['someone-elses']);
    expect(s.claims.claim!.metadata.finalizers).toEqual(['other']);
    expect(s.events.events).toEqual([expect.objectContaining({ type: 'Normal', reason: 'Deleted', action: 'Delete' })]);
    expect(s.events.events[0]!.note).toContain(`role ${d.role.arn} and its policies`);
  });

  it('Retain: the role is tagged released, the ServiceAccount released, the binding left working', async () => {
    const { s, d } = deleted('Retain');
    expect(await s.run()).toEqual({ kind: 'done' });
    expect(s.world.writes()).toEqual([`role.tag ${d.role.name}`, `serviceAccount.patchMetadata ${d.serviceAccount.namespace}/${d.serviceAccount.name}`]);
    expect(s.world.role(d.accountId, d.role.name)!.role.tags[RELEASED_TAG]).toBe('true');
    const sa = s.world.serviceAccounts.get(`${d.serviceAccount.namespace}/${d.serviceAccount.name}`)!;
    expect(sa.labels['awi.dev/claim']).toBeUndefined();
    expect(sa.labels['app.kubernetes.io/managed-by']).toBe('awi');
    expect(s.world.associations).toHaveLength(2);
    expect(s.claims.claim!.metadata.finalizers).toEqual(['other']);
    expect(s.events.events).toEqual([expect.objectContaining({ reason: 'Retained', action: 'Retain' })]);
    expect(s.events.events[0]!.note).toContain('was released: a new claim may take it over');
  });

  it('a role that is not the claim\'s is left in place on Delete', async () => {
    const { s, d } = deleted('Delete');
    s.world.role(d.accountId, d.role.name)!.role.tags['awi.dev/claim'] = 'another-claim';
    await s.run();
    expect(s.world.writes().filter((c) => c.startsWith('role.') || c.startsWith('policy.'))).toEqual([]);
    expect(s.world.roles.size).toBe(1);
  });

  it('a failure during cleanup keeps the finalizer (the retry cleans up again)', async () => {
    const { s } = deleted('Delete');
    s.world.failNext('role.delete', awsError('Throttling', 'Rate exceeded', 400));
    expect((await s.run()).kind).toBe('retry');
    expect(s.claims.claim!.metadata.finalizers).toEqual(['other', FINALIZER]);
    expect(await s.run()).toEqual({ kind: 'done' });
    expect(s.claims.claim!.metadata.finalizers).toEqual(['other']);
  });
});

describe('Reconciler: a refused claim', () => {
  it('is terminal: no AWS call, no finalizer, Ready names field and rule', async () => {
    const claim = exampleClaim(POD_IDENTITY, (spec) => {
      (spec.permissions as { s3: { bucket: string }[] }).s3[0]!.bucket = 'another-teams-bucket';
    });
    const s = setup(claim);
    expect(await s.run()).toEqual({ kind: 'terminal' });
    expect(s.world.calls).toEqual([]);
    expect(s.claims.claim!.metadata.finalizers).toBeUndefined();
    const ready = s.claims.claim!.status!.conditions!.find((c) => c.type === 'Ready')!;
    expect(ready.status).toBe('False');
    expect(ready.message).toContain('spec.permissions.s3[0]: resource-allowed: resource arn:aws:s3:::another-teams-bucket/checkout-api/* is outside');
    expect(conditions(s)).toMatchObject({ RoleReady: `Unknown/${ready.reason}`, BindingReady: `Unknown/${ready.reason}` });
  });

  it('a claim that is gone is done, and nothing is called', async () => {
    const s = setup(exampleClaim(POD_IDENTITY));
    s.claims.claim = undefined;
    expect(await s.run()).toEqual({ kind: 'done' });
    expect(s.world.calls).toEqual([]);
  });
});
