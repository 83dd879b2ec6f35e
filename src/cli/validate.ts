// awi validate <files or dirs> --config <file> [--output text|json|sarif]
// awi validate --config-only --config <file>
// Checks every claim document as the API server and the controller would
// (schema, CEL rules, guardrails, IAM limits), offline, and the claims
// against each other (one ServiceAccount claimed twice, role-name
// collisions). Text: one line per document or problem; JSON and SARIF carry
// the file, line and column of each problem. Exit status 1 when any claim is
// refused or any document unreadable, for GitOps pipelines.

import { Option, type Command } from 'commander';
import { checkConfigFile } from './config-check.js';
import { configOption, loadConfigOrReport, namespaceOption } from './config-option.js';
import { EXIT, processIo, type Io } from './io.js';
import { renderJson, renderText, type OutputFormat, type RunInfo } from './render.js';
import { checkClaims, failed, type CheckReport } from './report.js';
import { renderSarif } from './sarif.js';
import { awiVersion } from './version.js';

export interface ValidateArgs {
  paths: string[];
  config: string;
  namespace?: string;
  quiet?: boolean;
  output?: OutputFormat;
  configOnly?: boolean;
}

export function runValidate(args: ValidateArgs, io: Io = processIo): number {
  const output = args.output ?? 'text';
  const info: RunInfo = { command: 'validate', version: awiVersion(), config: args.config };
  if (args.configOnly) {
    if (args.paths.length) {
      io.err('--config-only checks the configuration alone: give no claim paths');
      return EXIT.usage;
    }
    const report = checkConfigFile(args.config);
    if (output === 'text') {
      const [doc] = report.documents;
      if (doc!.status === 'ok') io.out(`${doc!.source}: ok: ${doc!.reason}`);
      for (const f of doc!.findings) {
        io.out(`${doc!.source}: ${f.field ? `${f.field}: ` : ''}${f.rule}: ${f.message}${f.position ? ` (line ${f.position.line})` : ''}`);
      }
    } else write(report, info, output, io);
    return failed(report) ? EXIT.invalid : EXIT.ok;
  }
  if (args.paths.length === 0) {
    io.err('give claim files or directories ("-" for standard input), or --config-only to check the configuration alone');
    return EXIT.usage;
  }
  const config = loadConfigOrReport(args.config, io);
  if (!config) return EXIT.usage;
  const report = checkClaims(args.paths, config, { namespace: args.namespace ?? 'default' }, io);
  if (output === 'text') for (const line of renderText(report, { quiet: args.quiet ?? false })) io.out(line);
  else write(report, info, output, io);
  if (report.counts.claims === 0 && report.counts.unreadable === 0) io.err('no AwsWorkloadIdentityClaim found');
  return failed(report) ? EXIT.invalid : EXIT.ok;
}

function write(report: CheckReport, info: RunInfo, output: 'json' | 'sarif', io: Io): void {
  io.out(JSON.stringify(output === 'json' ? renderJson(report, info) : renderSarif(report, info), null, 2));
}

export function outputOption(choices: string[], defaultValue: string): Option {
  return new Option('-o, --output <format>', 'output format').choices(choices).default(defaultValue);
}

export function registerValidate(program: Command, io: Io = processIo): void {
  program
    .command('validate')
    .description('check claims offline: schema, CEL rules, guardrails, IAM limits and conflicts between claims; exit 1 if any is refused')
    .argument('[paths...]', 'claim files or directories ("-" for standard input); multi-document YAML is fine')
    .addOption(configOption())
    .addOption(namespaceOption())
    .option('-q, --quiet', 'print problems only (text output)')
    .addOption(outputOption(['text', 'json', 'sarif'], 'text'))
    .option('--config-only', 'check the platform configuration alone (no claims)')
    .action((paths: string[], options: { config: string; namespace: string; quiet?: boolean; output: OutputFormat; configOnly?: boolean }) => {
      process.exitCode = runValidate({ paths, ...options }, io);
    });
}
