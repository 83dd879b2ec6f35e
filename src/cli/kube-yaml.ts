// Reading manifests the way kubectl does, without ever throwing: every
// failure (invalid UTF-8, a syntax error, a duplicate key, excessive
// aliasing, nesting too deep) is reported on the document it belongs to, and
// the other documents of the file are still read.
//
// YAML 1.1, not 1.2. kubectl turns YAML into JSON with sigs.k8s.io/yaml, a
// go-yaml v2 fork, which resolves plain scalars with YAML 1.1 rules: `yes`,
// `on`, `y` are booleans, `off`, `no`, `n` are false, `1_000` and `0755` are
// numbers. Reading with the same rules gives validate the value the API server
// would store, so `owner: yes` is refused as "must be a string" here exactly
// when the API server refuses it, and a field that accepts the value is not
// refused for a spelling the API server takes. (Refusing every ambiguous
// scalar instead would refuse claims that apply fine.) Where go-yaml v2 leaves
// a plain scalar a string, so do we: timestamps (`2012-10-17` stays a
// string when decoded into an interface{}) and base-60 numbers (`1:20`).

import YAML, { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, type Document, type Node, type ScalarTag, type Tags } from 'yaml';

/** go-yaml v2 refuses a document with excessive aliasing (CVE-2019-11253); so do we, at the yaml library's default bound. */
export const MAX_ALIAS_COUNT = 100;
/**
 * Deeper than any claim or configuration can be (the schemas refuse unknown
 * fields, so the API server refuses such a document too); checked before the
 * document is turned into JSON, so that no recursion in the reader or the
 * validators can overflow the stack.
 */
export const MAX_DEPTH = 64;

