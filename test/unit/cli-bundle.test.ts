// The bundle the image runs (package.json "bundle": esbuild writes
// CONTROLLER_ENTRY): built from the sources by the very script the Dockerfile
// runs, copied where no node_modules can be found (as in the image, which has
// none), and run as a real process. A dependency the bundler could not inline,
// or a module that reads a file next to itself, fails here instead of in the
// image.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CONTROLLER_ENTRY } from '../../src/cli/node-flags.js';
import { EXAMPLE_CONFIG_FILE, exampleFile, INVALID_EXAMPLES } from '../fixtures/claims.js';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string; scripts: Record<string, string> };
let install: string;
let bundle: string;

function awi(...args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_PATH: '' };
  delete env.AWI_CONFIG;
  return spawnSync(process.execPath, [bundle, ...args], { encoding: 'utf8', env, cwd: install });
}

beforeAll(() => {
  // The bundle script with its output redirected: the checkout's dist/ is left alone.
  install = mkdtempSync(join(tmpdir(), 'awi-bundle-'));
  const script = pkg.scripts.bundle!.replace(`--outfile=${CONTROLLER_ENTRY}`, `--outfile=${join(install, 'build.mjs')}`);
  const [, ...args] = script.match(/"[^"]*"|\S+/g)!.map((a) => a.replace(/^"(.*)"$/, '$1'));
  execFileSync(resolve('node_modules/.bin/esbuild'), args, { stdio: 'pipe' });
  // The image's layout: /app/package.json and /app/dist/awi.mjs, no node_modules anywhere above.
  bundle = join(install, CONTROLLER_ENTRY);
  mkdirSync(join(bundle, '..'), { recursive: true });
  copyFileSync(join(install, 'build.mjs'), bundle);
  rmSync(join(install, 'build.mjs'));
  copyFileSync('package.json', join(install, 'package.json'));
}, 120_000);

afterAll(() => rmSync(install, { recursive: true, force: true }));

describe('the bundle the image runs', () => {
  it('prints the version from the package.json next to dist/', () => {
    const result = awi('--version');
    expect([result.status, result.stdout.trim(), result.stderr]).toEqual([0, pkg.version, '']);
  });

  it('validates claims without node_modules: the valid one passes, the invalid ones are refused naming field and rule', () => {
    expect(awi('validate', exampleFile('checkout-api-s3-read'), '-c', EXAMPLE_CONFIG_FILE).status).toBe(0);
    const refused = awi('validate', ...INVALID_EXAMPLES.map(exampleFile), '--config', EXAMPLE_CONFIG_FILE);
    expect(refused.status).toBe(1);
    expect(refused.stdout).toMatch(/spec\.serviceAccountName: sa-not-default: /);
  });

  it('loads the controller command with its Kubernetes and AWS clients: a missing kubeconfig is a clean error, not a missing module', () => {
    const result = awi('controller', '--config', EXAMPLE_CONFIG_FILE, '--kubeconfig', join(install, 'no-such-kubeconfig'), '--probe-port', '0', '--no-leader-elect');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^awi controller: cannot load the kubeconfig \S+no-such-kubeconfig: ENOENT/);
    expect(result.stderr).not.toMatch(/Cannot find (module|package)|Dynamic require/);
  });
});
