// Records Kubernetes Events (events.k8s.io/v1) on claims, so `kubectl describe`
// tells the story. Which reconciles deserve one is src/controller/event-policy.ts.
//
// Repeats are one Event series, as with client-go's events broadcaster: the
// first occurrence creates an Event; an isomorphic one (same claim, type,
// reason, action and note) within the series window patches that Event's
// `series` ({count, lastObservedTime}) instead of creating another. A claim
// refused on every retry for an hour is one Event "x40", not 40 Events.
// events.k8s.io/v1 makes an Event's note immutable, hence the note in the key.
import os from 'node:os';
import { EventsV1Api, KubeConfig, V1MicroTime } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { AwsWorkloadIdentityClaim } from '../api/types.js';
import { KIND } from './claims.js';
import { kubeStatus } from './errors.js';
import { mergePatch } from './patch.js';

export type EventType = 'Normal' | 'Warning';

/** events.k8s.io/v1 refuses longer notes. */
export const NOTE_LIMIT = 1024;

/** The series an occurrence belongs to, if any (pure bookkeeping; the recorder does the I/O). */
export class EventSeriesCache {
  private readonly series = new Map<string, { name: string; count: number; lastObservedMs: number }>();

  /**
   * @param windowMs an occurrence more than this after the last one of its series starts a new Event
   * (default 30 min: longer than the default resync, so a refusal that persists stays one series).
   */
  constructor(readonly windowMs = 30 * 60_000, private readonly maxSeries = 10_000) {}

  /** The Event to bump for an occurrence at `nowMs`, with its new count; undefined: create a new Event. */
  next(key: string, nowMs: number): { name: string; count: number } | undefined {
    const s = this.series.get(key);
    if (!s || nowMs - s.lastObservedMs > this.windowMs) return undefined;
    return { name: s.name, count: s.count + 1 };
  }

  /** Remembers an Event created or bumped; drops series older than the window (and the oldest beyond maxSeries). */
  observed(key: string, name: string, count: number, nowMs: number): void {
    this.series.delete(key); // re-insert: Map order is then oldest observation first
    this.series.set(key, { name, count, lastObservedMs: nowMs });
    for (const [k, s] of this.series) {
      if (nowMs - s.lastObservedMs <= this.windowMs && this.series.size <= this.maxSeries) break;
      this.series.delete(k);
    }
  }

  forget(key: string): void {
    this.series.delete(key);
  }

  get size(): number {
    return this.series.size;
  }
}

/** `<claim>.<time in hex><random>`: unique, a valid DNS subdomain (the claim name is one). */
export function eventName(claim: string, now: Date, random = Math.random): string {
  const suffix = `.${now.getTime().toString(16)}${Math.floor(random() * 0x10000).toString(16).padStart(4, '0')}`;
  return `${claim.slice(0, 253 - suffix.length)}${suffix}`;
}

export class EventRecorder {
  private readonly events: EventsV1Api;
  private readonly instance: string;
  private readonly cache: EventSeriesCache;
  private readonly now: () => Date;

  constructor(kc: KubeConfig, private readonly component: string, private readonly log: Logger, o: { seriesWindowMs?: number; now?: () => Date } = {}) {
    this.events = kc.makeApiClient(EventsV1Api);
    this.instance = `${component}-${os.hostname()}`.slice(0, 128);
    this.cache = new EventSeriesCache(o.seriesWindowMs);
    this.now = o.now ?? (() => new Date());
  }

  /** Best effort: a failed Event must never fail a reconcile. */
  async record(claim: AwsWorkloadIdentityClaim, type: EventType, reason: string, message: string, action = 'Reconcile'): Promise<void> {
    const namespace = claim.metadata.namespace ?? 'default';
    const note = message.length > NOTE_LIMIT ? `${message.slice(0, NOTE_LIMIT - 1)}…` : message;
    const key = JSON.stringify([namespace, claim.metadata.name, claim.metadata.uid ?? '', type, reason, action, note]);
    const now = this.now();
    try {
      const bump = this.cache.next(key, now.getTime());
      if (bump) {
        try {
          await this.events.patchNamespacedEvent(
            { name: bump.name, namespace, body: { series: { count: bump.count, lastObservedTime: new V1MicroTime(now.getTime()) } } },
            mergePatch,
          );
          this.cache.observed(key, bump.name, bump.count, now.getTime());
          return;
        } catch (err) {
          // The Event expired (the API server keeps them an hour) or was deleted: start a new one.
          if (kubeStatus(err) !== 404) throw err;
          this.cache.forget(key);
        }
      }
      const created = await this.events.createNamespacedEvent({
        namespace,
        body: {
          apiVersion: 'events.k8s.io/v1',
          kind: 'Event',
          // Named like client-go's: events.k8s.io/v1 refuses a generateName ending in '.'.
          metadata: { name: eventName(claim.metadata.name, now), namespace },
          eventTime: new V1MicroTime(now.getTime()),
          reportingController: this.component,
          reportingInstance: this.instance,
          action,
          reason,
          type,
          note,
          regarding: {
            apiVersion: claim.apiVersion, kind: KIND, name: claim.metadata.name, namespace,
            ...(claim.metadata.uid ? { uid: claim.metadata.uid } : {}),
          },
        },
      });
      if (created.metadata?.name) this.cache.observed(key, created.metadata.name, 1, now.getTime());
    } catch (err) {
      this.log.warn({ err: String(err), reason }, 'could not record event');
    }
  }
}
