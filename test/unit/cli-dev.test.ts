// `awi dev` (what `npm run local` runs): registered in the product's CLI, and
// outside a source checkout (the image ships only the bundle) it says so
// instead of failing on a missing module; without the bundle its controller
// child runs (the image's artefact), it says to build it. The run itself starts a control
// plane: `npm run local` and `npm run readme-sample` exercise it.
import { beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { CONTROLLER_ENTRY } from '../../src/cli/node-flags.js';
import { join, resolve } from 'node:path';

const BIN = resolve('dist/src/cli/main.js');

beforeAll(() => {
  if (!existsSync(BIN)) spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'ignore' });
  expect(existsSync(BIN)).toBe(true);
}, 180_000);

describe('awi dev', () => {
  it('is a subcommand of the awi binary, with --keep', () => {
    const help = spawnSync(process.execPath, [BIN, 'dev', '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--keep');
    expect(help.stdout).toMatch(/source checkout only/);
  });

  it('without the test bed (an install of dist/src alone, as in the image) exits 2 naming the missing file and npm run local', () => {
    // Under the checkout, so that the copy still resolves node_modules.
    mkdirSync(resolve('.cache/tmp'), { recursive: true });
    const install = mkdtempSync(join(resolve('.cache/tmp'), 'awi-dev-'));
    cpSync(resolve('dist/src'), join(install, 'dist', 'src'), { recursive: true });
    cpSync(resolve('package.json'), join(install, 'package.json'));
    const run = spawnSync(process.execPath, [join(install, 'dist', 'src', 'cli', 'main.js'), 'dev'], { encoding: 'utf8' });
    rmSync(install, { recursive: true, force: true });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(join(install, 'dist', 'testbed', 'local.js'));
    expect(run.stderr).toContain('npm run local');
  });

  it('with the test bed but without the bundle the controller runs (CONTROLLER_ENTRY) exits 2 naming it and npm run build', () => {
    mkdirSync(resolve('.cache/tmp'), { recursive: true });
    const install = mkdtempSync(join(resolve('.cache/tmp'), 'awi-dev-'));
    cpSync(resolve('dist/src'), join(install, 'dist', 'src'), { recursive: true });
    cpSync(resolve('package.json'), join(install, 'package.json'));
    mkdirSync(join(install, 'dist', 'testbed'), { recursive: true });
    writeFileSync(join(install, 'dist', 'testbed', 'local.js'), 'throw new Error("awi dev must not load the test bed without the bundle");\n');
    const run = spawnSync(process.execPath, [join(install, 'dist', 'src', 'cli', 'main.js'), 'dev'], { encoding: 'utf8' });
    rmSync(install, { recursive: true, force: true });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(join(install, CONTROLLER_ENTRY));
    expect(run.stderr).toContain('npm run build');
  });
});
