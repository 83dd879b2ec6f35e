// Writes the generated files: the CRD in crds/, the claim types and the
// standalone validators of the claim and the platform configuration.
// Run from the repository root after a build:
//   npm run build && node dist/src/api/generate-crd.js

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CRD_FILE, renderCrdYaml } from './crd.js';
import { TYPES_FILE, renderTypes } from './typegen.js';
import { VALIDATOR_SOURCES, renderValidator } from './ajv-compile.js';

const root = process.cwd();
if (!existsSync(join(root, 'crds')) && !existsSync(join(root, 'package.json'))) {
  console.error('run from the repository root');
  process.exit(1);
}
for (const [file, content] of [
  [CRD_FILE, renderCrdYaml()],
  [TYPES_FILE, renderTypes()],
  ...VALIDATOR_SOURCES.map((v) => [v.file, renderValidator(v)] as const),
] as const) {
  const path = join(root, file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  console.log(`wrote ${file}`);
}
