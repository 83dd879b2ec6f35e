// A list-then-watch loop for one resource collection that cannot go silently
// deaf (after client-go's Reflector and kube-runtime's watcher):
//
//   list (paginated) ──> watch from the list's resourceVersion ──┐
//     ^   ^                                                      │
//     │   └─ 410 Gone / ERROR event / watchdog (silence) ────────┤
//     └──── other error: capped exponential backoff, then relist ┤
//           normal end (server timeout): re-watch from last RV ──┘
//
// Callers get every listed object and every ADDED/MODIFIED/DELETED event
// object through one callback, with the copy the store held before and whether
// the object is gone, and only enqueue keys from it: reconcile reads the
// current state, so event types do not matter. After a relist, objects that
// were known before but are missing from the new list (deleted while the watch
// was down, so their DELETED event was missed) are delivered once more in their
// last-seen state, as deleted, so that their keys still get reconciled.
//
// The watch keeps what it has seen in a Store (one slimmed copy per object,
// with named indexes), which callers read but never write: the store and the
// indexes are updated before the callback runs, and pruned on delete.
import http from 'node:http';
import https from 'node:https';
import { Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { backoff, realClock, type Clock } from './clock.js';
import { objectKey, Store, type IndexFn, type ReadonlyStore } from './store.js';

export type WatchRestartReason = 'timeout' | 'gone' | 'error' | 'silent';

export interface WatchOptions<T> {
  /** Collection path, e.g. '/apis/awi.dev/v1alpha1/awsworkloadidentityclaims' or '/api/v1/namespaces/x/configmaps'. */
  path: string;
  labelSelector?: string;
  /** Every listed object and every ADDED/MODIFIED/DELETED event object. Exceptions are logged and ignored. More listeners: subscribe(). */
  onObject?(obj: T, change: WatchChange<T>): void;
  /** After each successful (re)list. */
  onSynced?(): void;
  /** Why the watch was restarted (metrics). */
  onRestart?(reason: WatchRestartReason): void;
  /** Watch `timeoutSeconds` sent to the server; default 300. */
  serverTimeoutSeconds?: number;
  /** Watchdog: no event or bookmark for this long => abort and relist; default (serverTimeoutSeconds + 60) s. */
  silenceTimeoutMs?: number;
  /**
   * Keeps only what the caller needs of each object before it is stored and
   * delivered (the store holds one copy per object for the life of the watch).
   * Default: the object without metadata.managedFields.
   */
  slim?(obj: T): T;
  /** Page size of the list; default 500. */
  pageSize?: number;
  /** Backoff after errors: first delay (default 800 ms), doubling with ±10% jitter up to maxBackoffMs (default 30 s). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Default list function only: abort a list request idle for this long; default 60 s. */
  listTimeoutMs?: number;
  logger?: Logger;
}

/** What the store knew of a delivered object. */
export interface WatchChange<T> {
  /** The copy the store held before this delivery; undefined for an object new to the store. */
  old: T | undefined;
  /** The object is gone (a DELETED event, or missing from a relist); the store no longer holds it. */
  deleted: boolean;
}

export interface ListQuery {
  labelSelector?: string;
  limit: number;
  continue?: string;
}

/** One page of a list (raw JSON or deserialized). Errors should carry the HTTP status as `statusCode` or `code` (410 restarts the list). */
export type ListFn<T extends KubernetesObject> = (path: string, query: ListQuery, signal: AbortSignal) => Promise<KubernetesListObject<T>>;

/** The shape of `Watch.watch` from @kubernetes/client-node. */
export type WatchFn = (
  path: string,
  query: Record<string, string | number | boolean | undefined>,
  onEvent: (type: string, obj: unknown) => void,
  onDone: (err: unknown) => void,
) => Promise<{ abort(): void }>;

/** The I/O and timers of a ResilientWatch, injectable for tests. */
export interface WatchDeps<T extends KubernetesObject> {
  list: ListFn<T>;
  watch: WatchFn;
  clock: Clock;
  /** In [0, 1), for backoff jitter. */
  random: () => number;
}

/** A Kubernetes Status (from a watch ERROR event or a failed request) as an Error. */
export class KubeStatusError extends Error {
  constructor(
    message: string,
    readonly code: number | undefined,
    readonly reason?: string,
  ) {
    super(message);
    this.name = 'KubeStatusError';
  }
  /** client-node's Watch reports the HTTP status of a refused watch as `statusCode`. */
  get statusCode(): number | undefined {
    return this.code;
  }
}

/** True for 410 Gone / Expired ("too old resource version", expired continue token). */
export function isGone(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; statusCode?: unknown; reason?: unknown };
  return e.code === 410 || e.statusCode === 410 || e.reason === 'Expired' || e.reason === 'Gone';
}

