// `awi validate` on hostile and surprising input (issue 9): every parse
// failure is reported on its own document and the rest is still checked;
// YAML is read with kubectl's YAML 1.1 rules; generateName claims are
// accepted like the API server accepts them.

import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { buildProgram } from '../../src/cli/program.js';
import { runValidate } from '../../src/cli/validate.js';
import { EXAMPLE_CONFIG_FILE, exampleFile } from '../fixtures/claims.js';
import { captureIo } from '../fixtures/io.js';

const config = EXAMPLE_CONFIG_FILE;
const VALID = readFileSync(exampleFile('checkout-api-s3-read'), 'utf8');

function tempFile(name: string, content: string | Buffer): string {
  const path = join(mkdtempSync(join(tmpdir(), 'awi-robust-')), name);
  writeFileSync(path, content);
  return path;
}

/** 9^7 nodes once expanded, a few hundred bytes written. */
const ALIAS_BOMB = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
  'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
  'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
  'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
  'f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]',
  'g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]',
  '',
].join('\n');

/** A valid claim with `replace` applied to its YAML text. */
function claimText(replace: (text: string) => string = (t) => t): string {
  return replace(VALID);
}

describe('parse failures are per document', () => {
  it('acceptance: a file with an alias bomb, then a valid claim: exit 1, one line per document, the valid one ok', () => {
    const file = tempFile('bomb.yaml', `${ALIAS_BOMB}---\n${VALID}`);
    const io = captureIo();
    expect(runValidate({ paths: [file], config, quiet: false }, io)).toBe(1);
    expect(io.stdout).toEqual([
      `${file}#1: YAML: excessive aliasing (an alias bomb): expanding the aliases would pass the limit of 100 alias expansions; kubectl refuses such documents too ("document contains excessive aliasing") (line 1, column 1)`,
      `${file}#2 checkout-prod/checkout-api-s3-read: ok`,
      '1 claim(s): 1 valid, 0 refused; 0 other document(s) skipped; 1 unreadable',
    ]);
  });

  it('a few aliases, as people write them, are fine', () => {
    const file = tempFile('anchors.yaml', claimText((t) => t.replace('owner: checkout-team', 'owner: &team checkout-team\n  environment: prod\n  x-unused: *team').replace(/\n  environment: prod\n(?!  x-unused)/, '\n')));
    const io = captureIo();
    runValidate({ paths: [file], config }, io);
    // The alias expands fine; the claim is refused only for the unknown field, like the API server would.
    expect(io.stdout[0]).toMatch(/#1 checkout-prod\/checkout-api-s3-read: spec.x-unused: unknown-field: /);
  });

  it('deep nesting is refused on its document, naming the line; the next file is still checked', () => {
    const flow = tempFile('flow.yaml', `${'['.repeat(20000)}${']'.repeat(20000)}\n---\n${VALID}`);
    let block = 'apiVersion: awi.dev/v1alpha1\nkind: AwsWorkloadIdentityClaim\nmetadata:\n';
    for (let depth = 1; depth <= 80; depth++) block += `${'  '.repeat(depth)}k${depth}:\n`;
    const blockFile = tempFile('block.yaml', block);
    // The root is level 1, metadata's map level 2, k<n>'s map level n+2: level 65 is the map under k63, starting at k64 (line 67, indented 128).
    const io = captureIo();
    expect(runValidate({ paths: [flow, blockFile, exampleFile('billing-worker-sqs')], config, quiet: true }, io)).toBe(1);
    expect(io.stdout).toEqual([
      expect.stringMatching(new RegExp(`^${escape(flow)}#1: YAML: nested too deep .*\\(line 1, column \\d+\\)$`)),
      `${blockFile}#1: YAML: nested more than 64 levels deep; no claim or configuration field is, and the API server refuses the unknown fields such nesting needs (line 67, column 129)`,
    ]);
    const verbose = captureIo();
    runValidate({ paths: [flow, blockFile, exampleFile('billing-worker-sqs')], config }, verbose);
    expect(verbose.stdout.filter((l) => l.endsWith(': ok'))).toHaveLength(2);
  });

  it('invalid UTF-8 spoils only the document that holds it, and says which line', () => {
    const bad = Buffer.concat([Buffer.from(`${VALID}---\n`), Buffer.from(claimText((t) => t.replace('checkout-team', 'checkout-\xff-team')), 'latin1')]);
    const file = tempFile('latin1.yaml', bad);
    const line = `${VALID}---\n`.split('\n').length - 1 + claimText().split('\n').findIndex((l) => l.includes('owner:')) + 1;
    const io = captureIo();
    expect(runValidate({ paths: [file], config }, io)).toBe(1);
    expect(io.stdout).toEqual([
      `${file}#1 checkout-prod/checkout-api-s3-read: ok`,
      `${file}#2: invalid UTF-8 on line ${line}: Kubernetes manifests must be UTF-8 (kubectl refuses the document) (line ${line}, column 1)`,
      '1 claim(s): 1 valid, 0 refused; 0 other document(s) skipped; 1 unreadable',
    ]);
  });

  it('a duplicate key is refused, naming the key and where it is', () => {
    const file = tempFile('dup.yaml', claimText((t) => t.replace('  owner: checkout-team\n', '  owner: checkout-team\n  owner: platform-team\n')));
    const line = claimText().split('\n').findIndex((l) => l.includes('owner:')) + 2;
    const io = captureIo();
    expect(runValidate({ paths: [file], config }, io)).toBe(1);
    expect(io.stdout[0]).toBe(
      `${file}#1: YAML: duplicate key "owner": a mapping may name a key only once (kubectl either refuses the document or silently keeps the last value); remove one (line ${line}, column 3)`,
    );
  });

  it('a bad platform configuration (an alias bomb in it) is a usage error, not a crash', () => {
    const bad = tempFile('config.yaml', ALIAS_BOMB);
    const io = captureIo();
    expect(runValidate({ paths: [exampleFile('billing-worker-sqs')], config: bad }, io)).toBe(2);
    expect(io.stderr.join('\n')).toMatch(/^invalid .*config.yaml: .*alias/i);
  });
});

describe('YAML 1.1, as kubectl reads it', () => {
  // What sigs.k8s.io/yaml (go-yaml v2) makes of these plain scalars, and so what the API server checks.
  it.each([
    ['owner: yes', 'owner: checkout-team', 'spec.owner: type: must be a string, not true'],
    ['owner: on', 'owner: checkout-team', 'spec.owner: type: must be a string, not true'],
    ['owner: off', 'owner: checkout-team', 'spec.owner: type: must be a string, not false'],
    ['environment: y', 'environment: prod', 'spec.environment: type: must be a string, not true'],
    ['environment: n', 'environment: prod', 'spec.environment: type: must be a string, not false'],
    ['owner: 1_000', 'owner: checkout-team', 'spec.owner: type: must be a string, not 1000'],
    ['owner: 0755', 'owner: checkout-team', 'spec.owner: type: must be a string, not 493'],
  ])('%s is refused, as the API server refuses it', (replacement, original, expected) => {
    const file = tempFile('yaml11.yaml', claimText((t) => t.replace(original, replacement)));
    const io = captureIo();
    expect(runValidate({ paths: [file], config }, io)).toBe(1);
    expect(io.stdout[0]).toContain(`#1 checkout-prod/checkout-api-s3-read: ${expected}`);
  });

  it('what go-yaml v2 reads as a number passes where a number belongs (maxSessionDurationSeconds: 3_600)', () => {
    const file = tempFile('yaml11-int.yaml', claimText((t) => t.replace('  owner: checkout-team\n', '  owner: checkout-team\n  maxSessionDurationSeconds: 3_600\n')));
    const io = captureIo();
    expect(runValidate({ paths: [file], config }, io)).toBe(0);
  });

  it.each([['owner: 2024-01-01'], ['owner: 1:20']])('%s stays a string, as go-yaml v2 leaves timestamps and base-60 numbers', (replacement) => {
    const file = tempFile('yaml11-str.yaml', claimText((t) => t.replace('owner: checkout-team', replacement)));
    const io = captureIo();
    expect(runValidate({ paths: [file], config }, io)).toBe(0);
  });
});

describe('generateName', () => {
  const generated = (generateName: string) =>
    claimText((t) => t.replace('  name: checkout-api-s3-read\n', `  generateName: ${generateName}\n`));

  it('a claim with generateName and no name is checked like any other', () => {
    expect(generated('checkout-')).not.toContain('\n  name:');
    const file = tempFile('gen.yaml', generated('checkout-'));
    const io = captureIo();
    expect(runValidate({ paths: [file], config }, io)).toBe(0);
    expect(io.stdout[0]).toBe(`${file}#1 checkout-prod/checkout-<generated>: ok`);
  });

  it('a bad generateName is reported on metadata.generateName', () => {
    const file = tempFile('gen-bad.yaml', generated('Checkout-'));
    const io = captureIo();
    expect(runValidate({ paths: [file], config }, io)).toBe(1);
    expect(io.stdout[0]).toMatch(/#1 checkout-prod\/Checkout-<generated>: metadata.generateName: object-name: /);
  });

  it('neither name nor generateName: refused', () => {
    const file = tempFile('anon.yaml', claimText((t) => t.replace('  name: checkout-api-s3-read\n', '')));
    const io = captureIo();
    expect(runValidate({ paths: [file], config }, io)).toBe(1);
    expect(io.stdout[0]).toMatch(/metadata.name: required: /);
  });
});

describe('--config-only and --version', () => {
  it('checks the shipped platform configuration on its own (the command its header tells users to run)', () => {
    const header = readFileSync('deploy/platform-config.yaml', 'utf8').split('\n').filter((l) => l.startsWith('#')).join('\n');
    expect(header).toContain('awi validate --config-only --config deploy/platform-config.yaml');
    const io = captureIo();
    expect(runValidate({ paths: [], config: 'deploy/platform-config.yaml', configOnly: true }, io)).toBe(0);
    expect(io.stdout).toEqual([expect.stringMatching(/^deploy\/platform-config.yaml: ok: platform configuration for cluster arn:aws:eks:/)]);
  });

  it('an invalid configuration: exit 1, field, rule and line', () => {
    const bad = tempFile('config.yaml', 'cluster:\n  name: c\n  accountId: 123\n  region: eu-west-1\n');
    const io = captureIo();
    expect(runValidate({ paths: [], config: bad, configOnly: true }, io)).toBe(1);
    expect(io.stdout).toEqual([`${bad}: cluster.accountId: type: must be a string, not 123 (quote it in YAML) (line 3)`]);
    const json = captureIo();
    expect(runValidate({ paths: [], config: bad, configOnly: true, output: 'json' }, json)).toBe(1);
    expect(JSON.parse(json.stdout.join('\n')).documents[0].problems).toEqual([
      { field: 'cluster.accountId', rule: 'type', level: 'error', reason: 'InvalidConfig', message: 'must be a string, not 123 (quote it in YAML)', line: 3, column: 3 },
    ]);
  });

  it('claims and --config-only together are a usage error; so is validate without paths', () => {
    const io = captureIo();
    expect(runValidate({ paths: [exampleFile('billing-worker-sqs')], config, configOnly: true }, io)).toBe(2);
    expect(runValidate({ paths: [], config }, io)).toBe(2);
    expect(io.stderr).toHaveLength(2);
  });

  it('awi --version prints the version of package.json', async () => {
    const io = captureIo();
    const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
    const thrown = await buildProgram(io, []).parseAsync(['node', 'awi', '--version']).catch((err: unknown) => err);
    expect(thrown).toBeInstanceOf(CommanderError);
    expect((thrown as CommanderError).exitCode).toBe(0);
    expect(io.stdout).toEqual([version]);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
