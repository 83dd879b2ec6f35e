import { describe, expect, it, jest } from '@jest/globals';
import { FakeClock, flush } from '../fixtures/fake-clock.js';
import { KubeConfig, Watch, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import {
  ResilientWatch,
  WATCH_INACTIVITY_MARGIN_MS,
  isGone,
  type ListFn,
  type ListQuery,
  type WatchFn,
  type WatchOptions,
  type WatchRestartReason,
} from '../../src/runtime/watch.js';

/** Deterministic clock: timers fire only from advance(), in time order. */

type Obj = KubernetesObject & { data?: Record<string, string> };
const cm = (name: string, rv: number, data: Record<string, string> = {}): Obj => ({
  metadata: { name, namespace: 'ns', resourceVersion: String(rv) },
  data,
});

interface WatchCall {
  path: string;
  query: Record<string, string | number | boolean | undefined>;
  onEvent(type: string, obj: unknown): void;
  onDone(err: unknown): void;
  aborted: boolean;
}

/** A scripted API server: list serves `objects` in pages; watches are driven by the test. */
class FakeApi {
  objects: Obj[] = [];
  rv = '100';
  listCalls: ListQuery[] = [];
  listSignals: AbortSignal[] = [];
  listFailures: unknown[] = [];
  /** When set, list calls wait for this promise (to test stop() during a list). */
  listGate: Promise<void> | undefined;
  watches: WatchCall[] = [];
  watchFailures: unknown[] = [];

  list: ListFn<Obj> = async (_path, query, signal) => {
    this.listCalls.push(query);
    this.listSignals.push(signal);
    if (this.listGate) await this.listGate;
    const f = this.listFailures.shift();
    if (f) throw f;
    const start = query.continue ? Number(query.continue) : 0;
    const items = this.objects.slice(start, start + query.limit).map((o) => structuredClone(o));
    const next = start + query.limit < this.objects.length ? String(start + query.limit) : undefined;
    return {
      apiVersion: 'v1',
      kind: 'ConfigMapList',
      metadata: { resourceVersion: this.rv, ...(next ? { continue: next } : {}) },
      items,
    } as KubernetesListObject<Obj>;
  };

  watch: WatchFn = async (path, query, onEvent, onDone) => {
    const f = this.watchFailures.shift();
    if (f) throw f;
    const w: WatchCall = { path, query, onEvent, onDone, aborted: false };
    this.watches.push(w);
    return { abort: () => (w.aborted = true) };
  };

  get last(): WatchCall {
    const w = this.watches[this.watches.length - 1];
    if (!w) throw new Error('no watch yet');
    return w;
  }
}

function setup(opts: Partial<WatchOptions<Obj>> = {}) {
  const clock = new FakeClock();
  const api = new FakeApi();
  const delivered: string[] = [];
  const restarts: WatchRestartReason[] = [];
  let syncs = 0;
  const w = new ResilientWatch<Obj>(
    new KubeConfig(),
    {
      path: '/api/v1/namespaces/ns/configmaps',
      onObject: (o) => delivered.push(`${o.metadata?.name}@${o.metadata?.resourceVersion}`),
      onSynced: () => syncs++,
      onRestart: (r) => restarts.push(r),
      ...opts,
    },
    { list: api.list, watch: api.watch, clock, random: () => 0.5 },
  );
  return { w, api, clock, delivered, restarts, syncs: () => syncs };
}

const gone = { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 410, reason: 'Expired', message: 'too old resource version: 100 (200)' };

describe('ResilientWatch: the client library\'s own timeout', () => {
  it('lets its watchdog, not client-node\'s 30 s inactivity abort, decide when a quiet watch is deaf', async () => {
    const timeouts: number[] = [];
    const spy = jest.spyOn(Watch.prototype, 'watch').mockImplementation(async function (this: Watch) {
      timeouts.push((this as unknown as { requestTimeoutMs: number }).requestTimeoutMs);
      return { abort: () => undefined } as never;
    });
    try {
      const api = new FakeApi();
      const w = new ResilientWatch<Obj>(new KubeConfig(), { path: '/p', silenceTimeoutMs: 600_000, onObject: () => undefined }, { list: api.list, clock: new FakeClock() });
      await w.start();
      await flush();
      expect(timeouts).toEqual([600_000 + WATCH_INACTIVITY_MARGIN_MS]);
      w.stop();
    } finally {
      spy.mockRestore();
    }
  });
});

describe('ResilientWatch: list then watch', () => {
  it('lists every page, delivers the objects, then watches from the list resourceVersion', async () => {
    const { w, api, delivered, syncs } = setup({ pageSize: 2, labelSelector: 'app=x', serverTimeoutSeconds: 120 });
    api.objects = [cm('a', 10), cm('b', 11), cm('c', 12)];
    expect(w.synced).toBe(false);
    await w.start();
    expect(w.synced).toBe(true);
    expect(syncs()).toBe(1);
    expect(delivered).toEqual(['a@10', 'b@11', 'c@12']);
    expect(api.listCalls).toEqual([
      { limit: 2, labelSelector: 'app=x' },
      { limit: 2, labelSelector: 'app=x', continue: '2' },
    ]);
    await flush();
    expect(api.watches).toHaveLength(1);
    expect(api.last.path).toBe('/api/v1/namespaces/ns/configmaps');
    expect(api.last.query).toEqual({ allowWatchBookmarks: true, timeoutSeconds: 120, resourceVersion: '100', labelSelector: 'app=x' });
    w.stop();
  });

  it('gives listed objects the apiVersion and kind that watch events carry', async () => {
    const objs: Obj[] = [];
    const clock = new FakeClock();
    const api = new FakeApi();
    api.objects = [cm('a', 1)];
    const w = new ResilientWatch<Obj>(new KubeConfig(), { path: '/p', onObject: (o) => objs.push(o) }, { list: api.list, watch: api.watch, clock });
    await w.start();
    expect(objs[0]).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } });
    w.stop();
  });

  it('keeps and delivers only what slim() leaves of listed and watched objects; by default drops managedFields', async () => {
    const objs: Obj[] = [];
    const clock = new FakeClock();
    const api = new FakeApi();
    const fat = (name: string, rv: number): Obj => ({ ...cm(name, rv, { big: 'x'.repeat(1000) }), metadata: { ...cm(name, rv).metadata, managedFields: [{ manager: 'kubectl' }] } });
    api.objects = [fat('a', 1)];
    const plain = new ResilientWatch<Obj>(new KubeConfig(), { path: '/p', onObject: (o) => objs.push(o) }, { list: api.list, watch: api.watch, clock });
    await plain.start();
    await flush();
    api.last.onEvent('MODIFIED', fat('a', 2));
    expect(objs.map((o) => o.metadata?.managedFields)).toEqual([undefined, undefined]);
    expect(objs.map((o) => o.data?.['big']?.length)).toEqual([1000, 1000]);
    plain.stop();

    objs.length = 0;
    const slim = (o: Obj): Obj => ({ metadata: { name: o.metadata?.name ?? '', resourceVersion: o.metadata?.resourceVersion ?? '' } });
    const slimmed = new ResilientWatch<Obj>(new KubeConfig(), { path: '/p', slim, onObject: (o) => objs.push(o) }, { list: api.list, watch: api.watch, clock });
    await slimmed.start();
    await flush();
    api.last.onEvent('MODIFIED', fat('a', 3));
    api.last.onEvent('DELETED', fat('a', 4));
    expect(objs).toEqual([
      { metadata: { name: 'a', resourceVersion: '1' } },
      { metadata: { name: 'a', resourceVersion: '3' } },
      { metadata: { name: 'a', resourceVersion: '4' } },
    ]);
    slimmed.stop();
  });

  it('delivers ADDED/MODIFIED/DELETED objects; bookmarks only move the resourceVersion; a server timeout re-watches without a list', async () => {
    const { w, api, clock, delivered, restarts } = setup();
    await w.start();
    await flush();
    api.last.onEvent('ADDED', cm('a', 101));
    api.last.onEvent('MODIFIED', cm('a', 102));
    api.last.onEvent('DELETED', cm('a', 103));
    api.last.onEvent('BOOKMARK', { kind: 'ConfigMap', apiVersion: 'v1', metadata: { resourceVersion: '150' } });
    expect(delivered).toEqual(['a@101', 'a@102', 'a@103']);
    await clock.advance(300_000);
    api.last.onDone(null); // server closed the watch after timeoutSeconds
    await flush();
    expect(restarts).toEqual(['timeout']);
    expect(api.listCalls).toHaveLength(1);
    expect(api.watches).toHaveLength(2);
    expect(api.last.query.resourceVersion).toBe('150');
    w.stop();
  });

  it('relists on an ERROR event with 410 Gone, and watches from the new resourceVersion', async () => {
    const { w, api, delivered, restarts, syncs } = setup();
    api.objects = [cm('a', 10)];
    await w.start();
    await flush();
    api.last.onEvent('MODIFIED', cm('a', 101));
    api.objects = [cm('a', 180), cm('b', 190)];
    api.rv = '200';
    api.last.onEvent('ERROR', gone);
    expect(api.watches[0]?.aborted).toBe(true);
    await flush();
    expect(restarts).toEqual(['gone']);
    expect(api.listCalls).toHaveLength(2);
    expect(syncs()).toBe(2);
    expect(delivered).toEqual(['a@10', 'a@101', 'a@180', 'b@190']);
    expect(api.watches).toHaveLength(2);
    expect(api.last.query.resourceVersion).toBe('200');
    w.stop();
  });

  it('relists when the watch request itself fails with 410', async () => {
    const { w, api, restarts } = setup();
    await w.start();
    await flush();
    api.last.onEvent('BOOKMARK', { metadata: { resourceVersion: '120' } });
    api.last.onDone(Object.assign(new Error('Gone'), { statusCode: 410 }));
    await flush();
    expect(restarts).toEqual(['gone']);
    expect(api.listCalls).toHaveLength(2);
    expect(api.watches).toHaveLength(2);
  });

  it('delivers, after a relist, the last state of objects deleted while the watch was down', async () => {
    const { w, api, clock, delivered } = setup();
    api.objects = [cm('a', 10), cm('b', 11), cm('c', 12)];
    await w.start();
    await flush();
    api.last.onEvent('DELETED', cm('c', 101)); // seen: not re-delivered later
    api.objects = [cm('a', 10)];
    api.rv = '300';
    api.last.onEvent('ERROR', gone); // b was deleted while we could not see it
    await flush();
    expect(delivered).toEqual(['a@10', 'b@11', 'c@12', 'c@101', 'a@10', 'b@11']);
    // and only once: the next relist does not deliver b again
    api.last.onEvent('ERROR', gone);
    await clock.advance(1000);
    expect(api.listCalls).toHaveLength(3);
    expect(delivered.slice(6)).toEqual(['a@10']);
    w.stop();
  });

  it('restarts the list from the top when its continue token expires', async () => {
    const { w, api, delivered } = setup({ pageSize: 1 });
    api.objects = [cm('a', 1), cm('b', 2)];
    api.listFailures = [undefined, Object.assign(new Error('continue expired'), { code: 410 })];
    await w.start();
    expect(api.listCalls.map((q) => q.continue)).toEqual([undefined, '1', undefined, '1']);
    expect(delivered).toEqual(['a@1', 'b@2']);
    w.stop();
  });

  it('keeps going when onObject throws', async () => {
    const clock = new FakeClock();
    const api = new FakeApi();
    api.objects = [cm('bad', 1), cm('good', 2)];
    const seen: string[] = [];
    const w = new ResilientWatch<Obj>(
      new KubeConfig(),
      {
        path: '/p',
        onObject: (o) => {
          seen.push(o.metadata?.name ?? '');
          if (o.metadata?.name === 'bad') throw new Error('handler bug');
        },
      },
      { list: api.list, watch: api.watch, clock },
    );
    await w.start();
    await flush();
    api.last.onEvent('ADDED', cm('bad', 3));
    api.last.onEvent('ADDED', cm('good', 4));
    expect(seen).toEqual(['bad', 'good', 'bad', 'good']);
    expect(api.watches).toHaveLength(1);
    w.stop();
  });
});

