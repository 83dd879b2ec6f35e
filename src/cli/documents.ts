// Reading claims from files, directories and standard input: multi-document
// YAML (or JSON), Kubernetes List objects expanded, every document labelled
// with where it came from and able to say where a field is in it. Never
// throws: a file or document that cannot be read becomes an entry that says
// why, and the rest is still read.

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Document, LineCounter } from 'yaml';
import { KIND } from '../ownership.js';
import type { Io } from './io.js';
import { parseManifests, type ReadFailure, type TextPosition } from './kube-yaml.js';
import { locateField, parseFieldPath, type PathSegment } from './locate.js';

interface EntryBase {
  /** "file#2" (documents counted from 1), "file#2.items[0]" inside a List, "file" for the whole file. */
  source: string;
  /** The path as given ("<stdin>" for standard input). */
  file: string;
  /** 1-based document index; absent for a failure of the whole file. */
  document?: number;
  /** Index in a List's items. */
  item?: number;
  /** Where the document (or List item) starts. */
  position?: TextPosition;
}

export interface ClaimEntry extends EntryBase {
  kind: 'claim';
  value: unknown;
  /** Line and column of a field of this claim (`spec.aws.accountId`); its nearest present ancestor when absent. */
  locate(field: string): TextPosition | undefined;
}

export interface SkippedEntry extends EntryBase {
  kind: 'skipped';
  reason: string;
}

export interface UnreadableEntry extends EntryBase {
  kind: 'unreadable';
  failure: ReadFailure;
}

export type DocumentEntry = ClaimEntry | SkippedEntry | UnreadableEntry;

const YAML_FILE = /\.(ya?ml|json)$/i;

/** Expands directories (recursively, sorted; hidden folders and node_modules skipped). */
export function expandPaths(paths: string[]): { files: string[]; errors: UnreadableEntry[] } {
  const files: string[] = [];
  const errors: UnreadableEntry[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory() && !entry.name.startsWith('.') && entry.name !== 'node_modules') walk(path);
      else if (entry.isFile() && YAML_FILE.test(entry.name)) files.push(path);
    }
  };
  for (const path of paths) {
    if (path === '-') {
      files.push(path);
      continue;
    }
    try {
      if (statSync(path).isDirectory()) walk(path);
      else files.push(path);
    } catch (err) {
      errors.push(unreadable(path, { rule: 'readable', message: (err as Error).message }));
    }
  }
  return { files, errors };
}

/** Every document of every file, in order: claims, skipped documents and failures. */
export function readDocuments(paths: string[], io: Io): DocumentEntry[] {
  const { files, errors } = expandPaths(paths);
  const entries: DocumentEntry[] = [...errors];
  for (const file of files) {
    const name = file === '-' ? '<stdin>' : file;
    let content: string | Uint8Array;
    try {
      content = file === '-' ? io.stdin() : readFileSync(file);
    } catch (err) {
      entries.push(unreadable(name, { rule: 'readable', message: (err as Error).message }));
      continue;
    }
    const parsed = parseManifests(content);
    if (parsed.failure) entries.push(unreadable(name, parsed.failure));
    for (const doc of parsed.documents) {
      const base = { source: `${name}#${doc.index}`, file: name, document: doc.index };
      const start = doc.document.contents?.range?.[0];
      const position = start === undefined ? undefined : parsed.lineCounter.linePos(start);
      const at = { ...base, ...(position ? { position: { line: position.line, column: position.col } } : {}) };
      if (doc.failure) entries.push({ ...at, kind: 'unreadable', failure: doc.failure });
      else classify(at, doc.value, [], doc.document, parsed.lineCounter, entries);
    }
  }
  return entries;
}

function unreadable(file: string, failure: ReadFailure): UnreadableEntry {
  return { kind: 'unreadable', source: file, file, failure };
}

function classify(
  at: EntryBase,
  value: unknown,
  prefix: PathSegment[],
  document: Document.Parsed,
  lineCounter: LineCounter,
  entries: DocumentEntry[],
): void {
  if (value === null || value === undefined) return; // an empty document, e.g. a trailing "---"
  if (typeof value !== 'object' || Array.isArray(value)) {
    entries.push({ ...at, kind: 'skipped', reason: 'not a Kubernetes object' });
    return;
  }
  const kind = (value as { kind?: unknown }).kind;
  const items = (value as { items?: unknown }).items;
  if (typeof kind === 'string' && kind.endsWith('List') && Array.isArray(items)) {
    items.forEach((item, i) => {
      const itemPath = [...prefix, 'items', i];
      const position = locateField(document, lineCounter, itemPath);
      classify({ ...at, source: `${at.source}.items[${i}]`, item: i, ...(position ? { position } : {}) }, item, itemPath, document, lineCounter, entries);
    });
  } else if (kind === KIND) {
    entries.push({ ...at, kind: 'claim', value, locate: (field) => locateField(document, lineCounter, [...prefix, ...parseFieldPath(field)]) });
  } else {
    entries.push({ ...at, kind: 'skipped', reason: kind === undefined ? 'no kind (not a Kubernetes object)' : `kind ${String(kind)} is not ${KIND}` });
  }
}

/** The claim with the default namespace filled in when the document has none (as kubectl apply -n would). */
export function withNamespace(value: unknown, namespace: string): unknown {
  const claim = value as { metadata?: Record<string, unknown> };
  if (typeof claim.metadata !== 'object' || claim.metadata === null || claim.metadata.namespace !== undefined) return value;
  return { ...claim, metadata: { ...claim.metadata, namespace } };
}

/** The API server appends 5 random characters to generateName, after cutting it to 58 (names.SimpleNameGenerator). */
export const GENERATED_SUFFIX = 'xxxxx';
const GENERATE_NAME_MAX = 58;

/**
 * A claim with `metadata.generateName` and no name gets the name the API
 * server would give it (with a placeholder for the random part), so that it
 * is checked like any other; `generated` says so.
 */
export function withGeneratedName(value: unknown): { claim: unknown; generated: boolean } {
  const claim = value as { metadata?: Record<string, unknown> };
  const metadata = claim.metadata;
  if (typeof metadata !== 'object' || metadata === null || metadata.name !== undefined || typeof metadata.generateName !== 'string') {
    return { claim: value, generated: false };
  }
  const { generateName, ...rest } = metadata;
  return { claim: { ...claim, metadata: { ...rest, name: `${generateName.slice(0, GENERATE_NAME_MAX)}${GENERATED_SUFFIX}` } }, generated: true };
}

/** "checkout-prod/checkout-api" when the document says so; "ns/api-<generated>" for a generateName claim. */
export function claimLabel(value: unknown): string {
  const metadata = (value as { metadata?: { name?: unknown; namespace?: unknown; generateName?: unknown } }).metadata;
  const name =
    typeof metadata?.name === 'string' ? metadata.name : typeof metadata?.generateName === 'string' ? `${metadata.generateName}<generated>` : '<no name>';
  return typeof metadata?.namespace === 'string' ? `${metadata.namespace}/${name}` : name;
}
