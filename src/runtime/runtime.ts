// The wiring of a controller, read like kube-rs's `Controller::new(..).owns(..)
// .watches(..)` and controller-runtime's builder: which collection is watched,
// which predicate filters its changes, which mapper turns an object into the
// keys to reconcile. The runtime owns the watches and the queue's lifecycle;
// it knows nothing about what a key means.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { OwnWrites } from './own-writes.js';
import type { WorkQueue } from './queue.js';
import type { ResilientWatch, WatchChange } from './watch.js';

export interface WatchWiring<T extends KubernetesObject> {
  /** Which deliveries matter; default: all of them. */
  predicate?(obj: T, change: WatchChange<T>): boolean;
  /** The keys to reconcile for this object (duplicates run once). */
  map(obj: T, change: WatchChange<T>): Iterable<string>;
  /** Keys mapped from this object start before the others (work not converged yet); default false. */
  urgent?(obj: T, change: WatchChange<T>): boolean;
  /**
   * The controller's own writes to these objects (own-writes.ts): a delivery
   * that is the echo of one does not enqueue the key of the reconcile that made
   * it (other keys mapped from the object still run).
   */
  ownWrites?: OwnWrites;
}

/** What the runtime needs of a watch once it is wired. */
interface Started {
  start(): Promise<void>;
  stop(): void;
  readonly synced: boolean;
}

export class Runtime {
  private readonly watches: Started[] = [];
  private started = false;

  constructor(readonly queue: WorkQueue) {}

  /** Feeds `watch` into the queue through `wiring`. Before start() only. */
  watch<T extends KubernetesObject>(watch: ResilientWatch<T>, wiring: WatchWiring<T>): this {
    if (this.started) throw new Error('Runtime: watch() after start()');
    const enqueue = (obj: T, change: WatchChange<T>, echoOf: string | undefined): void => {
      if (wiring.predicate && !wiring.predicate(obj, change)) return;
      const urgent = wiring.urgent?.(obj, change) ?? false;
      // A key mapped twice from one object runs once (a second add would mark it dirty while in flight).
      for (const key of new Set(wiring.map(obj, change))) if (key !== echoOf) this.queue.add(key, { urgent });
    };
    const own = wiring.ownWrites;
    watch.subscribe((obj, change) => {
      if (!own) return enqueue(obj, change, undefined);
      const objectKey = `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
      if (change.deleted) {
        own.forget(objectKey);
        return enqueue(obj, change, undefined);
      }
      own.deliver(objectKey, obj.metadata?.resourceVersion, (echoOf) => enqueue(obj, change, echoOf));
    });
    this.watches.push(watch);
    return this;
  }

  /** Starts the workers and the watches; resolves when every watch has listed once. */
  async start(): Promise<void> {
    this.started = true;
    this.queue.start();
    await Promise.all(this.watches.map((w) => w.start()));
  }

  /** Every watch has listed at least once. */
  get synced(): boolean {
    return this.watches.length > 0 && this.watches.every((w) => w.synced);
  }

  /** Stops the watches, then drains the queue (in-flight reconciles finish). */
  async stop(): Promise<void> {
    for (const w of this.watches) w.stop();
    await this.queue.shutdown();
  }
}
