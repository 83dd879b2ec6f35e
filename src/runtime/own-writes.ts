// "Expectations", as controllers keep them: the resourceVersion each of the
// controller's own writes returned, per watched object, so that the watch can
// tell the echo of that write (the object at exactly that resourceVersion)
// from a change by anyone else (any other resourceVersion), and not run the
// reconcile that made the write a second time for it.
//
// Only writes whose result contains nothing the writer did not see may be
// recorded: a create, or an update carrying the resourceVersion it read as a
// precondition. An object at such a write's resourceVersion is then exactly
// what the writer saw plus its own change, so its echo brings nothing new
// (an unconditional patch could land on top of a change the writer never saw).
//
// A delivery that arrives while one of our writes to the object is still under
// way (the watch can beat the write's own response) waits until that write
// returns, then is judged. Bounded: at most a few versions per object, an
// echo is consumed when it arrives, and everything about an object goes when
// it is deleted. Pure bookkeeping: no I/O, no clock.

/** Versions kept per object: our writes whose echo has not arrived yet (a reconcile makes one or two per object). */
const MAX_VERSIONS = 4;

interface Held {
  resourceVersion: string;
  deliver(echoOf: string | undefined): void;
}

interface ObjectWrites {
  /** Our writes' resulting resourceVersions, oldest first, each with the key of the reconcile that made it. */
  versions: { resourceVersion: string; by: string }[];
  /** Writes under way. */
  inFlight: number;
  /** Deliveries waiting for the writes under way. */
  held: Held[];
}

export class OwnWrites {
  private readonly objects = new Map<string, ObjectWrites>();

  /**
   * Runs one write to `objectKey` made by the reconcile of `by`, and records
   * the resourceVersion it returned (`versionOf`); deliveries of the object
   * that arrive meanwhile wait for it. A failed write records nothing.
   */
  async track<T>(objectKey: string, by: string, write: () => Promise<T>, versionOf: (written: T) => string | undefined): Promise<T> {
    const done = this.begin(objectKey, by);
    let version: string | undefined;
    try {
      const written = await write();
      version = versionOf(written);
      return written;
    } finally {
      done(version);
    }
  }

  /**
   * A delivery of `objectKey` at `resourceVersion`: `deliver` runs now, or once
   * the writes under way returned, with the key of the reconcile whose own
   * write this is the echo of (undefined: someone else's change, or unknown).
   */
  deliver(objectKey: string, resourceVersion: string | undefined, deliver: (echoOf: string | undefined) => void): void {
    const o = this.objects.get(objectKey);
    if (!o) return deliver(undefined);
    if (o.inFlight > 0) {
      o.held.push({ resourceVersion: resourceVersion ?? '', deliver });
      return;
    }
    deliver(this.consume(objectKey, o, resourceVersion));
  }

  /** The object is gone: nothing about it is kept; deliveries waiting for a write run now. */
  forget(objectKey: string): void {
    const o = this.objects.get(objectKey);
    if (!o) return;
    this.objects.delete(objectKey);
    for (const h of o.held) h.deliver(undefined);
  }

  /** Objects with anything recorded (bounded-memory checks). */
  get size(): number {
    return this.objects.size;
  }

  private begin(objectKey: string, by: string): (resourceVersion: string | undefined) => void {
    let o = this.objects.get(objectKey);
    if (!o) this.objects.set(objectKey, (o = { versions: [], inFlight: 0, held: [] }));
    const mine = o;
    mine.inFlight++;
    let finished = false;
    return (resourceVersion) => {
      if (finished) return;
      finished = true;
      // Forgotten meanwhile (deleted): its deliveries already ran.
      if (this.objects.get(objectKey) !== mine) return;
      mine.inFlight--;
      if (resourceVersion) {
        mine.versions.push({ resourceVersion, by });
        if (mine.versions.length > MAX_VERSIONS) mine.versions.shift();
      }
      if (mine.inFlight > 0) return;
      for (const h of mine.held.splice(0)) h.deliver(this.consume(objectKey, mine, h.resourceVersion));
      if (!mine.versions.length && !mine.held.length) this.objects.delete(objectKey);
    };
  }

  /** The reconcile key whose write this version is; that version is consumed (an echo arrives once). */
  private consume(objectKey: string, o: ObjectWrites, resourceVersion: string | undefined): string | undefined {
    const i = resourceVersion ? o.versions.findIndex((v) => v.resourceVersion === resourceVersion) : -1;
    if (i < 0) return undefined;
    const [echo] = o.versions.splice(i, 1);
    if (!o.versions.length && o.inFlight === 0 && !o.held.length) this.objects.delete(objectKey);
    return echo!.by;
  }
}
