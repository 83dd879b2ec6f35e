// awi plan <files or dirs> --config <file> [--output yaml|json]
// Prints the complete desired state of every claim (role, policies, trust,
// binding, ServiceAccount) without a cluster or AWS. Claims that cannot be
// compiled are reported on standard error and make the exit status 1.

import { Option, type Command } from 'commander';
import YAML from 'yaml';
import { compileClaim } from '../compiler/compile.js';
import { formatProblem } from '../compiler/problems.js';
import type { DesiredState } from '../compiler/types.js';
import { configOption, loadConfigOrReport, namespaceOption } from './config-option.js';
import { claimLabel, readClaims, withNamespace } from './documents.js';
import { EXIT, processIo, type Io } from './io.js';

export interface PlanArgs {
  paths: string[];
  config: string;
  output?: 'yaml' | 'json';
  namespace?: string;
}

export function runPlan(args: PlanArgs, io: Io = processIo): number {
  const config = loadConfigOrReport(args.config, io);
  if (!config) return EXIT.usage;
  const { claims, skipped, errors } = readClaims(args.paths, io);
  for (const error of errors) io.err(`${error.source}: ${error.message}`);
  for (const skip of skipped) io.err(`${skip.source}: skipped: ${skip.reason}`);

  const planned: { source: string; desired: DesiredState }[] = [];
  let refused = 0;
  for (const { source, value } of claims) {
    const claim = withNamespace(value, args.namespace ?? 'default');
    const result = compileClaim(claim, config);
    if (result.ok) planned.push({ source, desired: result.desired });
    else {
      refused++;
      for (const problem of result.problems) io.err(`${source} ${claimLabel(claim)}: ${formatProblem(problem)}`);
    }
  }

  // YAML 1.1 quoting, so that readers such as kubectl's keep "2012-10-17" a string.
  if (args.output === 'json') {
    io.out(JSON.stringify(planned.map((p) => p.desired), null, 2));
  } else {
    for (const { source, desired } of planned) {
      io.out(`# ${source}\n---\n${YAML.stringify(desired, { lineWidth: 0, version: '1.1', aliasDuplicateObjects: false })}`);
    }
  }
  if (claims.length === 0 && errors.length === 0) io.err('no AwsWorkloadIdentityClaim found');
  return refused > 0 || errors.length > 0 ? EXIT.invalid : EXIT.ok;
}

export function registerPlan(program: Command, io: Io = processIo): void {
  program
    .command('plan')
    .description('print the desired state (IAM role, policies, trust, binding, ServiceAccount) each claim compiles to')
    .argument('<paths...>', 'claim files or directories ("-" for standard input)')
    .addOption(configOption())
    .addOption(namespaceOption())
    .addOption(new Option('-o, --output <format>', 'output format').choices(['yaml', 'json']).default('yaml'))
    .action((paths: string[], options: { config: string; namespace: string; output: 'yaml' | 'json' }) => {
      process.exitCode = runPlan({ paths, ...options }, io);
    });
}
