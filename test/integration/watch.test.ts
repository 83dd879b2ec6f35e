// ResilientWatch against the real API server of the test bed.
import { afterEach, describe, expect, it } from '@jest/globals';
import { CoreV1Api, Watch, type KubernetesObject, type V1ConfigMap } from '@kubernetes/client-node';
import { ResilientWatch, type WatchFn, type WatchOptions, type WatchRestartReason } from '../../src/runtime/watch.js';
import { freshNamespace, kubeConfig } from '../../testbed/harness/testbed.js';

const LABEL = 'awi.dev/watch-test';

interface Seen {
  name: string;
  rv: string;
  data: Record<string, string> | undefined;
}

type Hook = (
  call: number,
  query: Record<string, unknown>,
) => ((onEvent: (type: string, obj: unknown) => void, onDone: (err: unknown) => void) => void) | undefined;

/**
 * A watch on the namespace's ConfigMaps that records what it delivers and why
 * it restarts. `hook` may rewrite a watch request's query, or answer it itself.
 */
function watchConfigMaps(ns: string, opts: Partial<WatchOptions<V1ConfigMap>> = {}, hook?: Hook) {
  const kc = kubeConfig();
  const seen: Seen[] = [];
  const restarts: WatchRestartReason[] = [];
  const types: string[] = [];
  let syncs = 0;
  let calls = 0;
  const real = new Watch(kc);
  const watch: WatchFn = async (path, query, onEvent, onDone) => {
    const record = (type: string, obj: unknown): void => {
      types.push(type);
      onEvent(type, obj);
    };
    const fake = hook?.(calls++, query);
    if (fake) {
      setImmediate(() => fake(record, onDone));
      return { abort: () => undefined };
    }
    return real.watch(path, query, record, onDone);
  };
  const w = new ResilientWatch<V1ConfigMap>(
    kc,
    {
      path: `/api/v1/namespaces/${ns}/configmaps`,
      labelSelector: `${LABEL}=true`,
      onObject: (o) => seen.push({ name: o.metadata?.name ?? '', rv: o.metadata?.resourceVersion ?? '', data: o.data }),
      onSynced: () => syncs++,
      onRestart: (r) => restarts.push(r),
      ...opts,
    },
    { watch },
  );
  return { w, seen, restarts, types, syncs: () => syncs };
}

async function waitFor(what: string, pred: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const body = (name: string, data: Record<string, string> = {}): V1ConfigMap => ({
  metadata: { name, labels: { [LABEL]: 'true' } },
  data,
});

const running: Array<ResilientWatch<KubernetesObject>> = [];
afterEach(() => {
  for (const w of running.splice(0)) w.stop();
});

describe('ResilientWatch on the API server', () => {
  it('lists existing objects, then delivers creates, updates and deletes', async () => {
    const ns = await freshNamespace('watch');
    const core = kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap({ namespace: ns, body: body('pre', { v: '0' }) });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'unlabelled' } } });
    const t = watchConfigMaps(ns, { pageSize: 1 });
    running.push(t.w);
    await t.w.start();
    expect(t.w.synced).toBe(true);
    expect(t.syncs()).toBe(1);
    expect(t.seen.map((s) => s.name)).toEqual(['pre']);

    const created = await core.createNamespacedConfigMap({ namespace: ns, body: body('a', { v: '1' }) });
    await waitFor('the create', () => t.seen.some((s) => s.name === 'a'));
    const updated = await core.replaceNamespacedConfigMap({ name: 'a', namespace: ns, body: { ...created, data: { v: '2' } } });
    await waitFor('the update', () => t.seen.some((s) => s.name === 'a' && s.data?.v === '2'));
    await core.deleteNamespacedConfigMap({ name: 'a', namespace: ns });
    await waitFor('the delete', () => t.seen.filter((s) => s.name === 'a').length === 3);

    const a = t.seen.filter((s) => s.name === 'a');
    expect(a[1]?.rv).toBe(updated.metadata?.resourceVersion);
    expect(BigInt(a[2]?.rv ?? '0')).toBeGreaterThan(BigInt(a[1]?.rv ?? '0'));
    expect(t.types.filter((x) => x !== 'BOOKMARK')).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    expect(t.restarts).toEqual([]);
  });

  it('relists when a watch is answered with 410 Gone, and keeps delivering', async () => {
    const ns = await freshNamespace('watch');
    const core = kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap({ namespace: ns, body: body('pre') });
    // A fresh API server keeps its whole history in the watch cache, so no
    // resourceVersion is "too old" yet (a watch from RV 1 replays everything).
    // The hook answers the first watch with the ERROR event the server sends
    // for an expired resourceVersion; the relist and later watches are real.
    const t = watchConfigMaps(ns, { minBackoffMs: 100 }, (call) =>
      call === 0
        ? (onEvent) => onEvent('ERROR', { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 410, reason: 'Expired', message: 'too old resource version: 1 (189)' })
        : undefined,
    );
    running.push(t.w);
    await t.w.start();
    await waitFor('a relist', () => t.syncs() >= 2);
    expect(t.restarts).toEqual(['gone']);
    expect(t.seen.filter((s) => s.name === 'pre')).toHaveLength(2); // listed twice

    await core.createNamespacedConfigMap({ namespace: ns, body: body('after') });
    await waitFor('an object created after the relist', () => t.seen.some((s) => s.name === 'after'));
    expect(t.restarts).toEqual(['gone']);
  });

  it('re-watches from the last resourceVersion, without a list, when the server ends the watch', async () => {
    const ns = await freshNamespace('watch');
    const core = kubeConfig().makeApiClient(CoreV1Api);
    const t = watchConfigMaps(ns, { serverTimeoutSeconds: 2 });
    running.push(t.w);
    await t.w.start();
    await core.createNamespacedConfigMap({ namespace: ns, body: body('one') });
    await waitFor('a server-side timeout', () => t.restarts.includes('timeout'), 15_000);
    await core.createNamespacedConfigMap({ namespace: ns, body: body('two') });
    await waitFor('the second object', () => t.seen.some((s) => s.name === 'two'));
    expect(t.syncs()).toBe(1);
    expect(t.seen.map((s) => s.name)).toEqual(['one', 'two']);
    expect(t.restarts.every((r) => r === 'timeout')).toBe(true);
  });

  it('restarts a silent watch, and still delivers objects afterwards', async () => {
    const ns = await freshNamespace('watch');
    const core = kubeConfig().makeApiClient(CoreV1Api);
    // Bookmarks come about once a minute: 1.5 s of silence is well below that.
    const t = watchConfigMaps(ns, { serverTimeoutSeconds: 600, silenceTimeoutMs: 1500 });
    running.push(t.w);
    await t.w.start();
    await waitFor('the watchdog', () => t.restarts.includes('silent'), 10_000);
    await waitFor('the relist after silence', () => t.syncs() >= 2);
    await core.createNamespacedConfigMap({ namespace: ns, body: body('late', { v: 'x' }) });
    await waitFor('an object created after the restart', () => t.seen.some((s) => s.name === 'late'));
    expect(t.restarts.every((r) => r === 'silent')).toBe(true);
  });
});
