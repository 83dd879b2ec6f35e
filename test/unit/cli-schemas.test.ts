// The JSON Schemas published for editors (schemas/*.json): generated from
// the same sources as the CRD, committed up to date, and agreeing with awi
// on the examples.

import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import YAML from 'yaml';
import { CLAIM_SCHEMA_FILE, CONFIG_SCHEMA_FILE, claimSchemaForEditors, configSchemaForEditors, renderSchema } from '../../src/cli/json-schemas.js';
import { EXAMPLE_CONFIG_FILE, exampleFile, INVALID_EXAMPLES, loadExample, VALID_EXAMPLES } from '../fixtures/claims.js';

// A validator that knows nothing of awi: plain draft-07, as an editor would read the files.
const ajv = new Ajv({ allErrors: true, strict: false });
ajv.addFormat('date-time', true).addFormat('int64', true);
const committed = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
const claimSchema = ajv.compile(committed(CLAIM_SCHEMA_FILE));
const configSchema = ajv.compile(committed(CONFIG_SCHEMA_FILE));

describe('published JSON Schemas', () => {
  it.each([
    [CLAIM_SCHEMA_FILE, claimSchemaForEditors],
    [CONFIG_SCHEMA_FILE, configSchemaForEditors],
  ])('%s is up to date (regenerate: npm run build && bash testbed/scripts/node.sh node dist/src/cli/generate-schemas.js)', (file, generate) => {
    expect(readFileSync(file, 'utf8')).toBe(renderSchema(generate()));
  });

  it('the valid examples match the claim schema', () => {
    for (const name of VALID_EXAMPLES) expect([name, claimSchema(loadExample(name)), claimSchema.errors]).toEqual([name, true, null]);
  });

  it('structural mistakes are caught in the editor: an unknown access level, an unknown field, a number for a string', () => {
    expect(claimSchema(loadExample('unknown-access'))).toBe(false);
    const claim = loadExample('checkout-api-s3-read') as unknown as Record<string, any>;
    expect(claimSchema({ ...claim, spec: { ...claim.spec, servceAccountName: 'x' } })).toBe(false);
    expect(claimSchema({ ...claim, spec: { ...claim.spec, aws: { ...claim.spec.aws, accountId: 111122223333 } } })).toBe(false);
    // "*" is no bucket name (the pattern); the other invalid examples break rules only awi validate checks (CEL, guardrails).
    expect(INVALID_EXAMPLES.filter((name) => !claimSchema(loadExample(name)))).toEqual(['wildcard-bucket', 'unknown-access']);
  });

  it('a generateName claim matches; a claim with neither name nor generateName does not', () => {
    const claim = loadExample('checkout-api-s3-read') as unknown as Record<string, any>;
    const { name: _name, ...metadata } = claim.metadata;
    expect(claimSchema({ ...claim, metadata: { ...metadata, generateName: 'checkout-' } })).toBe(true);
    expect(claimSchema({ ...claim, metadata })).toBe(false);
  });

  it('the example and shipped platform configurations match the config schema; a mistyped one does not', () => {
    for (const file of [EXAMPLE_CONFIG_FILE, 'deploy/platform-config.yaml']) {
      expect([file, configSchema(YAML.parse(readFileSync(file, 'utf8'))), configSchema.errors]).toEqual([file, true, null]);
    }
    expect(configSchema({ cluster: { name: 'c', accountId: 123, region: 'eu-west-1' } })).toBe(false);
    expect(configSchema({ cluster: { name: 'c', accountId: '111122223333', region: 'eu-west-1' }, guardrail: [] })).toBe(false);
  });

  it('docs/ci.md documents the yaml-language-server modeline with the published files', () => {
    const doc = readFileSync('docs/ci.md', 'utf8');
    expect(doc).toContain(`# yaml-language-server: $schema=`);
    for (const file of [CLAIM_SCHEMA_FILE, CONFIG_SCHEMA_FILE]) expect(doc).toContain(file);
  });
});
