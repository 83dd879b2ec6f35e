#!/usr/bin/env node
// Entry point of the `awi` binary (package.json "bin": dist/src/cli/main.js).
//
// Node's compile cache (Node 22.1+; a no-op before) keeps the compiled
// bytecode of the modules between runs, which cuts the start-up of the
// offline commands in CI; it is enabled before anything else is imported,
// hence the dynamic import of the program.

import module from 'node:module';

(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();

const [{ CommanderError }, { EXIT }, { buildProgram }] = await Promise.all([import('commander'), import('./io.js'), import('./program.js')]);

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  if (!(err instanceof CommanderError)) throw err;
  // Help and version exit 0; usage errors (already printed) exit 2.
  process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
}
