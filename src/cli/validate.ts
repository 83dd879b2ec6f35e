// awi validate <files or dirs> --config <file>
// Checks every claim document as the API server and the controller would
// (schema, CEL rules, guardrails, IAM limits), offline. One line per problem;
// exit status 1 when any claim is refused, for GitOps pipelines.

import type { Command } from 'commander';
import { compileClaim } from '../compiler/compile.js';
import { formatProblem } from '../compiler/problems.js';
import { configOption, loadConfigOrReport, namespaceOption } from './config-option.js';
import { claimLabel, readClaims, withNamespace } from './documents.js';
import { EXIT, processIo, type Io } from './io.js';

export interface ValidateArgs {
  paths: string[];
  config: string;
  namespace?: string;
  quiet?: boolean;
}

export function runValidate(args: ValidateArgs, io: Io = processIo): number {
  const config = loadConfigOrReport(args.config, io);
  if (!config) return EXIT.usage;
  const { claims, skipped, errors } = readClaims(args.paths, io);
  let refused = 0;
  for (const error of errors) io.out(`${error.source}: ${error.message}`);
  for (const skip of skipped) if (!args.quiet) io.out(`${skip.source}: skipped: ${skip.reason}`);
  for (const { source, value } of claims) {
    const claim = withNamespace(value, args.namespace ?? 'default');
    const result = compileClaim(claim, config);
    const where = `${source} ${claimLabel(claim)}`;
    if (result.ok) {
      if (!args.quiet) io.out(`${where}: ok`);
    } else {
      refused++;
      for (const problem of result.problems) io.out(`${where}: ${formatProblem(problem)}`);
    }
  }
  const summary = `${claims.length} claim(s): ${claims.length - refused} valid, ${refused} refused; ${skipped.length} other document(s) skipped; ${errors.length} unreadable`;
  if (!args.quiet) io.out(summary);
  if (claims.length === 0 && errors.length === 0) io.err('no AwsWorkloadIdentityClaim found');
  return refused > 0 || errors.length > 0 ? EXIT.invalid : EXIT.ok;
}

export function registerValidate(program: Command, io: Io = processIo): void {
  program
    .command('validate')
    .description('check claims offline: schema, CEL rules, guardrails and IAM limits; exit 1 if any is refused')
    .argument('<paths...>', 'claim files or directories ("-" for standard input); multi-document YAML is fine')
    .addOption(configOption())
    .addOption(namespaceOption())
    .option('-q, --quiet', 'print problems only')
    .action((paths: string[], options: { config: string; namespace: string; quiet?: boolean }) => {
      process.exitCode = runValidate({ paths, ...options }, io);
    });
}
