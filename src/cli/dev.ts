// `awi dev` (what `npm run local` runs): the operator's main job on a local
// test bed. Starts a real kube-apiserver and the AWS fake, applies the example
// claims, and runs `awi controller` itself, the entry point a Deployment runs
// (probes, metrics, leader election), as a child process of this one.
//
// The test bed lives in the source checkout (testbed/local.ts), not in the
// image or the npm package: the module is found at run time, so that building
// src/ alone (the Dockerfile) still works, and an install without it says so.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { EXIT, type Io } from './io.js';
import { CONTROLLER_NODE_FLAGS } from './node-flags.js';

/** What testbed/local.ts exports. */
export interface LocalBed {
  runLocal(o: { keep: boolean; awi: string[] }): Promise<number>;
}

export function registerDev(program: Command, io: Io): void {
  program
    .command('dev')
    .description('run awi on a local test bed (source checkout only): kube-apiserver + AWS fake + the example claims, reconciled by `awi controller` with its probes and metrics')
    .option('--keep', 'leave the control plane, the AWS fake and the controller running until Ctrl-C')
    .action(async (opts: { keep?: boolean }) => {
      const bed = new URL('../../testbed/local.js', import.meta.url);
      if (!existsSync(fileURLToPath(bed))) {
        io.err(`awi dev: the local test bed is not part of this install (${fileURLToPath(bed)} is missing); run it from a source checkout: npm run local\n`);
        process.exitCode = EXIT.usage;
        return;
      }
      const { runLocal } = (await import(bed.href)) as LocalBed;
      // The controller is this very binary: `awi controller`, on the same Node, with the image's Node flags.
      const awi = [process.execPath, ...CONTROLLER_NODE_FLAGS, fileURLToPath(new URL('./main.js', import.meta.url))];
      process.exitCode = await runLocal({ keep: opts.keep ?? false, awi });
    });
}
