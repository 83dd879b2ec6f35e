// The report as SARIF 2.1.0, the format code-scanning UIs (GitHub, GitLab,
// Azure DevOps) read: one result per problem, with the rule id, the message
// and the file, line and column of the offending field; the other claim of a
// cross-claim conflict as a related location. Checked against the SARIF
// 2.1.0 JSON Schema in test/unit/cli-sarif.test.ts.

import { isAbsolute, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { TextPosition } from './kube-yaml.js';
import type { RunInfo } from './render.js';
import type { CheckReport, Finding, RelatedLocation } from './report.js';

export const SARIF_SCHEMA_URI = 'https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json';

/** What the rules that are not the compiler's mean (the compiler's carry their meaning in each message). */
const RULE_DESCRIPTIONS: Record<string, string> = {
  'yaml-syntax': 'The document is not valid YAML.',
  'yaml-duplicate-key': 'A mapping names the same key twice.',
  'yaml-aliases': 'Expanding the YAML aliases would exceed the bound kubectl also applies (an alias bomb).',
  'yaml-depth': 'The document is nested deeper than any claim can be.',
  utf8: 'The file is not valid UTF-8.',
  readable: 'The file cannot be read.',
  'internal-error': 'awi failed while checking this claim.',
  'claim-defined-twice': 'The same claim (namespace/name) is defined in two documents.',
  'service-account-claimed-twice': 'Two claims bind the same ServiceAccount.',
  'role-name-collision': 'Two claims compile to the same IAM role name in one account.',
  'roles-per-account-quota': 'The claims create more roles in one account than the default IAM quota.',
  'associations-per-cluster-quota': 'The claims create more Pod Identity associations than the EKS quota per cluster.',
};

interface SarifRule {
  id: string;
  shortDescription: { text: string };
  defaultConfiguration: { level: 'error' | 'warning' };
  properties?: { category: string };
}

export function renderSarif(report: CheckReport, info: RunInfo, cwd: string = process.cwd()): Record<string, unknown> {
  const rules: SarifRule[] = [];
  const ruleIndex = new Map<string, number>();
  const results: Record<string, unknown>[] = [];
  let usesSrcRoot = false;

  const physical = (file: string, position: TextPosition | undefined): Record<string, unknown> | undefined => {
    const artifact = artifactLocation(file, cwd);
    if (!artifact) return undefined;
    if (artifact.uriBaseId) usesSrcRoot = true;
    return {
      artifactLocation: artifact,
      region: position ? { startLine: position.line, startColumn: position.column } : { startLine: 1 },
    };
  };

  for (const doc of report.documents) {
    for (const finding of doc.findings) {
      let index = ruleIndex.get(finding.rule);
      if (index === undefined) {
        index = rules.length;
        ruleIndex.set(finding.rule, index);
        rules.push(ruleFor(finding));
      }
      const location = physical(doc.file, finding.position ?? doc.position);
      const logical = doc.claim
        ? [{ fullyQualifiedName: finding.field ? `${doc.claim}:${finding.field}` : doc.claim, kind: 'object' }]
        : undefined;
      const related = (finding.related ?? []).flatMap((r: RelatedLocation, i: number) => {
        const at = physical(r.file, r.position);
        return at ? [{ id: i + 1, physicalLocation: at, message: { text: `also here: ${r.message} (${r.source})` } }] : [];
      });
      results.push({
        ruleId: finding.rule,
        ruleIndex: index,
        level: finding.level,
        message: { text: `${doc.claim ? `${doc.claim}: ` : ''}${finding.field ? `${finding.field}: ` : ''}${finding.message}` },
        locations: [{ ...(location ? { physicalLocation: location } : {}), ...(logical ? { logicalLocations: logical } : {}) }],
        ...(related.length ? { relatedLocations: related } : {}),
        partialFingerprints: { 'awiFinding/v1': fingerprint(doc.claim ?? doc.source, finding) },
      });
    }
  }

  return {
    $schema: SARIF_SCHEMA_URI,
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'awi', version: info.version, semanticVersion: info.version, rules } },
        ...(usesSrcRoot ? { originalUriBaseIds: { SRCROOT: { uri: pathToFileURL(cwd.endsWith(sep) ? cwd : `${cwd}${sep}`).href } } } : {}),
        columnKind: 'utf16CodeUnits',
        results,
        properties: { command: info.command, config: info.config, summary: report.counts, ...(report.totals ? { totals: report.totals } : {}) },
      },
    ],
  };
}

function ruleFor(finding: Finding): SarifRule {
  const text = RULE_DESCRIPTIONS[finding.rule] ?? `${finding.reason ?? 'Problem'}: rule ${finding.rule} (the result's message says what and why).`;
  return {
    id: finding.rule,
    shortDescription: { text },
    defaultConfiguration: { level: finding.level },
    ...(finding.reason ? { properties: { category: finding.reason } } : {}),
  };
}

/** A path relative to the working directory (the repository root in CI) is what code-scanning UIs match to files. */
function artifactLocation(file: string, cwd: string): { uri: string; uriBaseId?: string } | undefined {
  if (file === '<stdin>') return undefined;
  const rel = isAbsolute(file) ? relative(cwd, file) : file;
  if (isAbsolute(rel) || rel.startsWith('..')) return { uri: pathToFileURL(isAbsolute(file) ? file : `${cwd}${sep}${file}`).href };
  return { uri: rel.split(sep).map(encodeURIComponent).join('/'), uriBaseId: 'SRCROOT' };
}

/** Stable across runs and line moves, so that code scanning tracks a problem rather than a line. */
function fingerprint(subject: string, finding: Finding): string {
  return `${subject}|${finding.field ?? ''}|${finding.rule}`;
}
