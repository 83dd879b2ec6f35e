// `--output sarif` (issue 12): valid SARIF 2.1.0, checked against the SARIF
// 2.1.0 JSON Schema (vendored in test/fixtures/sarif, see its README), with
// file, line and rule for each finding; and the JSON report's positions.

import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Ajv } from 'ajv';
import { runPlan } from '../../src/cli/plan.js';
import { runValidate } from '../../src/cli/validate.js';
import { EXAMPLES_DIR, exampleConfigFileWith, exampleFile, INVALID_EXAMPLES } from '../fixtures/claims.js';
import { captureIo } from '../fixtures/io.js';

// The example config, with namespace team-a governed too (its tenant patterns: queues named team-a_*).
const config = exampleConfigFileWith((raw) => raw.guardrails[0].namespaces.push('team-a'));

function sarifValidator() {
  const schema = JSON.parse(readFileSync('test/fixtures/sarif/sarif-2.1.0-rtm.5.json', 'utf8')) as Record<string, unknown>;
  // Declared draft-04; read as draft-07 (ajv's default), which for this schema only renames `id` to `$id`.
  const { id, $schema: _draft04, ...rest } = schema;
  // unicodeRegExp off: the schema's language pattern (`...[a-zA-Z]{2}]?$`) is valid only without the u flag.
  const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
  const isUri = (s: string) => URL.canParse(s);
  ajv.addFormat('uri', isUri);
  ajv.addFormat('uri-reference', (s: string) => !/\s/.test(s) && URL.canParse(s, 'file:///base/'));
  ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
  return ajv.compile({ ...rest, $id: id as string });
}

const validateSarif = sarifValidator();

function expectValidSarif(log: unknown): void {
  const ok = validateSarif(log);
  expect(validateSarif.errors ?? []).toEqual([]);
  expect(ok).toBe(true);
}

interface SarifResult {
  ruleId: string;
  level: string;
  message: { text: string };
  locations: { physicalLocation: { artifactLocation: { uri: string; uriBaseId?: string }; region: { startLine: number; startColumn?: number } } }[];
  relatedLocations?: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }[];
}

function resultsOf(log: { runs: { results: SarifResult[] }[] }): SarifResult[] {
  return log.runs[0]!.results;
}

/** 1-based line of the first line of `file` (not a comment) containing `needle`. */
function lineOf(file: string, needle: string): number {
  return readFileSync(file, 'utf8').split('\n').findIndex((l) => !l.trimStart().startsWith('#') && l.includes(needle)) + 1;
}

/** Outside the working directory: SARIF uris are then absolute file: URIs (the examples test the relative ones). */
function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'awi-sarif-'));
}

/** Two claims whose roles collide under {cluster}-{namespace}-{serviceAccount}: team-a-prod + api, team-a + prod-api. */
function collidingClaims(dir: string): [string, string] {
  const claim = (namespace: string, sa: string) =>
    [
      'apiVersion: awi.dev/v1alpha1',
      'kind: AwsWorkloadIdentityClaim',
      'metadata:',
      `  name: ${sa}-claim`,
      `  namespace: ${namespace}`,
      'spec:',
      `  serviceAccountName: ${sa}`,
      '  owner: team-a',
      '  environment: prod',
      '  aws: { accountId: "111122223333", region: ap-southeast-1 }',
      '  permissions:',
      `    sqs: [{ queue: ${namespace}_events, access: [send] }]`,
      '',
    ].join('\n');
  const a = join(dir, 'team-a-prod.yaml');
  const b = join(dir, 'team-a.yaml');
  writeFileSync(a, claim('team-a-prod', 'api'));
  writeFileSync(b, claim('team-a', 'prod-api'));
  return [a, b];
}

