// The built `awi` binary, once end to end: the package's bin, real process,
// real exit status. Builds dist/ first when it is missing or older than src/.

import { beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { compileIfStale } from '../harness/built.js';
import { EXAMPLE_CONFIG_FILE, exampleFile, INVALID_EXAMPLES } from '../fixtures/claims.js';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { bin: Record<string, string> };
const BIN = resolve(pkg.bin.awi!);

function awi(...args: string[]) {
  const env = { ...process.env };
  delete env.AWI_CONFIG;
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env });
}

beforeAll(() => {
  compileIfStale(BIN);
  expect(existsSync(BIN)).toBe(true);
}, 180_000);

describe('the awi binary', () => {
  it('validate refuses every invalid example, naming field and rule, exit status 1', () => {
    const result = awi('validate', ...INVALID_EXAMPLES.map(exampleFile), '--config', EXAMPLE_CONFIG_FILE);
    expect(result.status).toBe(1);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(/default-service-account.yaml#1 checkout-prod\/uses-default: spec.serviceAccountName: sa-not-default: /),
      expect.stringMatching(/wildcard-bucket.yaml#1 checkout-prod\/any-bucket: spec.permissions.s3\[0\].bucket: bucket-not-pattern: /),
      expect.stringMatching(/unknown-access.yaml#1 checkout-prod\/bad-access: spec.permissions.sqs\[0\].access\[0\]: sqs-access: /),
      expect.stringMatching(/account-not-allowed.yaml#1 checkout-prod\/other-account: spec.aws.accountId: account-allowed: /),
      '4 claim(s): 0 valid, 4 refused; 0 other document(s) skipped; 0 unreadable',
    ]);
  });

  it('validate exits 0 for a valid claim; plan prints it', () => {
    expect(awi('validate', exampleFile('checkout-api-s3-read'), '-c', EXAMPLE_CONFIG_FILE).status).toBe(0);
    const plan = awi('plan', exampleFile('checkout-api-s3-read'), '-c', EXAMPLE_CONFIG_FILE, '-o', 'json');
    expect(plan.status).toBe(0);
    expect(JSON.parse(plan.stdout).documents[0].desired.role.name).toBe('prod-platform-a-checkout-prod-checkout-api-aws-sa');
  });

  it('an alias bomb, then a valid claim: exit 1, one line per document, the valid one ok, no stack trace', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]', ...'bcdefg'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefg'[i]}`).join(', ')}]`)].join('\n');
    const file = join(mkdtempSync(join(tmpdir(), 'awi-bin-')), 'bomb.yaml');
    writeFileSync(file, `${bomb}\n---\n${readFileSync(exampleFile('checkout-api-s3-read'), 'utf8')}`);
    const result = awi('validate', file, '-c', EXAMPLE_CONFIG_FILE);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}#1: YAML: excessive aliasing`)),
      `${file}#2 checkout-prod/checkout-api-s3-read: ok`,
      '1 claim(s): 1 valid, 0 refused; 0 other document(s) skipped; 1 unreadable',
    ]);
  });

  it('--version prints the package version', () => {
    const result = awi('--version');
    expect([result.status, result.stdout.trim()]).toEqual([0, (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version]);
  });

  it('a usage error exits 2', () => {
    const result = awi('validate', exampleFile('checkout-api-s3-read'));
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("required option '-c, --config <file>' not specified");
  });
});
