// The awi command line. Each subcommand registers itself from its own module;
// add new ones to SUBCOMMANDS. Registering must stay cheap: a module that
// needs the AWS SDK or the Kubernetes client imports it in its action
// (`await import(...)`), so that the offline commands start fast
// (bench/cli-startup.mjs).

import { Command } from 'commander';
import { processIo, type Io } from './io.js';
import { registerController } from './controller.js';
import { registerDev } from './dev.js';
import { registerInventory } from './inventory.js';
import { registerPlan } from './plan.js';
import { registerValidate } from './validate.js';
import { awiVersion } from './version.js';

export type RegisterSubcommand = (program: Command, io: Io) => void;

export const SUBCOMMANDS: RegisterSubcommand[] = [registerPlan, registerValidate, registerController, registerInventory, registerDev];

export function buildProgram(io: Io = processIo, subcommands: RegisterSubcommand[] = SUBCOMMANDS): Command {
  const program = new Command('awi')
    .description('AWS workload identity operator: claims in, least-privilege IAM roles and bindings out')
    .version(awiVersion(), '-V, --version', 'print the version of awi')
    .showHelpAfterError()
    .exitOverride() // errors are thrown (CommanderError), not process.exit: main.ts decides the status
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  for (const register of subcommands) register(program, io);
  return program;
}
