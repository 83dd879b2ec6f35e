// JSON Schemas for editors (yaml-language-server, VS Code, IntelliJ) and for
// other validators, generated from the same sources as the CRD: the claim
// from src/api/schema.ts (through the JSON Schema `awi validate` itself
// uses), the platform configuration from src/config/schema.ts. Published in
// schemas/; test/unit/cli-schemas.test.ts fails when they are stale.
// Regenerate: npm run build && bash testbed/scripts/node.sh node dist/src/cli/generate-schemas.js

import { claimJsonSchema } from '../api/crd.js';
import { API_VERSION, KIND } from '../ownership.js';
import { platformConfigSchema } from '../config/schema.js';

export const CLAIM_SCHEMA_FILE = 'schemas/awsworkloadidentityclaim.schema.json';
export const CONFIG_SCHEMA_FILE = 'schemas/platform-config.schema.json';

const DRAFT_07 = 'http://json-schema.org/draft-07/schema#';

export function claimSchemaForEditors(): Record<string, unknown> {
  const schema = withoutAwiAnnotations(claimJsonSchema()) as Record<string, unknown> & { properties: Record<string, Record<string, unknown>> };
  // As the API server takes it: a name, or a generateName it completes; labels and annotations as usual.
  const metadata = schema.properties.metadata as { properties: Record<string, unknown>; required?: string[] };
  delete metadata.required;
  schema.properties.metadata = {
    ...metadata,
    description: 'Standard object metadata. A name, or a generateName the API server completes.',
    properties: {
      ...metadata.properties,
      generateName: { type: 'string', minLength: 1, maxLength: 253, description: 'Prefix the API server completes with 5 random characters into a name.' },
      labels: { type: 'object', additionalProperties: { type: 'string' } },
      annotations: { type: 'object', additionalProperties: { type: 'string' } },
    },
    anyOf: [{ required: ['name'] }, { required: ['generateName'] }],
  };
  return {
    $schema: DRAFT_07,
    title: `${KIND} (${API_VERSION})`,
    ...schema,
    description: `${String(schema.description ?? '')} This schema checks structure only, as the CRD does without its CEL rules; \`awi validate\` also checks the CEL rules, the platform guardrails, the IAM limits and conflicts between claims.`.trim(),
  };
}

export function configSchemaForEditors(): Record<string, unknown> {
  return {
    $schema: DRAFT_07,
    title: 'awi platform configuration',
    ...(withoutAwiAnnotations(platformConfigSchema) as Record<string, unknown>),
    description: 'The platform configuration the awi controller reads (its ConfigMap). `awi validate --config-only --config <file>` checks it as the controller does, semantic checks included.',
  };
}

export function renderSchema(schema: Record<string, unknown>): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}

/** `x-awi` carries rule ids and messages for awi's own error translation; editors have no use for it. */
function withoutAwiAnnotations(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutAwiAnnotations);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => key !== 'x-awi')
      .map(([key, v]) => [key, withoutAwiAnnotations(v)]),
  );
}