describe('awi validate --output sarif', () => {
  it('on the examples: valid SARIF 2.1.0, one result per problem with the file, line and rule', () => {
    const io = captureIo();
    expect(runValidate({ paths: [EXAMPLES_DIR], config, output: 'sarif' }, io)).toBe(1);
    const log = JSON.parse(io.stdout.join('\n'));
    expectValidSarif(log);
    expect(log.version).toBe('2.1.0');
    const results = resultsOf(log);
    expect(results.map((r) => r.ruleId).sort()).toEqual(['account-allowed', 'bucket-not-pattern', 'sa-not-default', 'sqs-access']);
    const needles: Record<(typeof INVALID_EXAMPLES)[number], [string, string]> = {
      'default-service-account': ['sa-not-default', 'serviceAccountName:'],
      'wildcard-bucket': ['bucket-not-pattern', 'bucket:'],
      'unknown-access': ['sqs-access', 'admin'],
      'account-not-allowed': ['account-allowed', 'accountId:'],
    };
    for (const name of INVALID_EXAMPLES) {
      const [rule, needle] = needles[name];
      const result = results.find((r) => r.ruleId === rule)!;
      const { artifactLocation, region } = result.locations[0]!.physicalLocation;
      expect(artifactLocation).toEqual({ uri: relative(process.cwd(), exampleFile(name)), uriBaseId: 'SRCROOT' });
      expect(region.startLine).toBe(lineOf(exampleFile(name), needle));
      expect(result.level).toBe('error');
      expect(result.message.text).toMatch(/^checkout-prod\//);
    }
    const rules = log.runs[0].tool.driver.rules as { id: string }[];
    expect(rules.map((r) => r.id).sort()).toEqual(['account-allowed', 'bucket-not-pattern', 'sa-not-default', 'sqs-access']);
  });

  it('on two colliding claims: valid SARIF with a role-name-collision result on each, pointing at the other', () => {
    const [a, b] = collidingClaims(tempDir());
    const io = captureIo();
    expect(runValidate({ paths: [a, b], config, output: 'sarif' }, io)).toBe(1);
    const log = JSON.parse(io.stdout.join('\n'));
    expectValidSarif(log);
    const results = resultsOf(log);
    expect(results.map((r) => [r.ruleId, r.locations[0]!.physicalLocation.artifactLocation.uri, r.locations[0]!.physicalLocation.region.startLine])).toEqual([
      ['role-name-collision', pathToFileURL(a).href, 7],
      ['role-name-collision', pathToFileURL(b).href, 7],
    ]);
    expect(results[0]!.relatedLocations![0]!.physicalLocation.artifactLocation.uri).toBe(pathToFileURL(b).href);
    expect(results[1]!.relatedLocations![0]!.physicalLocation.artifactLocation.uri).toBe(pathToFileURL(a).href);
    expect(results[0]!.message.text).toContain('role name "prod-platform-a-team-a-prod-api" in account 111122223333 is also the role of team-a/prod-api-claim');
  });

  it('parse failures and unreadable files are results too, and the log stays valid', () => {
    const dir = tempDir();
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'kind: AwsWorkloadIdentityClaim\nspec: [\n');
    const io = captureIo();
    expect(runValidate({ paths: [broken, join(dir, 'missing.yaml')], config, output: 'sarif' }, io)).toBe(1);
    const log = JSON.parse(io.stdout.join('\n'));
    expectValidSarif(log);
    expect(resultsOf(log).map((r) => r.ruleId)).toEqual(['readable', 'yaml-syntax']);
  });

  it('a claim from standard input has no file to point at: a logical location only, still valid', () => {
    const io = captureIo(readFileSync(exampleFile('wildcard-bucket'), 'utf8'));
    expect(runValidate({ paths: ['-'], config, output: 'sarif' }, io)).toBe(1);
    const log = JSON.parse(io.stdout.join('\n'));
    expectValidSarif(log);
    expect(log.runs[0].results[0].locations).toEqual([{ logicalLocations: [{ fullyQualifiedName: 'checkout-prod/any-bucket:spec.permissions.s3[0].bucket', kind: 'object' }] }]);
  });

  it('a clean run is a valid log with no results', () => {
    const io = captureIo();
    expect(runValidate({ paths: [exampleFile('billing-worker-sqs')], config, output: 'sarif' }, io)).toBe(0);
    const log = JSON.parse(io.stdout.join('\n'));
    expectValidSarif(log);
    expect(resultsOf(log)).toEqual([]);
    expect(log.runs[0].properties.summary).toEqual({ claims: 1, valid: 1, refused: 0, skipped: 0, unreadable: 0 });
  });

  it('the check catches a broken log (the schema is really applied)', () => {
    const io = captureIo();
    runValidate({ paths: [exampleFile('wildcard-bucket')], config, output: 'sarif' }, io);
    const log = JSON.parse(io.stdout.join('\n'));
    delete log.runs[0].results[0].message;
    expect(validateSarif(log)).toBe(false);
  });
});

describe('awi plan --output sarif', () => {
  it('reports the problems of the claims it cannot plan, as valid SARIF', () => {
    const io = captureIo();
    expect(runPlan({ paths: [exampleFile('catalog-reader-dynamodb'), exampleFile('wildcard-bucket')], config, output: 'sarif' }, io)).toBe(1);
    const log = JSON.parse(io.stdout.join('\n'));
    expectValidSarif(log);
    expect(resultsOf(log).map((r) => r.ruleId)).toEqual(['bucket-not-pattern']);
    expect(log.runs[0].properties.command).toBe('plan');
  });
});
