// Writes the JSON Schemas for editors into schemas/. Run from the repository
// root after a build:
//   npm run build && bash testbed/scripts/node.sh node dist/src/cli/generate-schemas.js

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CLAIM_SCHEMA_FILE, CONFIG_SCHEMA_FILE, claimSchemaForEditors, configSchemaForEditors, renderSchema } from './json-schemas.js';

const root = process.cwd();
if (!existsSync(join(root, 'package.json'))) {
  console.error('run from the repository root');
  process.exit(1);
}
for (const [file, schema] of [
  [CLAIM_SCHEMA_FILE, claimSchemaForEditors()],
  [CONFIG_SCHEMA_FILE, configSchemaForEditors()],
] as const) {
  const path = join(root, file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, renderSchema(schema));
  console.log(`wrote ${file}`);
}