describe('ResilientWatch: watchdog', () => {
  it('aborts a watch that delivered nothing for silenceTimeoutMs and relists', async () => {
    const { w, api, clock, restarts, delivered } = setup({ silenceTimeoutMs: 10_000 });
    api.objects = [cm('a', 1)];
    await w.start();
    await flush();
    await clock.advance(9_999);
    expect(restarts).toEqual([]);
    await clock.advance(1);
    expect(restarts).toEqual(['silent']);
    expect(api.watches[0]?.aborted).toBe(true);
    expect(api.listCalls).toHaveLength(2);
    expect(api.watches).toHaveLength(2);
    // still delivering afterwards
    api.last.onEvent('ADDED', cm('b', 101));
    expect(delivered).toEqual(['a@1', 'a@1', 'b@101']);
    // a late done from the aborted watch is ignored
    api.watches[0]?.onDone(new Error('aborted'));
    await flush();
    expect(restarts).toEqual(['silent']);
    w.stop();
  });

  it('is re-armed by every event, bookmarks included', async () => {
    const { w, api, clock, restarts } = setup({ silenceTimeoutMs: 10_000 });
    await w.start();
    await flush();
    for (let i = 0; i < 5; i++) {
      await clock.advance(9_000);
      api.last.onEvent(i % 2 ? 'BOOKMARK' : 'MODIFIED', cm('a', 101 + i));
    }
    expect(restarts).toEqual([]);
    await clock.advance(10_000);
    expect(restarts).toEqual(['silent']);
    w.stop();
  });

  it('defaults to serverTimeoutSeconds + 60 s', async () => {
    const { w, clock, restarts } = setup({ serverTimeoutSeconds: 60 });
    await w.start();
    await flush();
    await clock.advance(119_999);
    expect(restarts).toEqual([]);
    await clock.advance(1);
    expect(restarts).toEqual(['silent']);
    w.stop();
  });
});

