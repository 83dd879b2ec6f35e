// `awi --version`: the version in package.json, found next to the bundle
// (dist/awi.mjs, what the image runs), the compiled (dist/src/cli) or the
// source (src/cli) file.

import { readFileSync } from 'node:fs';

export function awiVersion(): string {
  for (const up of ['../package.json', '../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'awi' && pkg.version) return pkg.version;
    } catch {
      // not here: try one level up
    }
  }
  return 'unknown';
}
