// `awi validate` and `awi plan`, run in-process.

import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { buildProgram } from '../../src/cli/program.js';
import { registerPlan, runPlan } from '../../src/cli/plan.js';
import { registerValidate, runValidate } from '../../src/cli/validate.js';
import { EXAMPLES_DIR, EXAMPLE_CONFIG_FILE, exampleFile, INVALID_EXAMPLES, VALID_EXAMPLES } from '../fixtures/claims.js';
import { captureIo } from '../fixtures/io.js';

const config = EXAMPLE_CONFIG_FILE;

function tempFile(name: string, content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'awi-cli-'));
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('awi validate', () => {
  it.each([
    ['default-service-account', 'spec.serviceAccountName: sa-not-default: the ServiceAccount "default" is never bound'],
    ['wildcard-bucket', 'spec.permissions.s3[0].bucket: bucket-not-pattern: a bucket name must be a concrete bucket, not a pattern'],
    ['unknown-access', 'spec.permissions.sqs[0].access[0]: sqs-access: "admin" is not a valid access level for SQS'],
    ['account-not-allowed', 'spec.aws.accountId: account-allowed: account 999999999999 is not allowed for namespaces matching *-prod'],
  ])('refuses invalid/%s.yaml naming the field and the rule, exit 1', (name, expected) => {
    const io = captureIo();
    expect(runValidate({ paths: [exampleFile(name)], config }, io)).toBe(1);
    const problemLines = io.stdout.filter((l) => l.includes(`${name}.yaml#1 `));
    expect(problemLines).toHaveLength(1);
    expect(problemLines[0]).toContain(`${exampleFile(name)}#1 checkout-prod/`);
    expect(problemLines[0]).toContain(expected);
  });

  it('accepts the valid examples, exit 0', () => {
    const io = captureIo();
    expect(runValidate({ paths: VALID_EXAMPLES.map(exampleFile), config }, io)).toBe(0);
    const n = VALID_EXAMPLES.length;
    expect(io.stdout.filter((l) => l.endsWith(': ok'))).toHaveLength(n);
    expect(io.stdout.at(-1)).toBe(`${n} claim(s): ${n} valid, 0 refused; 0 other document(s) skipped; 0 unreadable`);
  });

  it('walks directories, skips documents that are not claims and says so', () => {
    const io = captureIo();
    expect(runValidate({ paths: [EXAMPLES_DIR], config }, io)).toBe(1);
    expect(io.stdout).toContain(`${join(EXAMPLES_DIR, 'platform-config.yaml')}#1: skipped: no kind (not a Kubernetes object)`);
    const [valid, refused] = [VALID_EXAMPLES.length, INVALID_EXAMPLES.length];
    expect(io.stdout.at(-1)).toBe(`${valid + refused} claim(s): ${valid} valid, ${refused} refused; 1 other document(s) skipped; 0 unreadable`);
  });

  it('reads multi-document YAML and Lists, counting documents from 1', () => {
    const claims = VALID_EXAMPLES.map((n) => readFileSync(exampleFile(n), 'utf8'));
    const list = YAML.stringify({ apiVersion: 'v1', kind: 'List', items: [YAML.parse(readFileSync(exampleFile('wildcard-bucket'), 'utf8'))] });
    const file = tempFile(
      'all.yaml',
      [claims[0], 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n', claims[1], list, readFileSync(exampleFile('default-service-account'), 'utf8'), ''].join('---\n'),
    );
    const io = captureIo();
    expect(runValidate({ paths: [file], config }, io)).toBe(1);
    expect(io.stdout).toEqual([
      `${file}#1 checkout-prod/checkout-api-s3-read: ok`,
      `${file}#2: skipped: kind ConfigMap is not AwsWorkloadIdentityClaim`,
      `${file}#3 billing-prod/billing-worker: ok`,
      expect.stringMatching(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}#4\\.items\\[0\\] checkout-prod/any-bucket: spec.permissions.s3\\[0\\].bucket: bucket-not-pattern: `)),
      expect.stringContaining(`${file}#5 checkout-prod/uses-default: spec.serviceAccountName: sa-not-default: `),
      '4 claim(s): 2 valid, 2 refused; 1 other document(s) skipped; 0 unreadable',
    ]);
  });

  it('reports YAML errors and missing files, exit 1; --quiet prints problems only', () => {
    const broken = tempFile('broken.yaml', 'kind: AwsWorkloadIdentityClaim\nspec: [\n');
    const io = captureIo();
    expect(runValidate({ paths: [broken, '/nonexistent/claim.yaml'], config, quiet: true }, io)).toBe(1);
    expect(io.stdout).toEqual([expect.stringMatching(/^\/nonexistent\/claim.yaml: ENOENT/), expect.stringMatching(/broken.yaml#1: YAML: /)]);
  });

  it('fills in the namespace for claims that name none (-n)', () => {
    const claim = YAML.parse(readFileSync(exampleFile('checkout-api-s3-read'), 'utf8'));
    delete claim.metadata.namespace;
    const file = tempFile('no-ns.yaml', YAML.stringify(claim));
    const io = captureIo();
    expect(runValidate({ paths: [file], config, namespace: 'checkout-prod' }, io)).toBe(0);
    expect(io.stdout[0]).toBe(`${file}#1 checkout-prod/checkout-api-s3-read: ok`);
  });

  it('reads standard input for "-"', () => {
    const io = captureIo(readFileSync(exampleFile('unknown-access'), 'utf8'));
    expect(runValidate({ paths: ['-'], config }, io)).toBe(1);
    expect(io.stdout[0]).toMatch(/^<stdin>#1 checkout-prod\/bad-access: spec.permissions.sqs\[0\].access\[0\]: sqs-access: /);
  });

  it('a bad configuration is a usage error, exit 2, with path: rule lines', () => {
    const bad = tempFile('config.yaml', 'cluster: {name: c, accountId: 123, region: eu-west-1}\n');
    const io = captureIo();
    expect(runValidate({ paths: [EXAMPLES_DIR], config: bad }, io)).toBe(2);
    expect(io.stderr).toEqual([`invalid ${bad}:`, '  cluster.accountId: type: must be a string, not 123 (quote it in YAML)']);
  });
});

describe('awi plan', () => {
  it('prints the desired state as YAML documents, one per claim', () => {
    const io = captureIo();
    expect(runPlan({ paths: [exampleFile('checkout-api-s3-read'), exampleFile('billing-worker-sqs')], config }, io)).toBe(0);
    const text = io.stdout.join('\n');
    const docs = YAML.parseAllDocuments(text).map((d) => d.toJS());
    expect(docs.map((d) => d.role.name)).toEqual(['prod-platform-a-checkout-prod-checkout-api-aws-sa', 'prod-platform-a-billing-prod-billing-worker-aws-sa']);
    expect(docs[1].binding.annotations['eks.amazonaws.com/role-arn']).toBe(docs[1].role.arn);
    expect(text).toContain(`# ${exampleFile('checkout-api-s3-read')}#1`);
    expect(text).toContain('Version: "2012-10-17"');
  });

  it('prints the report with each claim\'s desired state with --output json', () => {
    const io = captureIo();
    expect(runPlan({ paths: [exampleFile('invoice-exporter')], config, output: 'json' }, io)).toBe(0);
    const report = JSON.parse(io.stdout.join('\n'));
    expect(report.command).toBe('plan');
    const [doc] = report.documents;
    expect(doc).toMatchObject({ file: exampleFile('invoice-exporter'), document: 1, status: 'ok', claim: 'finance-prod/invoice-exporter', problems: [] });
    expect(doc.desired.permissionPolicy.document.Statement.length).toBeGreaterThan(0);
    expect(doc.desired.digests.policy).toMatch(/^sha256:/);
  });

  it('reports claims it cannot compile on stderr and exits 1, still printing the others', () => {
    const io = captureIo();
    expect(runPlan({ paths: [exampleFile('catalog-reader-dynamodb'), exampleFile('wildcard-bucket')], config }, io)).toBe(1);
    expect(YAML.parseAllDocuments(io.stdout.join('\n')).map((d) => d.toJS().claim.name)).toEqual(['catalog-reader']);
    expect(io.stderr).toEqual([expect.stringContaining('spec.permissions.s3[0].bucket: bucket-not-pattern')]);
  });

  it('json: a refused claim has no desired state and its problems carry line and column', () => {
    const io = captureIo();
    expect(runPlan({ paths: [exampleFile('catalog-reader-dynamodb'), exampleFile('wildcard-bucket')], config, output: 'json' }, io)).toBe(1);
    const report = JSON.parse(io.stdout.join('\n'));
    expect(report.documents.map((d: { status: string; desired?: unknown }) => [d.status, d.desired !== undefined])).toEqual([['ok', true], ['refused', false]]);
    expect(report.documents[1].problems).toEqual([
      expect.objectContaining({ field: 'spec.permissions.s3[0].bucket', rule: 'bucket-not-pattern', line: 11, column: 12 }),
    ]);
  });
});

describe('the program', () => {
  it('registers plan and validate; usage errors throw instead of exiting', async () => {
    const io = captureIo();
    const program = buildProgram(io, [registerPlan, registerValidate]);
    expect(program.commands.map((c) => c.name())).toEqual(['plan', 'validate']);
    await expect(program.parseAsync(['node', 'awi', 'validate', 'x.yaml'])).rejects.toThrow(/required option/);
  });
});