describe('ResilientWatch: errors and backoff', () => {
  it('backs off exponentially (capped) on errors, relisting each time, and resets after a working watch', async () => {
    const { w, api, clock, restarts } = setup({ minBackoffMs: 1000, maxBackoffMs: 4000 });
    await w.start();
    await flush();
    const delays = [1000, 2000, 4000, 4000];
    for (const [i, d] of delays.entries()) {
      api.last.onDone(new Error('ECONNRESET'));
      await flush();
      expect(restarts).toHaveLength(i + 1);
      expect(api.watches).toHaveLength(i + 1);
      await clock.advance(d - 1);
      expect(api.listCalls).toHaveLength(i + 1);
      await clock.advance(1);
      expect(api.listCalls).toHaveLength(i + 2);
      expect(api.watches).toHaveLength(i + 2);
    }
    expect(restarts).toEqual(['error', 'error', 'error', 'error']);
    // a watch that delivered events before failing starts the backoff over
    api.last.onEvent('MODIFIED', cm('a', 500));
    api.last.onDone(new Error('ECONNRESET'));
    await flush();
    await clock.advance(999);
    expect(api.listCalls).toHaveLength(5);
    await clock.advance(1);
    expect(api.listCalls).toHaveLength(6);
    w.stop();
  });

  it('retries a failing list with backoff; start() resolves once a list works', async () => {
    const { w, api, clock, restarts } = setup({ minBackoffMs: 1000 });
    api.listFailures = [new Error('connection refused'), Object.assign(new Error('Forbidden'), { code: 403 })];
    let started = false;
    void w.start().then(() => (started = true));
    await flush();
    expect(started).toBe(false);
    await clock.advance(1000);
    expect(api.listCalls).toHaveLength(2);
    expect(started).toBe(false);
    await clock.advance(2000);
    expect(api.listCalls).toHaveLength(3);
    expect(started).toBe(true);
    expect(restarts).toEqual(['error', 'error']);
    w.stop();
  });

  it('treats a non-410 ERROR event as an error', async () => {
    const { w, api, clock, restarts } = setup({ minBackoffMs: 1000 });
    await w.start();
    await flush();
    api.last.onEvent('ERROR', { kind: 'Status', code: 500, reason: 'InternalError', message: 'etcd unavailable' });
    await flush();
    expect(restarts).toEqual(['error']);
    expect(api.watches[0]?.aborted).toBe(true);
    await clock.advance(1000);
    expect(api.listCalls).toHaveLength(2);
    w.stop();
  });

  it("treats a watch that closes at once with nothing in it as an error (client-go's very short watch)", async () => {
    const { w, api, clock, restarts } = setup({ minBackoffMs: 1000 });
    await w.start();
    await flush();
    api.last.onDone(null);
    await flush();
    expect(restarts).toEqual(['error']);
    expect(api.watches).toHaveLength(1);
    await clock.advance(1000);
    expect(api.watches).toHaveLength(2);
    w.stop();
  });

  it('backs off when the watch is gone before delivering anything', async () => {
    const { w, api, clock, restarts } = setup({ minBackoffMs: 1000 });
    await w.start();
    await flush();
    api.last.onEvent('ERROR', gone);
    await flush();
    expect(restarts).toEqual(['gone']);
    expect(api.listCalls).toHaveLength(1);
    await clock.advance(1000);
    expect(api.listCalls).toHaveLength(2);
    w.stop();
  });

  it('treats a watch call that rejects (e.g. credentials) as an error', async () => {
    const { w, api, clock, restarts } = setup({ minBackoffMs: 1000 });
    api.watchFailures = [new Error('exec plugin failed')];
    await w.start();
    await flush();
    expect(restarts).toEqual(['error']);
    await clock.advance(1000);
    expect(api.watches).toHaveLength(1);
    w.stop();
  });

  it('classifies 410 Gone', () => {
    expect(isGone({ code: 410 })).toBe(true);
    expect(isGone({ statusCode: 410 })).toBe(true);
    expect(isGone({ reason: 'Expired' })).toBe(true);
    expect(isGone({ code: 500 })).toBe(false);
    expect(isGone(new Error('x'))).toBe(false);
    expect(isGone(null)).toBe(false);
  });
});

