// Where a problem's field is in the file: a field path such as
// `spec.permissions.s3[0].bucket` walked through the parsed YAML document to
// the line and column of its key (or list item). A field that is not in the
// document (a required one that is missing, a namespace filled in by -n)
// points at the nearest ancestor that is.

import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import { toPosition, type TextPosition } from './kube-yaml.js';

export type PathSegment = string | number;

/** `spec.permissions.s3[0].bucket` -> ['spec', 'permissions', 's3', 0, 'bucket']; `roles.tags["a b"]` -> ['roles', 'tags', 'a b']. */
export function parseFieldPath(path: string): PathSegment[] {
  const segments: PathSegment[] = [];
  const token = /\.?([A-Za-z_$][\w$-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;
  let at = 0;
  while (at < path.length) {
    token.lastIndex = at;
    const m = token.exec(path);
    if (!m) break; // not a path we know how to read (e.g. "(root)"): stop at what we have
    if (m[1] !== undefined) segments.push(m[1]);
    else if (m[2] !== undefined) segments.push(Number(m[2]));
    else segments.push(JSON.parse(m[3]!) as string);
    at = token.lastIndex;
  }
  return segments;
}

/** The position of the deepest node on the path that the document has. */
export function locateField(document: Document.Parsed, lineCounter: LineCounter, path: PathSegment[]): TextPosition | undefined {
  let node: Node | null | undefined = document.contents;
  let offset = node?.range?.[0];
  for (const segment of path) {
    node = resolveAlias(document, node);
    const found = child(document, node, segment);
    if (!found) break;
    offset = found.offset ?? offset;
    node = found.node;
  }
  return offset === undefined ? undefined : toPosition(lineCounter, offset);
}

function resolveAlias(document: Document.Parsed, node: Node | null | undefined): Node | null | undefined {
  for (let hops = 0; node && isAlias(node) && hops < 10; hops++) node = node.resolve(document) as Node | undefined;
  return node;
}

/** The child on `segment` and where to point for it: a map entry's key, a list item itself. */
function child(document: Document.Parsed, node: Node | null | undefined, segment: PathSegment): { node: Node | null; offset?: number } | undefined {
  if (isSeq(node) && typeof segment === 'number') {
    const item = node.items[segment] as Node | undefined;
    return item ? { node: item, ...(item.range ? { offset: item.range[0] } : {}) } : undefined;
  }
  if (!isMap(node)) return undefined;
  for (const pair of node.items) {
    if (!isPair(pair)) continue;
    const key = pair.key as Node | null;
    if (isScalar(key) && String(key.value) === String(segment)) {
      return { node: pair.value as Node | null, ...(key.range ? { offset: key.range[0] } : {}) };
    }
  }
  // `<<: *defaults` merge keys: the field may come from the merged map.
  for (const pair of node.items) {
    if (isPair(pair) && isScalar(pair.key) && isMergeKey(pair.key.value)) {
      const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
      for (const source of sources) {
        const found = child(document, resolveAlias(document, source as Node), segment);
        if (found) return found;
      }
    }
  }
  return undefined;
}

function isMergeKey(value: unknown): boolean {
  return value === '<<' || (typeof value === 'symbol' && value.description === '<<');
}
