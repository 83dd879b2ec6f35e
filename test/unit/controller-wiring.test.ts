// The controller's wiring (claimWatches + wireClaims, as Controller uses them)
// over a scripted API server: which changes enqueue which claims, and that
// nothing of a deleted claim stays in the watch store, its index or the queue.
import { afterEach, describe, expect, it } from '@jest/globals';
import { KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { BY_SERVICE_ACCOUNT, claimWatches, wireClaims, type ClaimWatches } from '../../src/controller/controller.js';
import type { OwnWriteRecords } from '../../src/controller/reconciler.js';
import { OwnWrites } from '../../src/runtime/own-writes.js';
import { WorkQueue, type ReconcileOutcome } from '../../src/runtime/queue.js';
import { Runtime } from '../../src/runtime/runtime.js';
import type { ListFn, WatchFn } from '../../src/runtime/watch.js';
import { FakeClock, flush } from '../fixtures/fake-clock.js';

type Handlers = { onEvent(type: string, obj: unknown): void };

/** Lists `objects[path]`; the test drives each collection's watch through `send`. */
class FakeApiServer {
  readonly objects: Record<string, KubernetesObject[]> = {};
  private readonly watches = new Map<string, Handlers>();
  list: ListFn<KubernetesObject> = async (path) =>
    ({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '1' }, items: structuredClone(this.objects[path] ?? []) }) as KubernetesListObject<KubernetesObject>;
  watch: WatchFn = async (path, _query, onEvent) => {
    this.watches.set(path, { onEvent });
    return { abort: () => undefined };
  };
  send(path: string, type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubernetesObject): void {
    const w = this.watches.get(path);
    if (!w) throw new Error(`no watch on ${path}`);
    w.onEvent(type, structuredClone(obj));
  }
}

const CLAIMS = '/apis/awi.dev/v1alpha1/awsworkloadidentityclaims';
const SAS = '/api/v1/serviceaccounts';
const PODS = '/api/v1/pods';

let rv = 10;
const claim = (name: string, sa: string, o: { generation?: number; ready?: boolean; deleting?: boolean } = {}): KubernetesObject =>
  ({
    apiVersion: 'awi.dev/v1alpha1', kind: 'AwsWorkloadIdentityClaim',
    metadata: {
      name, namespace: 'team', uid: `uid-${name}`, resourceVersion: String(++rv), generation: o.generation ?? 1,
      finalizers: ['awi.dev/cleanup'], managedFields: [{ manager: 'kubectl' }],
      ...(o.deleting ? { deletionTimestamp: new Date(0) } : {}),
    },
    spec: { serviceAccountName: sa, permissions: { s3: [] } },
    status: { observedGeneration: o.generation ?? 1, conditions: [{ type: 'Ready', status: o.ready ? 'True' : 'False', message: 'x'.repeat(100) }] },
  }) as KubernetesObject;
const serviceAccount = (name: string, owner?: string): KubernetesObject => ({
  apiVersion: 'v1', kind: 'ServiceAccount',
  metadata: { name, namespace: 'team', uid: `sa-${name}`, resourceVersion: String(++rv), labels: owner ? { 'awi.dev/claim': owner, 'awi.dev/claim-namespace': 'team' } : {} },
});
const pod = (name: string, sa: string): KubernetesObject =>
  ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'team', uid: `pod-${name}`, resourceVersion: String(++rv) }, spec: { serviceAccountName: sa, containers: [] } }) as KubernetesObject;