describe('ResilientWatch: stop', () => {
  it('aborts the watch and leaves no timers', async () => {
    const { w, api, clock } = setup({ silenceTimeoutMs: 5000 });
    await w.start();
    await flush();
    expect(clock.pending).toBe(1); // the watchdog
    w.stop();
    expect(api.last.aborted).toBe(true);
    expect(clock.pending).toBe(0);
    api.last.onEvent('ADDED', cm('late', 1));
    await clock.advance(100_000);
    expect(api.watches).toHaveLength(1);
    expect(api.listCalls).toHaveLength(1);
  });

  it('cancels a backoff in progress', async () => {
    const { w, api, clock } = setup();
    await w.start();
    await flush();
    api.last.onDone(new Error('boom'));
    await flush();
    expect(clock.pending).toBe(1); // the backoff
    w.stop();
    expect(clock.pending).toBe(0);
    await clock.advance(100_000);
    expect(api.listCalls).toHaveLength(1);
  });

  it('aborts a list in progress and rejects start()', async () => {
    const { w, api, clock, delivered } = setup();
    api.objects = [cm('a', 1)];
    let open!: () => void;
    api.listGate = new Promise((r) => (open = r));
    const started = w.start();
    await flush();
    w.stop();
    expect(api.listSignals[0]?.aborted).toBe(true);
    await expect(started).rejects.toThrow(/stopped before the first list/);
    open();
    await flush();
    expect(delivered).toEqual([]);
    expect(api.watches).toHaveLength(0);
    expect(clock.pending).toBe(0);
    expect(w.synced).toBe(false);
  });
});

