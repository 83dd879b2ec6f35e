// The offline check behind `awi validate` and `awi plan`: read every
// document, compile every claim, run the cross-claim checks, and say for each
// document what was found and where (file, line, column). Pure but for
// reading the files; the renderers (text, JSON, SARIF) only format this.

import { compileClaim } from '../compiler/compile.js';
import type { DesiredState } from '../compiler/types.js';
import type { PlatformConfig } from '../config/types.js';
import { crossClaimFindings, guardrailTotals, type ClaimFacts, type Totals } from './cross-claim.js';
import { claimLabel, GENERATED_SUFFIX, readDocuments, withGeneratedName, withNamespace, type DocumentEntry } from './documents.js';
import type { Io } from './io.js';
import type { TextPosition } from './kube-yaml.js';

export type Level = 'error' | 'warning';

export interface RelatedLocation {
  source: string;
  file: string;
  position?: TextPosition;
  message: string;
}

export interface Finding {
  /** Stable rule id: the compiler's (`account-allowed`), the reader's (`yaml-aliases`) or a cross-claim one (`role-name-collision`). */
  rule: string;
  level: Level;
  message: string;
  /** Field path in the document, e.g. `spec.permissions.s3[0].bucket`. */
  field?: string;
  /** InvalidSpec, GuardrailViolation, LimitExceeded (the condition reason the controller would set), or CrossClaim. */
  reason?: string;
  position?: TextPosition;
  related?: RelatedLocation[];
}

export type DocumentStatus = 'ok' | 'refused' | 'unreadable' | 'skipped';

export interface DocumentReport {
  source: string;
  file: string;
  document?: number;
  item?: number;
  position?: TextPosition;
  status: DocumentStatus;
  /** "namespace/name" of a claim. */
  claim?: string;
  /** Why a document was skipped. */
  reason?: string;
  findings: Finding[];
  /** What the claim compiles to (claims with status ok). */
  desired?: DesiredState;
}

export interface CheckReport {
  documents: DocumentReport[];
  counts: { claims: number; valid: number; refused: number; skipped: number; unreadable: number };
  totals?: Totals;
}

export interface CheckOptions {
  /** For claims that name none (kubectl apply -n). */
  namespace: string;
}

export function checkClaims(paths: string[], config: PlatformConfig, options: CheckOptions, io: Io): CheckReport {
  return checkEntries(readDocuments(paths, io), config, options);
}

/** The check itself, on documents already read. */
export function checkEntries(entries: DocumentEntry[], config: PlatformConfig, options: CheckOptions): CheckReport {
  const documents: DocumentReport[] = [];
  const facts: ClaimFacts[] = [];
  const claimReports = new Map<number, { report: DocumentReport; locate: (field: string) => TextPosition | undefined }>();

  for (const entry of entries) {
    const base = {
      source: entry.source,
      file: entry.file,
      ...(entry.document !== undefined ? { document: entry.document } : {}),
      ...(entry.item !== undefined ? { item: entry.item } : {}),
      ...(entry.position ? { position: entry.position } : {}),
    };
    if (entry.kind === 'unreadable') {
      const { rule, message, position } = entry.failure;
      documents.push({ ...base, status: 'unreadable', findings: [{ rule, level: 'error', message, ...(position ? { position } : {}) }] });
      continue;
    }
    if (entry.kind === 'skipped') {
      documents.push({ ...base, status: 'skipped', reason: entry.reason, findings: [] });
      continue;
    }
    const withNs = withNamespace(entry.value, options.namespace);
    const { claim, generated } = withGeneratedName(withNs);
    const report: DocumentReport = { ...base, status: 'ok', claim: claimLabel(withNs), findings: [] };
    // A field the claim does not have (e.g. the namespace -n filled in) points at its nearest ancestor.
    const locate = entry.locate;
    try {
      const result = compileClaim(claim, config);
      if (result.ok) {
        report.desired = result.desired;
      } else {
        report.status = 'refused';
        for (const problem of result.problems) {
          // The name a generateName claim gets is ours to invent: a problem with it is a problem with generateName.
          const field = generated && problem.field === 'metadata.name' ? 'metadata.generateName' : problem.field;
          const position = locate(field);
          report.findings.push({
            rule: problem.rule,
            level: 'error',
            message: generated ? problem.message.replaceAll(GENERATED_SUFFIX, '<generated>') : problem.message,
            field,
            reason: problem.reason,
            ...(position ? { position } : {}),
          });
        }
      }
    } catch (err) {
      // The compiler promises problems, not exceptions; if one escapes, say so here and go on with the rest.
      report.status = 'refused';
      report.findings.push({
        rule: 'internal-error',
        level: 'error',
        message: `awi could not check this claim (${(err as Error).message}); this is a bug in awi, please report it with the document`,
      });
    }
    const id = facts.length;
    const metadata = (claim as { metadata?: { namespace?: unknown; name?: unknown } }).metadata;
    const desired = report.desired;
    facts.push({
      id,
      where: `${entry.source}${entry.position ? ` line ${entry.position.line}` : ''}`,
      namespace: typeof metadata?.namespace === 'string' ? metadata.namespace : options.namespace,
      ...(!generated && typeof metadata?.name === 'string' ? { name: metadata.name } : {}),
      ...(desired
        ? {
            compiled: {
              serviceAccount: desired.serviceAccount.name,
              accountId: desired.accountId,
              roleName: desired.role.name,
              mechanism: desired.mechanism,
              // A generated name only stands in for the random part: a role named after it is not the real one.
              roleNameIsExact: !(generated && config.roles.nameTemplate.includes('{claim}')),
            },
          }
        : {}),
    });
    claimReports.set(id, { report, locate });
    documents.push(report);
  }

  for (const finding of crossClaimFindings(facts, config)) {
    const target = claimReports.get(finding.id)!;
    const position = target.locate(finding.field);
    target.report.findings.push({
      rule: finding.rule,
      level: finding.level,
      message: finding.message,
      field: finding.field,
      reason: 'CrossClaim',
      ...(position ? { position } : {}),
      related: finding.related.map((id) => {
        const other = claimReports.get(id)!;
        const at = other.locate(finding.field) ?? other.report.position;
        return { source: other.report.source, file: other.report.file, ...(at ? { position: at } : {}), message: `${other.report.claim}` };
      }),
    });
    if (finding.level === 'error') {
      target.report.status = 'refused';
      delete target.report.desired;
    }
  }

  const refusedIds = new Set([...claimReports].filter(([, c]) => c.report.status === 'refused').map(([id]) => id));
  const count = (status: DocumentStatus) => documents.filter((d) => d.status === status).length;
  return {
    documents,
    counts: { claims: facts.length, valid: count('ok'), refused: count('refused'), skipped: count('skipped'), unreadable: count('unreadable') },
    totals: guardrailTotals(facts, refusedIds, config),
  };
}

/** 1 when anything was refused or unreadable. */
export function failed(report: CheckReport): boolean {
  return report.documents.some((d) => d.status === 'refused' || d.status === 'unreadable');
}