describe('the controller wiring', () => {
  let running: Runtime | undefined;
  afterEach(async () => {
    await running?.stop();
    running = undefined;
  });

  async function start(opts: { switching?: string[]; own?: OwnWriteRecords } = {}) {
    const api = new FakeApiServer();
    const clock = new FakeClock();
    const reconciled: string[] = [];
    /** Models the reconciler's contract: a claim that exists is resynced later; a claim gone is forgotten. */
    const existing = new Set<string>();
    const queue: WorkQueue = new WorkQueue(
      async (key): Promise<ReconcileOutcome> => {
        reconciled.push(key);
        if (existing.has(key)) return { kind: 'done', requeueAfterMs: 300_000 };
        queue.forget(key);
        return { kind: 'done' };
      },
      { concurrency: 2, qps: Infinity, clock },
    );
    const watches: ClaimWatches = claimWatches(new KubeConfig(), { silenceTimeoutMs: 600_000, deps: { list: api.list, watch: api.watch, clock, random: () => 0.5 } });
    running = wireClaims(new Runtime(queue), watches, new Set(opts.switching ?? []), opts.own);
    const begin = async (objects: Record<string, KubernetesObject[]>) => {
      Object.assign(api.objects, objects);
      for (const c of objects[CLAIMS] ?? []) existing.add(`${c.metadata?.namespace}/${c.metadata?.name}`);
      await running!.start();
      await queue.idle();
      reconciled.length = 0;
    };
    const settle = async () => {
      await flush();
      await queue.idle();
    };
    return { api, queue, watches, reconciled, existing, begin, settle };
  }

  it('enqueues a claim on spec, deletion or finalizer changes, not on status-only updates', async () => {
    const { api, reconciled, begin, settle } = await start();
    await begin({ [CLAIMS]: [claim('a', 'app')] });
    api.send(CLAIMS, 'MODIFIED', claim('a', 'app', { ready: true })); // our own status write
    await settle();
    expect(reconciled).toEqual([]);
    api.send(CLAIMS, 'MODIFIED', claim('a', 'app', { generation: 2 }));
    await settle();
    api.send(CLAIMS, 'MODIFIED', claim('a', 'app', { generation: 2, deleting: true }));
    await settle();
    expect(reconciled).toEqual(['team/a', 'team/a']);
  });

  it('keeps only what enqueueing needs of each watched object', async () => {
    const { watches, begin } = await start();
    await begin({ [CLAIMS]: [claim('a', 'app')], [PODS]: [pod('p', 'app')] });
    const stored = watches.claims.store.get('team/a') as { metadata: { managedFields?: unknown }; spec: Record<string, unknown> };
    expect(stored.metadata.managedFields).toBeUndefined();
    expect(stored.spec).toEqual({ serviceAccountName: 'app' });
    expect(watches.pods.store.get('team/p')).toMatchObject({ spec: { serviceAccountName: 'app' } });
    expect((watches.pods.store.get('team/p') as { spec: Record<string, unknown> }).spec.containers).toBeUndefined();
  });

  it('a ServiceAccount change enqueues its own claim and the claims naming it, following a claim that names another one', async () => {
    const { api, reconciled, begin, settle } = await start();
    await begin({ [CLAIMS]: [claim('owner', 'app'), claim('waiting', 'app'), claim('other', 'web')], [SAS]: [serviceAccount('app', 'owner')] });
    api.send(SAS, 'DELETED', serviceAccount('app', 'owner'));
    await settle();
    expect(reconciled.sort()).toEqual(['team/owner', 'team/waiting']);

    reconciled.length = 0;
    api.send(CLAIMS, 'MODIFIED', claim('waiting', 'web', { generation: 2 })); // now names web
    await settle();
    api.send(SAS, 'ADDED', serviceAccount('app', 'owner'));
    await settle();
    expect(reconciled).toEqual(['team/waiting', 'team/owner']);
  });

  it('a pod enqueues only the claims naming its ServiceAccount that are switching mechanism', async () => {
    const { api, reconciled, begin, settle } = await start({ switching: ['team/switching'] });
    await begin({ [CLAIMS]: [claim('switching', 'app'), claim('steady', 'app')] });
    api.send(PODS, 'DELETED', pod('p', 'app'));
    api.send(PODS, 'ADDED', pod('q', 'web'));
    await settle();
    expect(reconciled).toEqual(['team/switching']);
  });

  it("the echo of awi's own finalizer patch does not reconcile the claim again; a later edit by someone else does", async () => {
    const own = { claims: new OwnWrites(), serviceAccounts: new OwnWrites() };
    const { api, reconciled, begin, settle } = await start({ own });
    const fresh = claim('a', 'app');
    fresh.metadata!.finalizers = [];
    await begin({ [CLAIMS]: [fresh] });
    // The reconcile adds the finalizer; the API server answers with the new resourceVersion.
    const patched = claim('a', 'app');
    await own.claims.track('team/a', 'team/a', async () => patched, (w) => w.metadata?.resourceVersion);
    api.send(CLAIMS, 'MODIFIED', patched);
    await settle();
    expect(reconciled).toEqual([]);
    // Without the record the same delivery reconciles (finalizers changed): the record is what drops it.
    api.send(CLAIMS, 'MODIFIED', { ...claim('a', 'app'), metadata: { ...claim('a', 'app').metadata, finalizers: [] } });
    await settle();
    expect(reconciled).toEqual(['team/a']);
    reconciled.length = 0;
    api.send(CLAIMS, 'MODIFIED', claim('a', 'app', { generation: 2 }));
    await settle();
    expect(reconciled).toEqual(['team/a']);
  });

  it("the echo of awi's own ServiceAccount write skips only the claim that wrote it; a claim waiting for it still runs", async () => {
    const own = { claims: new OwnWrites(), serviceAccounts: new OwnWrites() };
    const { api, reconciled, begin, settle } = await start({ own });
    await begin({ [CLAIMS]: [claim('owner', 'app'), claim('waiting', 'app')] });
    const created = serviceAccount('app', 'owner');
    await own.serviceAccounts.track('team/app', 'team/owner', async () => created, (w) => w.metadata?.resourceVersion);
    api.send(SAS, 'ADDED', created);
    await settle();
    expect(reconciled).toEqual(['team/waiting']);
    reconciled.length = 0;
    // Someone relabels it: a new resourceVersion, both run.
    api.send(SAS, 'MODIFIED', serviceAccount('app', 'owner'));
    await settle();
    expect(reconciled.sort()).toEqual(['team/owner', 'team/waiting']);
  });

  it('holds no record of own writes for a deleted claim or ServiceAccount', async () => {
    const own = { claims: new OwnWrites(), serviceAccounts: new OwnWrites() };
    const { api, existing, begin, settle } = await start({ own });
    await begin({ [CLAIMS]: [claim('a', 'app')], [SAS]: [serviceAccount('app', 'a')] });
    // Writes whose echoes never came (e.g. folded into a later event by a relist).
    await own.claims.track('team/a', 'team/a', async () => claim('a', 'app'), (w) => w.metadata?.resourceVersion);
    await own.serviceAccounts.track('team/app', 'team/a', async () => serviceAccount('app', 'a'), (w) => w.metadata?.resourceVersion);
    expect(own.claims.size + own.serviceAccounts.size).toBe(2);
    existing.delete('team/a');
    api.send(SAS, 'DELETED', serviceAccount('app', 'a'));
    api.send(CLAIMS, 'DELETED', claim('a', 'app', { deleting: true }));
    await settle();
    expect(own.claims.size).toBe(0);
    expect(own.serviceAccounts.size).toBe(0);
  });

  it('holds nothing for a claim once it is deleted: no store entry, no index entry, nothing queued', async () => {
    const { api, queue, watches, reconciled, existing, begin, settle } = await start();
    await begin({ [CLAIMS]: [claim('a', 'app'), claim('b', 'app')] });
    expect(queue.holds('team/a')).toBe(true); // its resync is scheduled
    existing.delete('team/a');
    api.send(CLAIMS, 'DELETED', claim('a', 'app', { deleting: true }));
    await settle();
    expect(reconciled).toEqual(['team/a']); // one last reconcile finds it gone
    expect(watches.claims.store.get('team/a')).toBeUndefined();
    expect(watches.claims.store.byIndex(BY_SERVICE_ACCOUNT, 'team/app').map((c) => c.metadata?.name)).toEqual(['b']);
    expect(queue.holds('team/a')).toBe(false);

    existing.delete('team/b');
    api.send(CLAIMS, 'DELETED', claim('b', 'app', { deleting: true }));
    await settle();
    expect(watches.claims.store.size).toBe(0);
    expect(watches.claims.store.indexSize(BY_SERVICE_ACCOUNT)).toBe(0);
    expect(queue.holds('team/b')).toBe(false);
    expect(queue.delayedCount).toBe(0);
  });
});
