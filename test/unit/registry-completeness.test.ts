// Registries the compiler holds complete: every key of spec.permissions has an
// intent compiler (src/compiler/intents/index.ts). These are compile-time
// guarantees, so the test type-checks snippets against the real sources:
// an incomplete registry must fail with the specific error, and a complete
// one must pass (so that the test can fail both ways).

import { describe, expect, it } from '@jest/globals';
import { typeErrors } from '../harness/typecheck.js';

const REGISTRY = 'src/compiler/intents/index.ts';

describe('the intent registry covers every key of Permissions', () => {
  it('the registry as shipped type-checks, and so does a copy of it', () => {
    const errors = typeErrors(
      `import { INTENTS, type IntentRegistry } from './src/compiler/intents/index.js';
       export const registry = { ...INTENTS } satisfies IntentRegistry;`,
      { alsoIn: [REGISTRY] },
    );
    expect(errors).toEqual([]);
  });

  it('a key added to Permissions without a compiler is an error in the registry itself', () => {
    // What adding an intent to the schema (and so to the generated Permissions) and forgetting its compiler looks like.
    const errors = typeErrors(
      `import type {} from './src/api/types.generated.js';
       import './src/compiler/intents/index.js';
       declare module './src/api/types.generated.js' {
         interface Permissions { ecrPush?: { repository: string }[] }
       }`,
      { alsoIn: [REGISTRY] },
    );
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatch(/^src\/compiler\/intents\/index\.ts\(\d+,\d+\): TS1360: .* does not satisfy the expected type 'IntentRegistryOf<Permissions>'\./);
    expect(errors.join('\n')).toContain("Property 'ecrPush' is missing in type");
  });

  it('a registry that leaves out an existing key does not satisfy IntentRegistry', () => {
    const errors = typeErrors(
      `import { INTENTS, type IntentRegistry } from './src/compiler/intents/index.js';
       const { ecrPull: _left, ...withoutEcrPull } = INTENTS;
       export const registry = withoutEcrPull satisfies IntentRegistry;`,
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^snippet\(3,\d+\): TS1360: /);
    expect(errors[0]).toContain("Property 'ecrPull' is missing in type");
    expect(errors[0]).toContain("but required in type 'IntentRegistryOf<Permissions>'");
  });

  it('a compiler for the wrong value type does not satisfy IntentRegistry', () => {
    const errors = typeErrors(
      `import { INTENTS, type IntentRegistry } from './src/compiler/intents/index.js';
       import type { S3Permission } from './src/api/types.js';
       export const registry = { ...INTENTS, xrayTracing: (entries: S3Permission[]) => entries.map(() => INTENTS.xrayTracing(true)[0]!) } satisfies IntentRegistry;`,
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^snippet\(3,\d+\): TS2322: /);
    expect(errors[0]).toContain("Type 'boolean' is not assignable to type 'S3Permission[]'");
  });

  it('an intent granting on "*" can name only the actions AWS authorizes on nothing else', () => {
    // allowUnscoped takes names from the curated list (src/compiler/unscoped-actions.ts), not strings.
    const ok = typeErrors(
      `import { allowUnscoped } from './src/compiler/intents/grant.js';
       export const token = allowUnscoped('spec.permissions.ecrPull', ['ecr:GetAuthorizationToken']);`,
    );
    expect(ok).toEqual([]);
    const errors = typeErrors(
      `import { allowUnscoped } from './src/compiler/intents/grant.js';
       export const pull = allowUnscoped('spec.permissions.ecrPull', ['ecr:BatchGetImage']);`,
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^snippet\(2,\d+\): TS2322: Type '"ecr:BatchGetImage"' is not assignable to type '"ecr:GetAuthorizationToken" \| /);
  });
});
