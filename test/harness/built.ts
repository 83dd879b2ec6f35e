// Tests that run the built program (dist/) compile the tree first when the
// file they run is missing or older than any source file, so a stale dist/
// cannot pass or fail them.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Runs tsc when `file` is missing or older than src/. Type errors elsewhere in
 * the tree do not stop tsc from emitting; the caller checks that `file` exists.
 */
export function compileIfStale(file: string): void {
  if (!existsSync(file) || statSync(file).mtimeMs < newestSource('src')) {
    spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'ignore' });
  }
}
