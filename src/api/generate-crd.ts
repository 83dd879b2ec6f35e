// Writes the generated files: the CRD in crds/ and the claim types.
// Run from the repository root after a build:
//   npm run build && node dist/src/api/generate-crd.js

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CRD_FILE, renderCrdYaml } from './crd.js';
import { TYPES_FILE, renderTypes } from './typegen.js';

const root = process.cwd();
if (!existsSync(join(root, 'crds')) && !existsSync(join(root, 'package.json'))) {
  console.error('run from the repository root');
  process.exit(1);
}
for (const [file, content] of [
  [CRD_FILE, renderCrdYaml()],
  [TYPES_FILE, renderTypes()],
] as const) {
  const path = join(root, file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  console.log(`wrote ${file}`);
}
