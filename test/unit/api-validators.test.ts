// The claim and platform-config validators are compiled at build time (ajv
// standalone code in src/api/*.validator.generated.ts) instead of when the
// process starts. The committed files must be what the generator produces
// from the schemas now, and they must judge every input exactly as ajv's
// run-time compile of the same schema does: same verdict, same errors (so the
// same field, rule and message once translated), same defaults filled in.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { createAjv, renderValidator, VALIDATOR_SOURCES } from '../../src/api/ajv-compile.js';
import { translateAjvErrors } from '../../src/api/ajv.js';
import { validateClaimSchema, validateConfigSchema } from '../../src/api/validators.js';
import type { ValidateFunction } from 'ajv';
import { baseClaim, exampleConfigObject, INVALID_EXAMPLES, loadExample, VALID_EXAMPLES } from '../fixtures/claims.js';

const REGENERATE = 'run: npm run build && node dist/src/api/generate-crd.js';

describe('generated validators', () => {
  for (const source of VALIDATOR_SOURCES) {
    it(`${source.file} is up to date (${REGENERATE})`, () => {
      expect(readFileSync(source.file, 'utf8')).toBe(renderValidator(source));
    });
  }
});

/** Every variation of `doc` one edit away: each value replaced by values of other types and sizes, each key removed, an unknown key added at every object. */
function mutations(doc: unknown): unknown[] {
  const replacements: unknown[] = [null, 0, -1, 1.5, 2 ** 60, '', 'x', '*', 'a'.repeat(300), '\u{1F600}'.repeat(64), '\uD800', true, [], ['x', 'x'], {}];
  const out: unknown[] = [];
  const visit = (node: unknown, set: (v: unknown) => unknown): void => {
    for (const r of replacements) out.push(set(r));
    if (Array.isArray(node)) {
      node.forEach((child, i) => visit(child, (v) => set(node.map((c, j) => (j === i ? v : c)))));
      if (node.length) out.push(set([...node, node[0]]));
    } else if (node && typeof node === 'object') {
      const obj = node as Record<string, unknown>;
      for (const key of Object.keys(obj)) {
        visit(obj[key], (v) => set({ ...obj, [key]: v }));
        const { [key]: _removed, ...rest } = obj;
        out.push(set(rest));
      }
      out.push(set({ ...obj, unexpectedField: 'x' }));
    }
  };
  visit(doc, (v) => v);
  return out;
}

function verdict(validate: ValidateFunction, input: unknown): { valid: boolean; errors: unknown; issues: unknown; after: unknown } {
  const copy = structuredClone(input);
  const valid = validate(copy) as boolean;
  // Everything but the function-valued fields: the errors as ajv reports them, and the data after defaults.
  return { valid, errors: JSON.parse(JSON.stringify(validate.errors ?? null)), issues: translateAjvErrors(validate.errors), after: copy };
}

describe('the generated validators judge as ajv compiling the schema at run time does', () => {
  const cases: Array<{ name: string; generated: ValidateFunction; useDefaults: boolean; inputs: unknown[] }> = [
    {
      name: 'claim',
      generated: validateClaimSchema,
      useDefaults: false,
      inputs: [...VALID_EXAMPLES.map(loadExample), ...INVALID_EXAMPLES.map(loadExample), ...mutations(baseClaim()), ...mutations(loadExample('invoice-exporter'))],
    },
    { name: 'platform configuration', generated: validateConfigSchema, useDefaults: true, inputs: [exampleConfigObject(), {}, ...mutations(exampleConfigObject())] },
  ];
  for (const c of cases) {
    it(`${c.name}: every example and every one-edit mutation of one (${c.inputs.length} inputs)`, () => {
      const source = VALIDATOR_SOURCES.find((s) => s.useDefaults === c.useDefaults)!;
      const compiled = createAjv({ useDefaults: c.useDefaults }).compile(source.schema());
      let invalid = 0;
      for (const input of c.inputs) {
        const expected = verdict(compiled, input);
        if (!expected.valid) invalid++;
        expect({ input, ...verdict(c.generated, input) }).toEqual({ input, ...expected });
      }
      // The corpus exercises the refusals, not only the happy path.
      expect(invalid).toBeGreaterThan(c.inputs.length / 2);
    });
  }
});
