// summarizeProblems: a status message that names the first problems and
// counts the rest, and never exceeds its size (a condition message of every
// problem may exceed what the API server accepts, and the claim never settles).

import { describe, expect, it } from '@jest/globals';
import { summarizeProblems } from '../../src/compiler/index.js';
import type { Problem } from '../../src/compiler/types.js';

const problem = (i: number, message = `problem ${i}`): Problem => ({ reason: 'GuardrailViolation', field: `spec.permissions.s3[${i}]`, rule: 'resource-allowed', message });

describe('summarizeProblems', () => {
  it('lists every problem when there are few', () => {
    expect(summarizeProblems([problem(0), problem(1)])).toBe('spec.permissions.s3[0]: resource-allowed: problem 0\nspec.permissions.s3[1]: resource-allowed: problem 1');
  });

  it('lists the first N and says how many more', () => {
    const text = summarizeProblems(Array.from({ length: 25 }, (_, i) => problem(i)), { maxProblems: 3 });
    expect(text.split('\n')).toEqual([
      'spec.permissions.s3[0]: resource-allowed: problem 0',
      'spec.permissions.s3[1]: resource-allowed: problem 1',
      'spec.permissions.s3[2]: resource-allowed: problem 2',
      'and 22 more',
    ]);
  });

  it('stays within maxChars however long the problems are, and counts what it left out', () => {
    const long = Array.from({ length: 5000 }, (_, i) => problem(i, 'x'.repeat(2000)));
    for (const maxChars of [100, 500, 4096, 32_000]) {
      const text = summarizeProblems(long, { maxChars, maxProblems: 50 });
      expect(text.length).toBeLessThanOrEqual(maxChars);
      const lines = text.split('\n');
      const shown = lines.length - 1;
      expect(lines.at(-1)).toBe(`and ${5000 - shown} more`);
      expect(shown).toBeGreaterThanOrEqual(1);
    }
  });

  it('an empty list is an empty message', () => {
    expect(summarizeProblems([])).toBe('');
  });
});
