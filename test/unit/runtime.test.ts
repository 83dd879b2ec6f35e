// The Node.js runtime: the tests run on the line the image ships, which
// testbed/scripts/node.sh pins, and package.json agrees with it.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { projectRoot } from '../../testbed/harness/paths.js';

const nodeSh = readFileSync(path.join(projectRoot, 'testbed', 'scripts', 'node.sh'), 'utf8');
const pinned = /^awi_node_version=(\d+)\.(\d+)\.(\d+)$/m.exec(nodeSh);
const pkg = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as {
  engines: { node: string };
  devDependencies: Record<string, string>;
};
const major = (v: string): number => Number(/\d+/.exec(v)?.[0]);

describe('the Node.js runtime', () => {
  it('node.sh pins one exact release', () => {
    expect(pinned).not.toBeNull();
  });

  it('package.json engines and @types/node follow the pinned line', () => {
    const [, maj, min] = pinned!.map(Number);
    const floor = /^>=(\d+)(?:\.(\d+))?/.exec(pkg.engines.node);
    expect(floor).not.toBeNull();
    expect(Number(floor![1])).toBe(maj);
    expect(Number(floor![2] ?? 0)).toBeLessThanOrEqual(min!);
    expect(major(pkg.devDependencies['@types/node']!)).toBe(maj);
  });

  it('this suite runs on that line (npm test and npm run jest go through node.sh)', () => {
    expect(major(process.versions.node)).toBe(Number(pinned![1]));
  });

  it('node.sh as a command runs its arguments on that line', () => {
    const out = spawnSync('bash', [path.join(projectRoot, 'testbed', 'scripts', 'node.sh'), 'node', '-p', 'process.versions.node'], { encoding: 'utf8' });
    expect(out.status).toBe(0);
    expect(major(out.stdout)).toBe(Number(pinned![1]));
  });

  it('the awi CLI refuses an older Node with a message saying so, before any dependency fails on it', () => {
    const cli = path.join(projectRoot, 'dist', 'src', 'cli', 'main.js');
    // The same Node binary, reporting an older version to the code it runs.
    const older = 'data:text/javascript,Object.defineProperty(process.versions,"node",{value:"20.20.2"})';
    const refused = spawnSync(process.execPath, ['--import', older, cli, 'validate', '--help'], { encoding: 'utf8' });
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('awi: Node.js 24 or newer is required, this is v20.20.2');
    expect(refused.stdout).toBe('');
    const ok = spawnSync(process.execPath, [cli, 'validate', '--help'], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stderr).toBe('');
  });
});