export interface TextPosition {
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units (SARIF's default column kind). */
  column: number;
}

export interface ReadFailure {
  message: string;
  /** A short stable id, like a problem's rule: yaml-syntax, yaml-duplicate-key, yaml-aliases, yaml-depth, utf8. */
  rule: string;
  position?: TextPosition;
}

export interface ParsedDocument {
  /** 1-based index in the file. */
  index: number;
  document: Document.Parsed;
  /** The JSON value; undefined when `failure` is set or the document is empty. */
  value?: unknown;
  failure?: ReadFailure;
}

export interface ParsedFile {
  documents: ParsedDocument[];
  lineCounter: LineCounter;
  /** Set when nothing of the file could be read as documents. */
  failure?: ReadFailure;
}

const YAML_11_JSON_TAGS_ONLY = (tags: Tags): Tags => [
  ...tags.filter((tag) => {
    const t = tag as ScalarTag;
    // Tags whose values JSON cannot hold, or that go-yaml v2 does not resolve for plain scalars.
    if (['tag:yaml.org,2002:binary', 'tag:yaml.org,2002:omap', 'tag:yaml.org,2002:pairs', 'tag:yaml.org,2002:set', 'tag:yaml.org,2002:timestamp'].includes(t.tag)) return false;
    return t.format !== 'TIME';
  }),
  // Go's strconv.ParseInt(s, 0, 64), which go-yaml v2 calls, also reads 0o-prefixed octal.
  {
    tag: 'tag:yaml.org,2002:int',
    format: 'OCT',
    default: true,
    test: /^[-+]?0o[0-7_]+$/,
    resolve: (source: string) => {
      const n = parseInt(source.replace(/^[-+]?0o/, '').replace(/_/g, ''), 8);
      return source.startsWith('-') ? -n : n;
    },
  } as ScalarTag,
];

export const KUBECTL_YAML_OPTIONS = {
  version: '1.1',
  customTags: YAML_11_JSON_TAGS_ONLY,
  merge: true,
  uniqueKeys: true,
  prettyErrors: true,
} as const;

/** Parses a file's bytes (or text) into its documents; never throws. */
export function parseManifests(input: Uint8Array | string): ParsedFile {
  const lineCounter = new LineCounter();
  const { text, badLines } = typeof input === 'string' ? { text: input, badLines: [] } : decodeUtf8(input);
  let documents: Document.Parsed[];
  try {
    documents = YAML.parseAllDocuments(text, { ...KUBECTL_YAML_OPTIONS, lineCounter }) as Document.Parsed[];
  } catch (err) {
    return { documents: [], lineCounter, failure: { rule: 'yaml-syntax', message: `YAML: ${(err as Error).message}` } };
  }
  if (!Array.isArray(documents)) documents = [documents]; // an empty stream yields an EmptyStream object
  const parsed = documents.map((document, i) => readDocument(document, i + 1, text, lineCounter));
  if (badLines.length) {
    const unclaimed = attachEncodingFailures(parsed, badLines, lineCounter);
    if (unclaimed.length) {
      return { documents: parsed, lineCounter, failure: utf8Failure(unclaimed[0]!) };
    }
  }
  return { documents: parsed, lineCounter };
}

function readDocument(document: Document.Parsed, index: number, text: string, lineCounter: LineCounter): ParsedDocument {
  const error = document.errors[0];
  if (error) return { index, document, failure: yamlFailure(error, text, lineCounter) };
  const deep = firstTooDeep(document.contents);
  if (deep) {
    return {
      index,
      document,
      failure: {
        rule: 'yaml-depth',
        message: `YAML: nested more than ${MAX_DEPTH} levels deep; no claim or configuration field is, and the API server refuses the unknown fields such nesting needs`,
        ...(deep.range ? { position: toPosition(lineCounter, deep.range[0]) } : {}),
      },
    };
  }
  try {
    return { index, document, value: document.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
  } catch (err) {
    const aliasBomb = /alias/i.test((err as Error).message);
    return {
      index,
      document,
      failure: aliasBomb
        ? {
            rule: 'yaml-aliases',
            message: `YAML: excessive aliasing (an alias bomb): expanding the aliases would pass the limit of ${MAX_ALIAS_COUNT} alias expansions; kubectl refuses such documents too ("document contains excessive aliasing")`,
            ...(document.contents?.range ? { position: toPosition(lineCounter, document.contents.range[0]) } : {}),
          }
        : { rule: 'yaml-syntax', message: `YAML: ${(err as Error).message}` },
    };
  }
}

function yamlFailure(error: YAML.YAMLError, text: string, lineCounter: LineCounter): ReadFailure {
  const position = toPosition(lineCounter, error.pos[0]);
  if (error.code === 'DUPLICATE_KEY') {
    const key = /^[^:\n]*/.exec(text.slice(error.pos[0]))![0].trim();
    return {
      rule: 'yaml-duplicate-key',
      message: `YAML: duplicate key ${JSON.stringify(key)}: a mapping may name a key only once (kubectl either refuses the document or silently keeps the last value); remove one`,
      position,
    };
  }
  // The library's message carries " at line L, column C:" and an excerpt; the position says that already.
  const first = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  const rule = /call stack/i.test(first) ? 'yaml-depth' : 'yaml-syntax';
  return { rule, message: `YAML: ${rule === 'yaml-depth' ? `nested too deep to read (${first})` : first}`, position };
}

/** The first node nested deeper than MAX_DEPTH, found without recursion. */
function firstTooDeep(root: Node | null): Node | undefined {
  if (!root) return undefined;
  const stack: [Node, number][] = [[root, 1]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (depth > MAX_DEPTH) return node;
    if (isMap(node) || isSeq(node)) {
      for (const item of node.items as unknown[]) {
        if (isPair(item)) {
          if (item.key && !isScalar(item.key) && !isAlias(item.key)) stack.push([item.key as Node, depth + 1]);
          if (item.value) stack.push([item.value as Node, depth + 1]);
        } else if (item) stack.push([item as Node, depth + 1]);
      }
    }
  }
  return undefined;
}

export function toPosition(lineCounter: LineCounter, offset: number): TextPosition {
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

/**
 * UTF-8 as text, with invalid sequences replaced; and which lines held them.
 * kubectl splits a stream into documents before decoding each, so a bad byte
 * spoils its own document, not the file.
 */
function decodeUtf8(bytes: Uint8Array): { text: string; badLines: number[] } {
  const text = new TextDecoder('utf-8').decode(bytes);
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return { text, badLines: [] };
  } catch {
    const badLines: number[] = [];
    const strict = new TextDecoder('utf-8', { fatal: true });
    let start = 0;
    for (let line = 1; start <= bytes.length; line++) {
      let end = bytes.indexOf(0x0a, start);
      if (end === -1) end = bytes.length;
      try {
        strict.decode(bytes.subarray(start, end));
      } catch {
        badLines.push(line);
      }
      start = end + 1;
    }
    return { text, badLines };
  }
}

function utf8Failure(line: number): ReadFailure {
  return { rule: 'utf8', message: `invalid UTF-8 on line ${line}: Kubernetes manifests must be UTF-8 (kubectl refuses the document)`, position: { line, column: 1 } };
}

/** Marks each document holding a bad line; returns the bad lines no document holds. */
function attachEncodingFailures(documents: ParsedDocument[], badLines: number[], lineCounter: LineCounter): number[] {
  const unclaimed: number[] = [];
  for (const line of badLines) {
    const owner = documents.find((d) => {
      const [start, , end] = d.document.range;
      return toPosition(lineCounter, start).line <= line && line <= toPosition(lineCounter, Math.max(start, end - 1)).line;
    });
    if (!owner) unclaimed.push(line);
    else if (!owner.failure || owner.failure.rule !== 'utf8') {
      delete owner.value;
      owner.failure = utf8Failure(line);
    }
  }
  return unclaimed;
}
