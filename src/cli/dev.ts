// `awi dev` (what `npm run local` runs): the operator's main job on a local
// test bed. Starts a real kube-apiserver and the AWS fake, applies the example
// claims, and runs `awi controller` itself, the entry point a Deployment runs
// (probes, metrics, leader election), as a child process of this one.
//
// The test bed lives in the source checkout (testbed/local.ts), not in the
// image or the npm package: the module is found at run time, so that building
// src/ alone (the Dockerfile) still works, and an install without it says so.
// The controller child runs the image's artefact, the bundle (CONTROLLER_ENTRY,
// built by `npm run build`), with the image's Node flags.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { EXIT, type Io } from './io.js';
import { CONTROLLER_ENTRY, CONTROLLER_NODE_FLAGS } from './node-flags.js';

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
      const dist = distRoot();
      const bed = path.join(dist, 'testbed', 'local.js');
      if (!existsSync(bed)) {
        io.err(`awi dev: the local test bed is not part of this install (${bed} is missing); run it from a source checkout: npm run local\n`);
        process.exitCode = EXIT.usage;
        return;
      }
      const bundle = path.join(dist, '..', CONTROLLER_ENTRY);
      if (!existsSync(bundle)) {
        io.err(`awi dev: ${bundle}, the controller as the image runs it, is missing; build it first: npm run build\n`);
        process.exitCode = EXIT.usage;
        return;
      }
      const { runLocal } = (await import(pathToFileURL(bed).href)) as LocalBed;
      // The controller is what the image runs: `awi controller` from the bundle, on the same Node, with the image's Node flags.
      const awi = [process.execPath, ...CONTROLLER_NODE_FLAGS, bundle];
      process.exitCode = await runLocal({ keep: opts.keep ?? false, awi });
    });
}

/** dist/ of this install: this module is dist/src/cli/dev.js when compiled, or inside the bundle dist/awi.mjs. */
function distRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.basename(here) === 'cli' ? path.resolve(here, '..', '..') : here;
}