/** How much longer than our watchdog client-node's own inactivity abort waits. */
export const WATCH_INACTIVITY_MARGIN_MS = 30_000;

/** Lists through the kubeconfig's credentials (TLS, token, exec plugin, proxy). */
export function kubeListFn<T extends KubernetesObject>(kc: KubeConfig, idleTimeoutMs = 60_000): ListFn<T> {
  return async (path, query, signal) => {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const url = new URL(cluster.server + path);
    url.searchParams.set('limit', String(query.limit));
    if (query.labelSelector) url.searchParams.set('labelSelector', query.labelSelector);
    if (query.continue) url.searchParams.set('continue', query.continue);
    const opts: https.RequestOptions = { method: 'GET', headers: { accept: 'application/json' } };
    await kc.applyToHTTPSOptions(opts);
    signal.throwIfAborted();
    const mod = url.protocol === 'http:' ? http : https;
    return new Promise<KubernetesListObject<T>>((resolve, reject) => {
      const req = mod.request(url, { ...opts, signal, timeout: idleTimeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          let parsed: unknown;
          try {
            parsed = JSON.parse(body);
          } catch {
            parsed = undefined;
          }
          if (status < 200 || status >= 300) {
            const s = (parsed ?? {}) as { message?: string; reason?: string; code?: number };
            reject(new KubeStatusError(`list ${path}: HTTP ${status}: ${s.message ?? body.slice(0, 200)}`, s.code ?? status, s.reason));
          } else if (!parsed || !Array.isArray((parsed as { items?: unknown }).items)) {
            reject(new Error(`list ${path}: response is not a list`));
          } else {
            resolve(parsed as KubernetesListObject<T>);
          }
        });
      });
      req.on('timeout', () => req.destroy(new Error(`list ${path}: no response for ${idleTimeoutMs} ms`)));
      req.on('error', reject);
      req.end();
    });
  };
}

type WatchEnd = { reason: 'timeout' | 'gone' | 'silent' | 'stopped'; rv: string | undefined; events: number };

const VERY_SHORT_WATCH_MS = 1000;

export class ResilientWatch<T extends KubernetesObject> {
  private readonly deps: WatchDeps<T>;
  private readonly serverTimeoutSeconds: number;
  private readonly silenceTimeoutMs: number;
  private readonly pageSize: number;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly log: Logger | undefined;

  private stopped = false;
  private isSynced = false;
  private startPromise: Promise<void> | undefined;
  private resolveStart: (() => void) | undefined;
  private rejectStart: ((err: Error) => void) | undefined;
  /** Last-seen object per namespace/name (also to notice deletions missed while deaf), with the callers' indexes. */
  private readonly known = new Store<T>();
  private readonly listeners: Array<(obj: T, change: WatchChange<T>) => void> = [];
  // What stop() has to cancel:
  private listAbort: AbortController | undefined;
  private cancelWatch: (() => void) | undefined;
  private sleepTimer: unknown = undefined;
  private wakeSleep: (() => void) | undefined;

