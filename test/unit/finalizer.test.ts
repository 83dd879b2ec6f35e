// The finalizer's four states (src/controller/finalizer.ts).
import { describe, expect, it } from '@jest/globals';
import { finalizer, finalizerAction, type FinalizedObject } from '../../src/controller/finalizer.js';

const F = 'awi.dev/cleanup';
interface Obj extends FinalizedObject { metadata: { resourceVersion: string; deletionTimestamp?: string; finalizers?: string[] } }
const obj = (deleting: boolean, finalizers: string[]): Obj => ({
  metadata: { resourceVersion: '1', ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}), finalizers },
});

/** Runs the helper with recording handlers; `applyWrites` says whether apply reaches its first write. */
async function run(o: Obj, applyWrites = true) {
  const calls: string[] = [];
  const out = await finalizer(o, F, {
    apply: async (x, ensure) => {
      calls.push(`apply rv=${x.metadata.resourceVersion}`);
      if (!applyWrites) return 'refused';
      const held = await ensure();
      await ensure(); // twice: written once
      calls.push(`write with finalizers=${held.metadata.finalizers?.join(',')} rv=${held.metadata.resourceVersion}`);
      return 'applied';
    },
    cleanup: async () => { calls.push('cleanup'); },
    setFinalizers: async (x, list) => {
      calls.push(`setFinalizers [${list.join(',')}] at rv=${x.metadata.resourceVersion}`);
      return { metadata: { ...x.metadata, finalizers: list, resourceVersion: String(Number(x.metadata.resourceVersion) + 1) } };
    },
    done: 'done',
  });
  return { out, calls };
}

describe('finalizer', () => {
  it.each([
    [false, [], 'AddThenApply'],
    [false, ['other', F], 'Apply'],
    [true, ['other', F], 'CleanupThenRemove'],
    [true, ['other'], 'Nothing'],
  ] as const)('deleting=%s finalizers=%j: %s', (deleting, finalizers, want) => {
    expect(finalizerAction(obj(deleting, [...finalizers]), F)).toBe(want);
  });

  it('live without the finalizer: adds it (once, at the observed resourceVersion) before apply writes, keeping the others', async () => {
    expect(await run(obj(false, ['other']))).toEqual({
      out: 'applied',
      calls: ['apply rv=1', `setFinalizers [other,${F}] at rv=1`, `write with finalizers=other,${F} rv=2`],
    });
  });

  it('live, refused before any write: no finalizer (nothing to clean up)', async () => {
    expect(await run(obj(false, []), false)).toEqual({ out: 'refused', calls: ['apply rv=1'] });
  });

  it('live with the finalizer: apply only', async () => {
    expect(await run(obj(false, [F]))).toEqual({ out: 'applied', calls: ['apply rv=1', `write with finalizers=${F} rv=1`] });
  });

  it('deleted with the finalizer: cleanup, then only our finalizer goes', async () => {
    expect(await run(obj(true, ['a', F, 'b']))).toEqual({ out: 'done', calls: ['cleanup', 'setFinalizers [a,b] at rv=1'] });
  });

  it('deleted, cleanup fails: the finalizer stays (the next attempt cleans up again)', async () => {
    const calls: string[] = [];
    const attempt = finalizer(obj(true, [F]), F, {
      apply: async () => 'applied',
      cleanup: async () => { throw new Error('Throttling'); },
      setFinalizers: async (x, list) => { calls.push(`setFinalizers [${list.join(',')}]`); return x; },
      done: 'done',
    });
    await expect(attempt).rejects.toThrow('Throttling');
    expect(calls).toEqual([]);
  });

  it('deleted without the finalizer: nothing', async () => {
    expect(await run(obj(true, ['other']))).toEqual({ out: 'done', calls: [] });
  });
});