describe('ResilientWatch: store and index', () => {
  const owned = (name: string, rv: number, owner: string): Obj => cm(name, rv, { owner });
  const names = (objs: readonly KubernetesObject[]): string[] => objs.map((o) => o.metadata?.name ?? '').sort();
  const byOwner = (o: Obj): string | undefined => o.data?.owner;

  it('keeps one copy per object: the store holds the very object it delivered', async () => {
    const seen: Obj[] = [];
    const { w, api } = setup({ onObject: (o) => seen.push(o) });
    api.objects = [owned('a', 10, 'x')];
    await w.start();
    expect(w.store.size).toBe(1);
    expect(w.store.get('ns/a')).toBe(seen[0]);
    w.stop();
  });

  it('updates the index when an object\'s index value changes, and prunes it on delete', async () => {
    const { w, api } = setup();
    w.index('owner', byOwner);
    api.objects = [owned('a', 10, 'x'), owned('b', 11, 'x')];
    await w.start();
    await flush();
    expect(names(w.store.byIndex('owner', 'x'))).toEqual(['a', 'b']);

    api.last.onEvent('MODIFIED', owned('a', 12, 'y'));
    expect(names(w.store.byIndex('owner', 'x'))).toEqual(['b']);
    expect(names(w.store.byIndex('owner', 'y'))).toEqual(['a']);

    api.last.onEvent('DELETED', owned('b', 13, 'x'));
    expect(w.store.byIndex('owner', 'x')).toEqual([]);
    expect(w.store.get('ns/b')).toBeUndefined();
    expect(w.store.indexSize('owner')).toBe(1); // 'x' is gone, not kept as an empty entry
    expect(w.store.size).toBe(1);
    w.stop();
  });

  it('replaces store and index on a relist, dropping objects deleted while the watch was down', async () => {
    const { w, api, clock } = setup();
    w.index('owner', byOwner);
    api.objects = [owned('a', 10, 'x'), owned('b', 11, 'x')];
    await w.start();
    await flush();
    api.objects = [owned('a', 20, 'z'), owned('c', 21, 'x')]; // b deleted, a changed, c new: all unseen
    api.rv = '300';
    api.last.onEvent('ERROR', gone);
    await clock.advance(1000); // gone before any event: relisted after a backoff
    expect(names([...w.store.values()])).toEqual(['a', 'c']);
    expect(names(w.store.byIndex('owner', 'x'))).toEqual(['c']);
    expect(names(w.store.byIndex('owner', 'z'))).toEqual(['a']);
    expect(w.store.indexSize('owner')).toBe(2);
    w.stop();
  });

  it('tells listeners the previous copy and whether the object is gone, after the store changed', async () => {
    const changes: string[] = [];
    const { w, api } = setup();
    w.subscribe((o, { old, deleted }) => {
      const inStore = w.store.get(`ns/${o.metadata?.name}`) !== undefined;
      changes.push(`${o.metadata?.name}@${o.metadata?.resourceVersion} old=${old?.metadata?.resourceVersion ?? '-'} deleted=${deleted} stored=${inStore}`);
    });
    api.objects = [owned('a', 10, 'x'), owned('b', 11, 'x')];
    await w.start();
    await flush();
    api.last.onEvent('MODIFIED', owned('a', 12, 'x'));
    api.last.onEvent('DELETED', owned('a', 13, 'x'));
    api.objects = [];
    api.last.onEvent('ERROR', gone); // b vanishes in the relist
    await flush();
    expect(changes).toEqual([
      'a@10 old=- deleted=false stored=true',
      'b@11 old=- deleted=false stored=true',
      'a@12 old=10 deleted=false stored=true',
      'a@13 old=12 deleted=true stored=false',
      'b@11 old=11 deleted=true stored=false',
    ]);
    w.stop();
  });

  it('refuses a second index of the same name, and a lookup in an index that does not exist', () => {
    const { w } = setup();
    w.index('owner', byOwner);
    expect(() => w.index('owner', byOwner)).toThrow("index 'owner' already exists");
    expect(() => w.store.byIndex('nope', 'x')).toThrow("no index 'nope'");
  });
});
