// awi plan <files or dirs> --config <file> [--output yaml|json|sarif]
// Prints the complete desired state of every claim (role, policies, trust,
// binding, ServiceAccount) without a cluster or AWS. YAML: one document per
// claim, problems on standard error. JSON: validate's report, each valid
// claim with its desired state. SARIF: the problems, for code scanning.
// Claims that cannot be compiled (or conflict with another) make the exit status 1.

import type { Command } from 'commander';
import YAML from 'yaml';
import { configOption, loadConfigOrReport, namespaceOption } from './config-option.js';
import { EXIT, processIo, type Io } from './io.js';
import { documentLines, renderJson, type RunInfo } from './render.js';
import { checkClaims, failed } from './report.js';
import { renderSarif } from './sarif.js';
import { outputOption } from './validate.js';
import { awiVersion } from './version.js';

export interface PlanArgs {
  paths: string[];
  config: string;
  output?: 'yaml' | 'json' | 'sarif';
  namespace?: string;
}

export function runPlan(args: PlanArgs, io: Io = processIo): number {
  const config = loadConfigOrReport(args.config, io);
  if (!config) return EXIT.usage;
  const report = checkClaims(args.paths, config, { namespace: args.namespace ?? 'default' }, io);
  const info: RunInfo = { command: 'plan', version: awiVersion(), config: args.config };

  if (args.output === 'json') io.out(JSON.stringify(renderJson(report, info, { withDesired: true }), null, 2));
  else if (args.output === 'sarif') io.out(JSON.stringify(renderSarif(report, info), null, 2));
  else {
    for (const doc of report.documents) {
      if (doc.status !== 'ok') for (const line of documentLines(doc)) io.err(line);
      else for (const line of documentLines(doc, { quiet: true })) io.err(line); // warnings
      // YAML 1.1 quoting, so that readers such as kubectl's keep "2012-10-17" a string.
      if (doc.desired) io.out(`# ${doc.source}\n---\n${YAML.stringify(doc.desired, { lineWidth: 0, version: '1.1', aliasDuplicateObjects: false })}`);
    }
  }
  if (report.counts.claims === 0 && report.counts.unreadable === 0) io.err('no AwsWorkloadIdentityClaim found');
  return failed(report) ? EXIT.invalid : EXIT.ok;
}

export function registerPlan(program: Command, io: Io = processIo): void {
  program
    .command('plan')
    .description('print the desired state (IAM role, policies, trust, binding, ServiceAccount) each claim compiles to')
    .argument('<paths...>', 'claim files or directories ("-" for standard input)')
    .addOption(configOption())
    .addOption(namespaceOption())
    .addOption(outputOption(['yaml', 'json', 'sarif'], 'yaml'))
    .action((paths: string[], options: { config: string; namespace: string; output: 'yaml' | 'json' | 'sarif' }) => {
      process.exitCode = runPlan({ paths, ...options }, io);
    });
}
