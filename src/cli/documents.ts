// Reading claims from files, directories and standard input: multi-document
// YAML (or JSON), Kubernetes List objects expanded, every document labelled
// with where it came from.

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { KIND } from '../api/schema.js';
import type { Io } from './io.js';

export interface SourceDocument {
  /** "file#2" (documents counted from 1), "file#2.items[0]" inside a List. */
  source: string;
  value: unknown;
}

export interface ReadResult {
  claims: SourceDocument[];
  /** Documents that are not claims, with the reason they were skipped. */
  skipped: { source: string; reason: string }[];
  /** Files that could not be read or parsed. */
  errors: { source: string; message: string }[];
}

const YAML_FILE = /\.(ya?ml|json)$/i;

/** Expands directories (recursively, sorted; hidden folders and node_modules skipped). */
export function expandPaths(paths: string[]): { files: string[]; errors: ReadResult['errors'] } {
  const files: string[] = [];
  const errors: ReadResult['errors'] = [];
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
      errors.push({ source: path, message: (err as Error).message });
    }
  }
  return { files, errors };
}

export function readClaims(paths: string[], io: Io): ReadResult {
  const { files, errors } = expandPaths(paths);
  const result: ReadResult = { claims: [], skipped: [], errors };
  for (const file of files) {
    const name = file === '-' ? '<stdin>' : file;
    let text: string;
    try {
      text = file === '-' ? io.stdin() : readFileSync(file, 'utf8');
    } catch (err) {
      result.errors.push({ source: name, message: (err as Error).message });
      continue;
    }
    YAML.parseAllDocuments(text).forEach((doc, i) => {
      const source = `${name}#${i + 1}`;
      if (doc.errors.length) {
        result.errors.push({ source, message: `YAML: ${doc.errors[0]!.message.split('\n')[0]}` });
        return;
      }
      classify(source, doc.toJS(), result);
    });
  }
  return result;
}

function classify(source: string, value: unknown, result: ReadResult): void {
  if (value === null || value === undefined) return; // an empty document, e.g. a trailing "---"
  if (typeof value !== 'object' || Array.isArray(value)) {
    result.skipped.push({ source, reason: 'not a Kubernetes object' });
    return;
  }
  const kind = (value as { kind?: unknown }).kind;
  const items = (value as { items?: unknown }).items;
  if (typeof kind === 'string' && kind.endsWith('List') && Array.isArray(items)) {
    items.forEach((item, i) => classify(`${source}.items[${i}]`, item, result));
  } else if (kind === KIND) {
    result.claims.push({ source, value });
  } else {
    result.skipped.push({ source, reason: kind === undefined ? 'no kind (not a Kubernetes object)' : `kind ${String(kind)} is not ${KIND}` });
  }
}

/** The claim with the default namespace filled in when the document has none (as kubectl apply -n would). */
export function withNamespace(value: unknown, namespace: string): unknown {
  const claim = value as { metadata?: Record<string, unknown> };
  if (typeof claim.metadata !== 'object' || claim.metadata === null || claim.metadata.namespace !== undefined) return value;
  return { ...claim, metadata: { ...claim.metadata, namespace } };
}

/** "checkout-prod/checkout-api" when the document says so. */
export function claimLabel(value: unknown): string {
  const metadata = (value as { metadata?: { name?: unknown; namespace?: unknown } }).metadata;
  const name = typeof metadata?.name === 'string' ? metadata.name : '<no name>';
  return typeof metadata?.namespace === 'string' ? `${metadata.namespace}/${name}` : name;
}
