// `npm run readme-sample`: runs `npm run local` (testbed/scripts/local.sh) and puts
// what it printed into README.md, between the local-run-sample markers, so
// the sample output in the README is a real run's and cannot go stale.
// Only the checkout's path is replaced (by /path/to/awi); everything else
// (ports, ages, ARNs) is as printed.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectRoot } from './harness/paths.js';

export const SAMPLE_START = '<!-- local-run-sample:start (npm run readme-sample writes this block) -->';
export const SAMPLE_END = '<!-- local-run-sample:end -->';

/** The README with the block between the markers replaced by `sample` in a fence; throws when the markers are missing or out of order. */
export function replaceSample(readme: string, sample: string): string {
  const start = readme.indexOf(SAMPLE_START);
  const end = readme.indexOf(SAMPLE_END);
  if (start < 0 || end < 0 || end < start || readme.indexOf(SAMPLE_START, start + 1) >= 0 || readme.indexOf(SAMPLE_END, end + 1) >= 0) {
    throw new Error(`README.md must hold exactly one "${SAMPLE_START}" followed by one "${SAMPLE_END}"`);
  }
  return `${readme.slice(0, start + SAMPLE_START.length)}\n\`\`\`\n${sample.trimEnd()}\n\`\`\`\n${readme.slice(end)}`;
}

/** What the local run printed, from its header line on, with the checkout's path made neutral. */
export function sampleOf(stdout: string, root: string): string {
  const from = stdout.indexOf('awi local run on Node');
  if (from < 0) throw new Error('the local run printed no header ("awi local run on Node ..."): did it start?');
  return stdout.slice(from).split(root).join('/path/to/awi');
}

function main(): void {
  const root = projectRoot;
  const run = spawnSync('bash', [path.join(root, 'testbed', 'scripts', 'local.sh')], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'inherit'] });
  if (run.status !== 0) {
    process.stdout.write(run.stdout ?? '');
    throw new Error(`npm run local failed (status ${run.status ?? run.signal}): README.md left as it was`);
  }
  const readmePath = path.join(root, 'README.md');
  writeFileSync(readmePath, replaceSample(readFileSync(readmePath, 'utf8'), sampleOf(run.stdout, root)));
  console.log(`README.md: local-run sample replaced (${sampleOf(run.stdout, root).trimEnd().split('\n').length} lines)`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
