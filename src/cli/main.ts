#!/usr/bin/env node
// Entry point of the `awi` binary (package.json "bin": dist/src/cli/main.js).

import './node-version.js'; // first: refuses an old Node before a dependency fails on it
import { CommanderError } from 'commander';
import { EXIT } from './io.js';
import { buildProgram } from './program.js';

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  if (!(err instanceof CommanderError)) throw err;
  // Help and version exit 0; usage errors (already printed) exit 2.
  process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
}