  constructor(
    kc: KubeConfig,
    private readonly opts: WatchOptions<T>,
    deps: Partial<WatchDeps<T>> = {},
  ) {
    this.serverTimeoutSeconds = opts.serverTimeoutSeconds ?? 300;
    this.silenceTimeoutMs = opts.silenceTimeoutMs ?? (this.serverTimeoutSeconds + 60) * 1000;
    this.pageSize = opts.pageSize ?? 500;
    this.minBackoffMs = opts.minBackoffMs ?? 800;
    this.maxBackoffMs = Math.max(this.minBackoffMs, opts.maxBackoffMs ?? 30_000);
    this.log = opts.logger?.child({ watch: opts.path, ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}) });
    let watch = deps.watch;
    if (!watch) {
      const w = new Watch(kc);
      // client-node 2.x aborts a watch after 30 s without data. A quiet
      // collection (ServiceAccounts, claims at rest) is normal: that abort
      // would relist every 30 s and re-deliver every object. Our own watchdog
      // (silenceTimeoutMs) decides when a watch is deaf.
      // (A private field of client-node's Watch: fail loudly if a release drops it.)
      const timed = w as unknown as { requestTimeoutMs?: unknown };
      if (typeof timed.requestTimeoutMs !== 'number') throw new Error('@kubernetes/client-node Watch has no requestTimeoutMs: review src/runtime/watch.ts for this client version');
      timed.requestTimeoutMs = this.silenceTimeoutMs + WATCH_INACTIVITY_MARGIN_MS;
      watch = (path, query, onEvent, onDone) => w.watch(path, query, onEvent, onDone);
    }
    this.deps = {
      list: deps.list ?? kubeListFn<T>(kc, opts.listTimeoutMs),
      watch,
      clock: deps.clock ?? realClock,
      random: deps.random ?? Math.random,
    };
  }

  /** The objects as last seen (slimmed), by namespace/name, with the indexes. Read-only. */
  get store(): ReadonlyStore<T> {
    return this.known;
  }

  /**
   * Adds an index on the store (e.g. claims by the ServiceAccount they name),
   * kept in step with every delivery and pruned on delete. Returns the watch.
   */
  index(name: string, fn: IndexFn<T>): this {
    this.known.addIndex(name, fn);
    return this;
  }

  /** Adds a listener for every delivery (as `onObject`), called after the store is updated. Before start(). */
  subscribe(listener: (obj: T, change: WatchChange<T>) => void): this {
    this.listeners.push(listener);
    return this;
  }

  /** True once a list has been delivered (stays true across restarts). */
  get synced(): boolean {
    return this.isSynced;
  }

  /** Starts the loop; resolves after the first list has been delivered. Rejects if stopped before that. */
  start(): Promise<void> {
    if (!this.startPromise) {
      this.startPromise = new Promise<void>((resolve, reject) => {
        this.resolveStart = resolve;
        this.rejectStart = reject;
      });
      this.startPromise.catch(() => undefined); // a caller that does not await must not crash the process
      if (this.stopped) this.settleStart(new Error(`watch ${this.opts.path} stopped before the first list`));
      else
        this.run().catch((err: unknown) => {
          // run() handles its errors; this is a last resort against a silent death
          this.log?.error({ err: errorText(err) }, 'watch: loop died');
          this.settleStart(err instanceof Error ? err : new Error(errorText(err)));
        });
    }
    return this.startPromise;
  }

  /** Aborts the list or watch in progress and any backoff; leaves no timers. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.listAbort?.abort();
    this.cancelWatch?.();
    if (this.sleepTimer !== undefined) this.deps.clock.clearTimeout(this.sleepTimer);
    this.sleepTimer = undefined;
    this.wakeSleep?.();
    this.settleStart(new Error(`watch ${this.opts.path} stopped before the first list`));
  }

  private settleStart(err?: Error): void {
    if (err) this.rejectStart?.(err);
    else this.resolveStart?.();
    this.resolveStart = this.rejectStart = undefined;
  }

  private async run(): Promise<void> {
    let failures = 0;
    let rv: string | undefined;
    let needList = true;
    while (!this.stopped) {
      try {
        if (needList) {
          rv = await this.relist();
          needList = false;
          if (this.stopped) break;
        }
        const end = await this.watchOnce(rv);
        if (end.reason === 'stopped' || this.stopped) break;
        rv = end.rv;
        this.restarted(end.reason);
        if (end.reason !== 'timeout') needList = true;
        // A watch that is gone before it delivered anything (e.g. an API server
        // behind the one that listed) is relisted after a backoff, not in a loop.
        if (end.reason === 'gone' && end.events === 0) {
          this.log?.info({ rv }, 'watch: resourceVersion gone at once; relisting after backoff');
          await this.sleep(this.backoff(failures++));
        } else {
          failures = 0;
        }
      } catch (err) {
        if (this.stopped) break;
        // A watch that worked for a while before failing starts the backoff over.
        if (((err as { watchEvents?: number } | undefined)?.watchEvents ?? 0) > 0) failures = 0;
        const delay = this.backoff(failures++);
        this.log?.warn({ err: errorText(err), retryInMs: delay, failures }, 'watch: error; relisting after backoff');
        this.restarted('error');
        needList = true;
        await this.sleep(delay);
      }
    }
  }

  private restarted(reason: WatchRestartReason): void {
    this.log?.debug({ reason }, 'watch: restarting');
    try {
      this.opts.onRestart?.(reason);
    } catch {
      // metrics callbacks must not break the loop
    }
  }

  private backoff(failures: number): number {
    return backoff(failures, { baseMs: this.minBackoffMs, maxMs: this.maxBackoffMs, jitter: 0.1 }, this.deps.random);
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.wakeSleep = () => {
        this.wakeSleep = undefined;
        resolve();
      };
      this.sleepTimer = this.deps.clock.setTimeout(() => {
        this.sleepTimer = undefined;
        this.wakeSleep?.();
      }, ms);
    });
  }

  /** Lists all pages, delivers the objects (and the ones that vanished), returns the list's resourceVersion. */
  private async relist(): Promise<string | undefined> {
    const abort = new AbortController();
    this.listAbort = abort;
    const items: T[] = [];
    let rv: string | undefined;
    let cont: string | undefined;
    let restartedList = false;
    try {
      for (;;) {
        let page: KubernetesListObject<T>;
        try {
          page = await this.deps.list(
            this.opts.path,
            { limit: this.pageSize, ...(this.opts.labelSelector ? { labelSelector: this.opts.labelSelector } : {}), ...(cont ? { continue: cont } : {}) },
            abort.signal,
          );
        } catch (err) {
          // An expired continue token (410) restarts the list from the top, once.
          if (cont !== undefined && isGone(err) && !restartedList && !this.stopped) {
            this.log?.info('list: continue token expired; listing again from the start');
            restartedList = true;
            items.length = 0;
            cont = undefined;
            continue;
          }
          throw err;
        }
        if (this.stopped) return undefined;
        const kind = page.kind?.endsWith('List') ? page.kind.slice(0, -'List'.length) : undefined;
        for (const item of page.items) {
          // List items carry no apiVersion/kind; watch event objects do. Make them alike.
          if (item.apiVersion === undefined && page.apiVersion !== undefined) item.apiVersion = page.apiVersion;
          if (item.kind === undefined && kind !== undefined) item.kind = kind;
          items.push(this.slim(item));
        }
        rv = page.metadata?.resourceVersion || rv;
        // Raw JSON says `continue`; client-node's deserialized V1ListMeta says `_continue`.
        const meta = page.metadata as { continue?: string; _continue?: string } | undefined;
        cont = meta?.continue || meta?._continue || undefined;
        if (!cont) break;
      }
    } finally {
      if (this.listAbort === abort) this.listAbort = undefined;
    }
    const previous = this.known.replace(items);
    for (const item of items) {
      const key = objectKey(item);
      const old = previous.get(key);
      previous.delete(key);
      this.deliver(item, { old, deleted: false });
    }
    for (const gone of previous.values()) this.deliver(gone, { old: gone, deleted: true });
    this.log?.debug({ objects: items.length, vanished: previous.size, rv }, 'list: synced');
    this.isSynced = true;
    try {
      this.opts.onSynced?.();
    } catch {
      // ignore
    }
    this.settleStart();
    return rv;
  }

  private slim(obj: T): T {
    return this.opts.slim ? this.opts.slim(obj) : withoutManagedFields(obj);
  }

  private deliver(obj: T, change: WatchChange<T>): void {
    if (this.opts.onObject) this.call(this.opts.onObject, obj, change);
    for (const listener of this.listeners) this.call(listener, obj, change);
  }

  private call(listener: (obj: T, change: WatchChange<T>) => void, obj: T, change: WatchChange<T>): void {
    try {
      listener(obj, change);
    } catch (err) {
      this.log?.error({ err: errorText(err), object: objectKey(obj) }, 'watch: listener threw');
    }
  }

  /** One watch request, from `rv`, until it ends; rejects on errors that call for a backoff. */
  private watchOnce(startRv: string | undefined): Promise<WatchEnd> {
    const { clock } = this.deps;
    return new Promise<WatchEnd>((resolve, reject) => {
      let rv = startRv;
      let events = 0;
      let settled = false;
      let handle: { abort(): void } | undefined;
      let watchdog: unknown = undefined;
      const startedAt = clock.now();

      const finish = (outcome: WatchEnd | Error): void => {
        if (settled) return;
        settled = true;
        if (watchdog !== undefined) clock.clearTimeout(watchdog);
        watchdog = undefined;
        if (this.cancelWatch === cancel) this.cancelWatch = undefined;
        safeAbort(handle);
        if (outcome instanceof Error) reject(Object.assign(outcome, { watchEvents: events }));
        else resolve(outcome);
      };
      const end = (reason: WatchEnd['reason']): void => finish({ reason, rv, events });
      const cancel = (): void => end('stopped');
      const arm = (): void => {
        if (watchdog !== undefined) clock.clearTimeout(watchdog);
        watchdog = clock.setTimeout(() => {
          watchdog = undefined;
          this.log?.warn({ rv, silenceMs: this.silenceTimeoutMs }, 'watch: silent for too long; aborting and relisting');
          end('silent');
        }, this.silenceTimeoutMs);
      };

      const onEvent = (type: string, obj: unknown): void => {
        if (settled) return;
        arm();
        if (type !== 'ERROR') events++;
        const o = obj && (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') ? this.slim(obj as T) : (obj as T | undefined);
        const objRv = o?.metadata?.resourceVersion;
        switch (type) {
          case 'ADDED':
          case 'MODIFIED':
          case 'DELETED':
            if (!o) return;
            if (objRv) rv = objRv;
            if (type === 'DELETED') {
              const old = this.known.delete(objectKey(o));
              this.deliver(o, { old, deleted: true });
            } else {
              const old = this.known.upsert(o);
              this.deliver(o, { old, deleted: false });
            }
            return;
          case 'BOOKMARK':
            if (objRv) rv = objRv;
            return;
          case 'ERROR': {
            const s = (obj ?? {}) as { code?: number; reason?: string; message?: string };
            if (isGone(s)) {
              this.log?.info({ rv, message: s.message }, 'watch: resourceVersion gone; relisting');
              end('gone');
            } else {
              finish(new KubeStatusError(`watch ${this.opts.path}: ${s.message ?? 'ERROR event'}`, s.code, s.reason));
            }
            return;
          }
          default:
            this.log?.warn({ type }, 'watch: unknown event type ignored');
        }
      };

      const onDone = (err: unknown): void => {
        if (settled) return;
        if (err === null || err === undefined) {
          // client-go's "very short watch": a stream that closes at once with
          // nothing in it is a failure, or re-watching would spin.
          if (events === 0 && clock.now() - startedAt < VERY_SHORT_WATCH_MS) {
            finish(new Error(`watch ${this.opts.path}: very short watch (closed at once, no events)`));
          } else {
            end('timeout');
          }
        } else if (isGone(err)) {
          end('gone');
        } else {
          finish(err instanceof Error ? err : new Error(errorText(err)));
        }
      };

      this.cancelWatch = cancel;
      arm();
      const query: Record<string, string | number | boolean | undefined> = {
        allowWatchBookmarks: true,
        timeoutSeconds: this.serverTimeoutSeconds,
        resourceVersion: rv,
        labelSelector: this.opts.labelSelector,
      };
      let started: Promise<{ abort(): void }>;
      try {
        started = this.deps.watch(this.opts.path, query, onEvent, onDone);
      } catch (err) {
        finish(err instanceof Error ? err : new Error(errorText(err)));
        return;
      }
      started.then(
        (h) => {
          handle = h;
          if (settled) safeAbort(h);
        },
        (err: unknown) => finish(err instanceof Error ? err : new Error(errorText(err))),
      );
    });
  }
}

function safeAbort(h: { abort(): void } | undefined): void {
  try {
    h?.abort();
  } catch {
    // already closed
  }
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}

/** The object without metadata.managedFields (server-side apply bookkeeping: often most of an object's size). */
export function withoutManagedFields<T extends KubernetesObject>(obj: T): T {
  if (!obj.metadata?.managedFields) return obj;
  const { managedFields: _dropped, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}
