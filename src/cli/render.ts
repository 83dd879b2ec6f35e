// The report as text (one line per document or problem, for people) and as
// JSON (for scripts): the same facts, the same order.

import type { CheckReport, DocumentReport, Finding, RelatedLocation } from './report.js';

export type OutputFormat = 'text' | 'json' | 'sarif';

/** `file#doc namespace/name: field: rule: message`, one per problem; `ok` or `skipped` lines unless quiet. */
export function renderText(report: CheckReport, options: { quiet?: boolean } = {}): string[] {
  const lines = report.documents.flatMap((doc) => documentLines(doc, options));
  if (!options.quiet) lines.push(summaryLine(report));
  return lines;
}

/** The lines of one document: its problems, and (unless quiet) `ok` or `skipped`. */
export function documentLines(doc: DocumentReport, options: { quiet?: boolean } = {}): string[] {
  const where = doc.claim ? `${doc.source} ${doc.claim}` : doc.source;
  switch (doc.status) {
    case 'unreadable':
      return doc.findings.map((f) => `${where}: ${f.message}${f.position ? ` (line ${f.position.line}, column ${f.position.column})` : ''}`);
    case 'skipped':
      return options.quiet ? [] : [`${where}: skipped: ${doc.reason}`];
    case 'ok':
      return [...(options.quiet ? [] : [`${where}: ok`]), ...doc.findings.map((f) => problemLine(where, f))];
    case 'refused':
      return doc.findings.map((f) => problemLine(where, f));
  }
}

export function problemLine(where: string, f: Finding): string {
  return `${where}: ${f.field ? `${f.field}: ` : ''}${f.rule}: ${f.level === 'warning' ? 'warning: ' : ''}${f.message}`;
}

export function summaryLine(report: CheckReport): string {
  const c = report.counts;
  return `${c.claims} claim(s): ${c.valid} valid, ${c.refused} refused; ${c.skipped} other document(s) skipped; ${c.unreadable} unreadable`;
}

export interface RunInfo {
  command: 'validate' | 'plan';
  version: string;
  config: string;
}

/** The machine-readable report: every document with its status and located problems; plan adds the desired state. */
export function renderJson(report: CheckReport, info: RunInfo, options: { withDesired?: boolean } = {}): Record<string, unknown> {
  return {
    tool: { name: 'awi', version: info.version },
    command: info.command,
    config: info.config,
    summary: report.counts,
    documents: report.documents.map((d) => documentJson(d, options.withDesired ?? false)),
    ...(report.totals ? { totals: report.totals } : {}),
  };
}

function documentJson(d: DocumentReport, withDesired: boolean): Record<string, unknown> {
  return {
    source: d.source,
    file: d.file,
    ...(d.document !== undefined ? { document: d.document } : {}),
    ...(d.item !== undefined ? { item: d.item } : {}),
    ...(d.position ? { line: d.position.line, column: d.position.column } : {}),
    status: d.status,
    ...(d.claim ? { claim: d.claim } : {}),
    ...(d.reason ? { reason: d.reason } : {}),
    problems: d.findings.map(findingJson),
    ...(withDesired && d.desired ? { desired: d.desired } : {}),
  };
}

function findingJson(f: Finding): Record<string, unknown> {
  return {
    ...(f.field !== undefined ? { field: f.field } : {}),
    rule: f.rule,
    level: f.level,
    ...(f.reason ? { reason: f.reason } : {}),
    message: f.message,
    ...(f.position ? { line: f.position.line, column: f.position.column } : {}),
    ...(f.related?.length ? { related: f.related.map(relatedJson) } : {}),
  };
}

function relatedJson(r: RelatedLocation): Record<string, unknown> {
  return { source: r.source, file: r.file, ...(r.position ? { line: r.position.line, column: r.position.column } : {}), message: r.message };
}
