// Startup cost of the offline commands: user + system CPU of the built `awi`
// binary validating one claim file (and planning it, and printing its
// version), the median of a few runs. A benchmark, not a test: the machine's
// load moves the figures, so nothing here fails on a threshold.
//
//   npm run build && bash testbed/scripts/node.sh node dist/bench/cli-startup.js [--runs 7] [--node /path/to/node]
//
// CPU is measured outside the process, by the shell's `times` (the rusage of
// its reaped children), so that it includes Node's own start-up and module
// loading, as a CI job pays them.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const TARGET_SECONDS = 0.3;

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '7' },
    node: { type: 'string', default: process.execPath },
  },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) {
  console.error('--runs must be a positive integer');
  process.exit(2);
}

const bin = resolve((JSON.parse(readFileSync('package.json', 'utf8')) as { bin: { awi: string } }).bin.awi);
if (!existsSync(bin)) {
  console.error(`${bin} is missing: run npm run build first`);
  process.exit(2);
}
const claim = 'deploy/examples/checkout-api-s3-read.yaml';
const config = 'deploy/examples/platform-config.yaml';

/** CPU seconds (user, system) of one run of `node <bin> ...args`. */
function cpuOf(args: string[]): { user: number; sys: number; status: number } {
  const env: NodeJS.ProcessEnv = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  delete env.AWI_CONFIG;
  // `times` prints the shell's own times, then its children's: "0m0.321s 0m0.045s".
  const script = '"$@" >/dev/null 2>&1; status=$?; times; exit $status';
  const out = spawnSync('bash', ['-c', script, 'bash', values.node!, bin, ...args], { encoding: 'utf8', env });
  const children = out.stdout.trim().split('\n')[1] ?? '';
  const [user, sys] = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  if (user === undefined || sys === undefined) throw new Error(`cannot read the times of ${args.join(' ')}: ${out.stdout} ${out.stderr}`);
  return { user, sys, status: out.status ?? -1 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const cases: [string, string[], number][] = [
  ['awi validate <one claim>', ['validate', claim, '--config', config], 0],
  ['awi plan <one claim>', ['plan', claim, '--config', config], 0],
  ['awi --version', ['--version'], 0],
];

const node = spawnSync(values.node!, ['--version'], { encoding: 'utf8' }).stdout.trim();
console.log(`node ${node}, ${runs} runs each (after one warm-up), load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
for (const [label, args, expected] of cases) {
  cpuOf(args); // warm-up: file cache, Node's compile cache when enabled
  const samples = Array.from({ length: runs }, () => cpuOf(args));
  const bad = samples.find((s) => s.status !== expected);
  if (bad) {
    console.error(`${label}: exit status ${bad.status}, expected ${expected}`);
    process.exit(1);
  }
  const totals = samples.map((s) => s.user + s.sys);
  const m = median(totals);
  console.log(
    `${label.padEnd(28)} user+sys median ${m.toFixed(3)} s (user ${median(samples.map((s) => s.user)).toFixed(3)}, sys ${median(samples.map((s) => s.sys)).toFixed(3)}; min ${Math.min(...totals).toFixed(3)}, max ${Math.max(...totals).toFixed(3)})` +
      (label.startsWith('awi validate') ? `  target < ${TARGET_SECONDS} s: ${m < TARGET_SECONDS ? 'met' : 'NOT met'}` : ''),
  );
}
