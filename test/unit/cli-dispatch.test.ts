// The command line loads only the module of the command it runs: `awi
// controller`, the long-running process, must not hold the offline
// commands' modules, and the offline commands must not load the
// controller's (docs/memory.md). Checked on the built program in a fresh
// Node process that records every module it resolves.

import { beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { compileIfStale } from '../harness/built.js';

const PROGRAM = resolve('dist/src/cli/program.js');
const MAIN = resolve('dist/src/cli/main.js');

beforeAll(() => {
  compileIfStale(PROGRAM);
  expect(existsSync(PROGRAM)).toBe(true);
}, 180_000);

/** The awi modules (paths under dist/src/) resolved while loading the registrations for `firstArg`, and the commands registered. */
function loadedFor(firstArg: string | undefined): { modules: string[]; commands: string[] } {
  const script = `
import module from 'node:module';
const seen = new Set();
module.registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.add(r.url); return r; } });
const { buildProgram, loadSubcommands } = await import(${JSON.stringify(pathToFileURL(PROGRAM).href)});
const program = buildProgram({ out() {}, err() {} }, await loadSubcommands(${JSON.stringify(firstArg ?? null)} ?? undefined));
console.log(JSON.stringify({ modules: [...seen], commands: program.commands.map((c) => c.name()) }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  const out = JSON.parse(r.stdout) as { modules: string[]; commands: string[] };
  const src = pathToFileURL(resolve('dist/src')).href + '/';
  return { modules: out.modules.filter((u) => u.startsWith(src)).map((u) => u.slice(src.length)), commands: out.commands };
}

describe('command dispatch', () => {
  it('`awi controller` loads the controller command only, none of the offline commands\' modules', () => {
    const { modules, commands } = loadedFor('controller');
    expect(commands).toEqual(['controller']);
    expect(modules).toContain('cli/controller.js');
    for (const offline of ['cli/plan.js', 'cli/validate.js', 'cli/report.js', 'cli/sarif.js', 'cli/render.js', 'cli/inventory.js', 'cli/kube-yaml.js', 'cli/dev.js']) {
      expect(modules).not.toContain(offline);
    }
  });

  it('`awi validate` does not load the controller command', () => {
    const { modules, commands } = loadedFor('validate');
    expect(commands).toEqual(['validate']);
    expect(modules).not.toContain('cli/controller.js');
    expect(modules).not.toContain('cli/inventory.js');
  });

  it.each([[undefined], ['--help'], ['help'], ['--version'], ['no-such-command']])('%s registers every command (help and suggestions list them all)', (arg) => {
    expect(loadedFor(arg).commands).toEqual(['plan', 'validate', 'controller', 'inventory', 'dev']);
  });

  it('the binary still answers help for one command and suggests a command for a typo', () => {
    const help = spawnSync(process.execPath, [MAIN, 'controller', '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--probe-port');
    const typo = spawnSync(process.execPath, [MAIN, 'controler'], { encoding: 'utf8' });
    expect(typo.status).toBe(2);
    expect(typo.stderr).toContain('controller');
  });
});
