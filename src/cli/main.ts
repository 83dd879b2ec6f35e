#!/usr/bin/env node
// Entry point of the `awi` binary (package.json "bin": dist/src/cli/main.js).
//
// Node's compile cache keeps the compiled bytecode of the modules between
// runs, which cuts the start-up of the offline commands in CI
// (bench/cli-startup.ts); it is enabled before the program is imported,
// hence the dynamic imports.

import './node-version.js'; // first: refuses an old Node before a dependency fails on it
import module from 'node:module';

module.enableCompileCache?.();

const [{ CommanderError }, { EXIT, processIo }, { buildProgram, loadSubcommands }] = await Promise.all([import('commander'), import('./io.js'), import('./program.js')]);

try {
  // Only the module of the command being run is loaded (program.ts).
  await buildProgram(processIo, await loadSubcommands(process.argv[2])).parseAsync(process.argv);
} catch (err) {
  if (!(err instanceof CommanderError)) throw err;
  // Help and version exit 0; usage errors (already printed) exit 2.
  process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
}
