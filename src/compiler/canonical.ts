// IAM documents compared by meaning, not by string. AWS reorders values,
// turns "x" into ["x"] and back, URL-encodes what it returns and rewrites
// account principals; a string diff would update forever (see ACK's
// pkg/compare/iam_policy.go for the same idea).
//
// The canonical form: Version and statements only; per statement no Sid
// (labels carry no meaning), every value list a sorted, de-duplicated array,
// condition values as strings, keys sorted; statements sorted and
// de-duplicated.

import { createHash } from 'node:crypto';
import type { PolicyDocument } from './types.js';

export interface CanonicalStatement {
  Effect: string;
  Principal?: Record<string, string[]>;
  NotPrincipal?: Record<string, string[]>;
  Action?: string[];
  NotAction?: string[];
  Resource?: string[];
  NotResource?: string[];
  Condition?: Record<string, Record<string, string[]>>;
}

export interface CanonicalPolicy {
  Version: string;
  Statement: CanonicalStatement[];
}

/** Accepts a document, its JSON, or the URL-encoded JSON that IAM's Get* calls return. */
export function parsePolicy(input: PolicyDocument | string | object): Record<string, unknown> {
  if (typeof input !== 'string') return input as Record<string, unknown>;
  const text = input.trim();
  return JSON.parse(text.startsWith('{') ? text : decodeURIComponent(text)) as Record<string, unknown>;
}

export function canonicalPolicy(input: PolicyDocument | string | object): CanonicalPolicy {
  const doc = parsePolicy(input);
  const raw = doc.Statement;
  const statements = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]) as Record<string, unknown>[];
  const canonical = statements.map(canonicalStatement);
  const unique = new Map(canonical.map((s) => [stableStringify(s), s]));
  const sorted = [...unique.entries()].sort(([a], [b]) => compare(a, b)).map(([, s]) => s);
  return { Version: typeof doc.Version === 'string' ? doc.Version : '2008-10-17', Statement: sorted };
}

function canonicalStatement(statement: Record<string, unknown>): CanonicalStatement {
  const out: CanonicalStatement = { Effect: String(statement.Effect) };
  for (const key of ['Principal', 'NotPrincipal'] as const) {
    if (statement[key] !== undefined) out[key] = canonicalPrincipal(statement[key]);
  }
  for (const key of ['Action', 'NotAction', 'Resource', 'NotResource'] as const) {
    if (statement[key] !== undefined) out[key] = valueList(statement[key]);
  }
  if (statement.Condition !== undefined && Object.keys(statement.Condition as object).length > 0) {
    const condition: Record<string, Record<string, string[]>> = {};
    for (const [operator, block] of Object.entries(statement.Condition as Record<string, Record<string, unknown>>)) {
      condition[operator] = {};
      for (const [key, values] of Object.entries(block)) condition[operator][key] = valueList(values);
    }
    out.Condition = condition;
  }
  return out;
}

// "*" means every principal; a bare account id is what IAM turns into arn:aws:iam::<id>:root.
function canonicalPrincipal(principal: unknown): Record<string, string[]> {
  if (principal === '*') return { AWS: ['*'] };
  const out: Record<string, string[]> = {};
  for (const [kind, values] of Object.entries(principal as Record<string, unknown>)) {
    out[kind] = valueList(values).map((v) => (kind === 'AWS' && /^\d{12}$/.test(v) ? `arn:aws:iam::${v}:root` : v));
    out[kind] = [...new Set(out[kind])].sort(compare);
  }
  return out;
}

function valueList(value: unknown): string[] {
  const list = Array.isArray(value) ? value : [value];
  return [...new Set(list.map((v) => String(v)))].sort(compare);
}

// Code-unit order, independent of locale.
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** JSON with object keys sorted at every level (undefined members left out, as JSON.stringify does). */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).filter((k) => record[k] !== undefined).sort(compare);
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify(record[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function canonicalJson(input: PolicyDocument | string | object): string {
  return stableStringify(canonicalPolicy(input));
}

export function policiesEqual(a: PolicyDocument | string | object, b: PolicyDocument | string | object): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** "sha256:<hex>" of the canonical JSON: equal for documents that mean the same. */
export function policyDigest(input: PolicyDocument | string | object): string {
  return `sha256:${createHash('sha256').update(canonicalJson(input)).digest('hex')}`;
}

/** Size as IAM counts it against its quotas: the JSON we send, whitespace excluded. */
export function policySize(doc: PolicyDocument): number {
  return JSON.stringify(doc).replace(/\s/g, '').length;
}

export function shortHash(text: string, hexChars: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, hexChars);
}
