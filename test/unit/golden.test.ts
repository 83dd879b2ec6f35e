// Golden files: the compiled output of every example, byte for byte.
// UPDATE_GOLDEN=1 npm run jest -- -c test/jest.unit.config.js test/unit/golden.test.ts
// rewrites them; review the diff before committing.

import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { compileClaim } from '../../src/compiler/index.js';
import { INVALID_EXAMPLES, VALID_EXAMPLES, exampleConfig, loadExample } from '../fixtures/claims.js';

const UPDATE = process.env.UPDATE_GOLDEN === '1';

function checkGolden(file: string, actual: string): void {
  const path = resolve('test/golden', file);
  if (UPDATE) writeFileSync(path, actual);
  if (!existsSync(path)) throw new Error(`${path} is missing: run with UPDATE_GOLDEN=1 to create it`);
  expect(actual).toBe(readFileSync(path, 'utf8'));
}

describe('golden files', () => {
  it.each([...VALID_EXAMPLES])('%s.json: the desired state', (name) => {
    const result = compileClaim(loadExample(name), exampleConfig());
    expect(result.ok).toBe(true);
    checkGolden(`${name}.json`, `${JSON.stringify(result, null, 2)}\n`);
  });

  it.each([...INVALID_EXAMPLES])('invalid-%s.json: the problems', (name) => {
    const result = compileClaim(loadExample(name), exampleConfig());
    expect(result.ok).toBe(false);
    checkGolden(`invalid-${name}.json`, `${JSON.stringify(result, null, 2)}\n`);
  });
});
