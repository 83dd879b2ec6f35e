// `awi validate --config-only`: a platform configuration checked on its own,
// by the same loader the controller starts with (so the verdict is the
// controller's), each problem located in the file for CI annotations.

import { readFileSync } from 'node:fs';
import YAML, { LineCounter } from 'yaml';
import { ConfigError, loadPlatformConfig } from '../config/index.js';
import { toPosition } from './kube-yaml.js';
import { locateField, parseFieldPath } from './locate.js';
import type { CheckReport, DocumentReport, Finding } from './report.js';

export function checkConfigFile(path: string): CheckReport {
  const doc: DocumentReport = { source: path, file: path, status: 'ok', findings: [] };
  try {
    const config = loadPlatformConfig(path);
    doc.reason = `platform configuration for cluster ${config.cluster.arn}: ${config.guardrails.length} guardrail(s), ${config.accounts.length} account(s)`;
  } catch (err) {
    doc.status = 'refused';
    doc.findings = err instanceof ConfigError ? locateIssues(path, err) : [{ rule: 'unreadable', level: 'error', message: (err as Error).message }];
  }
  return {
    documents: [doc],
    counts: { claims: 0, valid: doc.status === 'ok' ? 1 : 0, refused: doc.status === 'ok' ? 0 : 1, skipped: 0, unreadable: 0 },
  };
}

/** The loader's issues with line and column, from a second parse with the loader's own YAML options. */
function locateIssues(path: string, err: ConfigError): Finding[] {
  let document: YAML.Document.Parsed | undefined;
  const lineCounter = new LineCounter();
  try {
    document = YAML.parseDocument(readFileSync(path, 'utf8'), { uniqueKeys: true, lineCounter });
  } catch {
    document = undefined;
  }
  const yamlErrors = document?.errors ?? [];
  return err.issues.map((issue, i): Finding => {
    const position =
      issue.rule === 'yaml'
        ? yamlErrors[i] && toPosition(lineCounter, yamlErrors[i]!.pos[0])
        : document && issue.field
          ? locateField(document, lineCounter, parseFieldPath(issue.field))
          : undefined;
    return {
      rule: issue.rule,
      level: 'error',
      message: issue.message,
      ...(issue.field ? { field: issue.field } : {}),
      reason: 'InvalidConfig',
      ...(position ? { position } : {}),
    };
  });
}
