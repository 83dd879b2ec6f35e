// The finalizer's four states, like kube-rs's `finalizer()`: whether the
// object is being deleted, and whether it carries our finalizer, decide
// between apply and cleanup. Cleanup runs only while the finalizer holds the
// object, and the finalizer goes only after cleanup succeeded; both finalizer
// writes carry the object's resourceVersion (a concurrent writer makes them
// a 409, retried from a fresh read), so no writer can lose it.

export interface FinalizedObject {
  metadata: { deletionTimestamp?: unknown; finalizers?: unknown; [key: string]: unknown };
}

export type FinalizerAction =
  /** Live, finalizer absent: apply; the finalizer is added before apply's first write. */
  | 'AddThenApply'
  /** Live, finalizer present. */
  | 'Apply'
  /** Deleted, finalizer present: clean up, then remove the finalizer (the API server then deletes the object). */
  | 'CleanupThenRemove'
  /** Deleted, finalizer absent: not ours to hold any more. */
  | 'Nothing';

export function finalizerList(o: FinalizedObject): string[] {
  const f = o.metadata.finalizers;
  return Array.isArray(f) ? f.filter((x): x is string => typeof x === 'string') : [];
}

export function finalizerAction(o: FinalizedObject, finalizer: string): FinalizerAction {
  const present = finalizerList(o).includes(finalizer);
  const deleting = o.metadata.deletionTimestamp !== undefined && o.metadata.deletionTimestamp !== null;
  if (deleting) return present ? 'CleanupThenRemove' : 'Nothing';
  return present ? 'Apply' : 'AddThenApply';
}

export interface FinalizerHandlers<T extends FinalizedObject, O> {
  /**
   * Brings the world to the object's desired state. `ensureFinalizer` adds the
   * finalizer if missing and returns the object as written; apply calls it
   * before its first write to the world (an object refused before any write
   * has nothing to clean up, and gets no finalizer).
   */
  apply(object: T, ensureFinalizer: () => Promise<T>): Promise<O>;
  /** Removes what apply made. Idempotent: it runs again if removing the finalizer fails. */
  cleanup(object: T): Promise<void>;
  /** Writes the finalizer list at the object's resourceVersion; returns the object as written. */
  setFinalizers(object: T, finalizers: string[]): Promise<T>;
  /** The outcome when there is nothing to do, or once cleanup is done. */
  done: O;
}

export async function finalizer<T extends FinalizedObject, O>(object: T, name: string, h: FinalizerHandlers<T, O>): Promise<O> {
  const list = finalizerList(object);
  switch (finalizerAction(object, name)) {
    case 'AddThenApply': {
      let added: T | undefined;
      return h.apply(object, async () => (added ??= await h.setFinalizers(object, [...list, name])));
    }
    case 'Apply':
      return h.apply(object, () => Promise.resolve(object));
    case 'CleanupThenRemove':
      await h.cleanup(object);
      await h.setFinalizers(object, list.filter((f) => f !== name));
      return h.done;
    case 'Nothing':
      return h.done;
  }
}
