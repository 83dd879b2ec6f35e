// The objects a watch has seen, one copy each (after kube-runtime's reflector
// Store and client-go's Indexer): keyed by namespace/name, with named indexes
// (e.g. claims by the ServiceAccount they name) that are kept in step on every
// add, update and delete, and rebuilt on a relist. Nothing outlives its object.
import type { KubernetesObject } from '@kubernetes/client-node';

/** Index values of an object: none, one or several. */
export type IndexFn<T> = (obj: T) => string | readonly string[] | undefined;

/** What readers of a store may do: look, never write (the watch owns the contents). */
export interface ReadonlyStore<T extends KubernetesObject> {
  get(key: string): Readonly<T> | undefined;
  readonly size: number;
  values(): IterableIterator<Readonly<T>>;
  /** Objects whose index `name` yields `value`, in no particular order. */
  byIndex(name: string, value: string): Readonly<T>[];
  /** How many distinct values index `name` holds (values with no object are pruned). */
  indexSize(name: string): number;
}

interface Index<T> {
  fn: IndexFn<T>;
  /** Index value -> keys of the objects yielding it. */
  byValue: Map<string, Set<string>>;
}

/** namespace/name, or name for cluster-scoped objects. */
export function objectKey(o: KubernetesObject): string {
  const m = o.metadata;
  return m?.namespace ? `${m.namespace}/${m.name ?? ''}` : (m?.name ?? '');
}

export class Store<T extends KubernetesObject> implements ReadonlyStore<T> {
  private objects = new Map<string, T>();
  private readonly indexes = new Map<string, Index<T>>();

  get(key: string): T | undefined {
    return this.objects.get(key);
  }

  get size(): number {
    return this.objects.size;
  }

  values(): IterableIterator<T> {
    return this.objects.values();
  }

  /** Adds index `name` (built at once from what the store holds). */
  addIndex(name: string, fn: IndexFn<T>): void {
    if (this.indexes.has(name)) throw new Error(`store: index '${name}' already exists`);
    const index: Index<T> = { fn, byValue: new Map() };
    this.indexes.set(name, index);
    for (const [key, obj] of this.objects) this.indexAdd(index, key, obj);
  }

  byIndex(name: string, value: string): T[] {
    const keys = this.index(name).byValue.get(value);
    if (!keys) return [];
    const out: T[] = [];
    for (const key of keys) {
      const obj = this.objects.get(key);
      if (obj) out.push(obj);
    }
    return out;
  }

  indexSize(name: string): number {
    return this.index(name).byValue.size;
  }

  /** Adds or replaces the object; returns the copy it replaced. */
  upsert(obj: T): T | undefined {
    const key = objectKey(obj);
    const old = this.objects.get(key);
    for (const index of this.indexes.values()) {
      if (old) this.indexRemove(index, key, old);
      this.indexAdd(index, key, obj);
    }
    this.objects.set(key, obj);
    return old;
  }

  /** Removes the object with `key`; returns the copy it held. */
  delete(key: string): T | undefined {
    const old = this.objects.get(key);
    if (!old) return undefined;
    for (const index of this.indexes.values()) this.indexRemove(index, key, old);
    this.objects.delete(key);
    return old;
  }

  /**
   * Replaces the whole content with a fresh list (a relist). Returns the
   * copies it held before, by key: the ones whose key is not in `objs` are the
   * objects that vanished.
   */
  replace(objs: readonly T[]): Map<string, T> {
    const previous = this.objects;
    this.objects = new Map();
    for (const obj of objs) this.objects.set(objectKey(obj), obj);
    for (const index of this.indexes.values()) {
      index.byValue = new Map();
      for (const [key, obj] of this.objects) this.indexAdd(index, key, obj);
    }
    return previous;
  }

  private index(name: string): Index<T> {
    const index = this.indexes.get(name);
    if (!index) throw new Error(`store: no index '${name}'`);
    return index;
  }

  private indexAdd(index: Index<T>, key: string, obj: T): void {
    for (const value of values(index.fn(obj))) {
      let keys = index.byValue.get(value);
      if (!keys) index.byValue.set(value, (keys = new Set()));
      keys.add(key);
    }
  }

  private indexRemove(index: Index<T>, key: string, obj: T): void {
    for (const value of values(index.fn(obj))) {
      const keys = index.byValue.get(value);
      if (!keys) continue;
      keys.delete(key);
      if (keys.size === 0) index.byValue.delete(value);
    }
  }
}

function values(v: string | readonly string[] | undefined): readonly string[] {
  return v === undefined ? [] : typeof v === 'string' ? [v] : v;
}
