// OwnWrites: the echo of the controller's own write (the object at the
// resourceVersion that write returned) is told apart from anyone else's
// change; deliveries that beat the write's response wait for it; nothing is
// kept for a deleted object.
import { describe, expect, it } from '@jest/globals';
import { OwnWrites } from '../../src/runtime/own-writes.js';

/** Delivers `rv` of `key` and returns what the delivery was judged to be (pending: still waiting). */
function judge(own: OwnWrites, key: string, rv: string | undefined): { echoOf?: string | undefined; pending: boolean } {
  const out: { echoOf?: string | undefined; pending: boolean } = { pending: true };
  own.deliver(key, rv, (echoOf) => {
    out.pending = false;
    out.echoOf = echoOf;
  });
  return out;
}

/** A write whose response the test releases by hand. */
function manualWrite(own: OwnWrites, key: string, by: string) {
  let resolve!: (rv: string) => void;
  let reject!: (err: Error) => void;
  const response = new Promise<string>((res, rej) => { resolve = res; reject = rej; });
  const done = own.track(key, by, () => response, (rv) => rv).catch(() => undefined);
  return { resolve, reject, done };
}

describe('OwnWrites', () => {
  it('the echo of our own write is dropped for the writer; a later change by someone else is not', async () => {
    const own = new OwnWrites();
    await own.track('team/a', 'team/a', async () => ({ metadata: { resourceVersion: '11' } }), (w) => w.metadata.resourceVersion);
    expect(judge(own, 'team/a', '11')).toEqual({ pending: false, echoOf: 'team/a' });
    // Someone edits it afterwards: another resourceVersion, a real change.
    expect(judge(own, 'team/a', '12')).toEqual({ pending: false, echoOf: undefined });
    // The echo was consumed: nothing is kept for the object.
    expect(own.size).toBe(0);
  });

  it('an object awi never wrote is always a change', () => {
    const own = new OwnWrites();
    expect(judge(own, 'team/b', '5')).toEqual({ pending: false, echoOf: undefined });
    expect(own.size).toBe(0);
  });

  it('a delivery that beats the write\'s response waits for it, then is judged', async () => {
    const own = new OwnWrites();
    const w = manualWrite(own, 'team/a', 'team/a');
    const echo = judge(own, 'team/a', '21');
    const foreign = judge(own, 'team/a', '22');
    expect(echo.pending).toBe(true);
    expect(foreign.pending).toBe(true);
    w.resolve('21');
    await w.done;
    expect(echo).toEqual({ pending: false, echoOf: 'team/a' });
    expect(foreign).toEqual({ pending: false, echoOf: undefined });
    expect(own.size).toBe(0);
  });

  it('a failed write records nothing and releases what waited for it as a change', async () => {
    const own = new OwnWrites();
    const w = manualWrite(own, 'team/a', 'team/a');
    const held = judge(own, 'team/a', '31');
    w.reject(new Error('409 conflict'));
    await w.done;
    expect(held).toEqual({ pending: false, echoOf: undefined });
    expect(own.size).toBe(0);
  });

  it('keeps each of several writes until its echo comes, whichever arrives first, and says who wrote it', async () => {
    const own = new OwnWrites();
    await own.track('team/app', 'team/a', async () => '41', (rv) => rv);
    await own.track('team/app', 'team/b', async () => '42', (rv) => rv);
    expect(judge(own, 'team/app', '42').echoOf).toBe('team/b');
    expect(judge(own, 'team/app', '41').echoOf).toBe('team/a');
    expect(judge(own, 'team/app', '41').echoOf).toBeUndefined(); // an echo counts once
    expect(own.size).toBe(0);
  });

  it('is bounded: a few versions per object, and nothing once the object is deleted (waiting deliveries run)', async () => {
    const own = new OwnWrites();
    for (let i = 0; i < 10; i++) await own.track('team/a', 'team/a', async () => String(100 + i), (rv) => rv);
    expect(judge(own, 'team/a', '100').echoOf).toBeUndefined(); // pushed out by later writes: judged a change (a harmless extra reconcile)
    expect(judge(own, 'team/a', '109').echoOf).toBe('team/a');
    const w = manualWrite(own, 'team/a', 'team/a');
    const held = judge(own, 'team/a', '200');
    own.forget('team/a');
    expect(held).toEqual({ pending: false, echoOf: undefined });
    expect(own.size).toBe(0);
    w.resolve('200');
    await w.done;
    expect(own.size).toBe(0);
  });
});
