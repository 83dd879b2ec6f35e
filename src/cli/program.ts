// The awi command line. Each subcommand registers itself from its own module;
// add new ones to COMMANDS. A run loads only the module of the command it
// runs (main.ts: `loadSubcommands(argv[2])`), so that `awi controller`, the
// process a Deployment keeps running, does not hold the offline commands'
// modules (reports, SARIF, YAML locations, inventory) in memory
// (bench/memory.ts), and `awi validate` does not load the controller's.
// Registering must stay cheap too: a module that needs the AWS SDK or the
// Kubernetes client imports it in its action (`await import(...)`), so that
// the offline commands start fast (bench/cli-startup.ts).

import { Command } from 'commander';
import { processIo, type Io } from './io.js';
import { awiVersion } from './version.js';

export type RegisterSubcommand = (program: Command, io: Io) => void;

/** Each command's name and how to load its registration, in the order help lists them. */
export const COMMANDS: ReadonlyArray<readonly [name: string, load: () => Promise<RegisterSubcommand>]> = [
  ['plan', async () => (await import('./plan.js')).registerPlan],
  ['validate', async () => (await import('./validate.js')).registerValidate],
  ['controller', async () => (await import('./controller.js')).registerController],
  ['inventory', async () => (await import('./inventory.js')).registerInventory],
  ['dev', async () => (await import('./dev.js')).registerDev],
];

/**
 * The registrations a command line needs: only its command's when the first
 * argument names one; all of them otherwise (no argument, `--help`, `help`,
 * `--version`, an unknown command: help and "did you mean" list every command).
 */
export async function loadSubcommands(firstArg?: string): Promise<RegisterSubcommand[]> {
  const one = COMMANDS.find(([name]) => name === firstArg);
  return Promise.all((one ? [one] : COMMANDS).map(([, load]) => load()));
}

export function buildProgram(io: Io, subcommands: RegisterSubcommand[]): Command {
  const program = new Command('awi')
    .description('AWS workload identity operator: claims in, least-privilege IAM roles and bindings out')
    .version(awiVersion(), '-V, --version', 'print the version of awi')
    .showHelpAfterError()
    .exitOverride() // errors are thrown (CommanderError), not process.exit: main.ts decides the status
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  for (const register of subcommands) register(program, io);
  return program;
}

/** The whole program, every command registered (tests, and anything that wants the full help). */
export async function buildFullProgram(io: Io = processIo): Promise<Command> {
  return buildProgram(io, await loadSubcommands());
}
