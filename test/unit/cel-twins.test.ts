// Every CEL rule of the CRD has a TypeScript twin in the compiler, and both
// refuse the same claims.

import { describe, expect, it } from '@jest/globals';
import { CEL_RULES, CEL_RULE_IDS, celMessage, celRuleIdOf } from '../../src/api/cel-rules.js';
import { buildCrd } from '../../src/api/crd.js';
import { CEL_TWINS, celRuleSites, checkSpecRules } from '../../src/compiler/spec-rules.js';
import { compileClaim } from '../../src/compiler/index.js';
import { CEL_CASES } from '../fixtures/cel-cases.js';
import { baseClaim, exampleConfig } from '../fixtures/claims.js';

function celRulesInCrd(): { rule: string; message: string }[] {
  const found: { rule: string; message: string }[] = [];
  const walk = (node: any) => {
    found.push(...(node['x-kubernetes-validations'] ?? []));
    Object.values(node.properties ?? {}).forEach(walk);
    if (node.items) walk(node.items);
    if (node.additionalProperties) walk(node.additionalProperties);
  };
  walk((buildCrd() as any).spec.versions[0].schema.openAPIV3Schema);
  return found;
}

describe('CEL rules and their twins', () => {
  it('every CEL rule in the CRD names a known rule id and carries that rule exactly', () => {
    for (const { rule, message } of celRulesInCrd()) {
      const id = celRuleIdOf(message);
      expect(id).toBeDefined();
      expect(rule).toBe(CEL_RULES[id!].rule);
      expect(message).toBe(celMessage(id!));
    }
  });

  it('every rule id is used in the CRD, has a twin and a test case', () => {
    const inCrd = new Set(celRulesInCrd().map((r) => celRuleIdOf(r.message)));
    const withCase = new Set(CEL_CASES.map((c) => c.rule));
    for (const id of CEL_RULE_IDS) {
      expect([id, inCrd.has(id)]).toEqual([id, true]);
      expect([id, typeof CEL_TWINS[id]]).toEqual([id, 'function']);
      expect([id, withCase.has(id)]).toEqual([id, true]);
    }
    expect(Object.keys(CEL_TWINS).sort()).toEqual([...CEL_RULE_IDS].sort());
  });

  it('the sites the twins run at are the places the CRD carries the rules', () => {
    expect(celRuleSites().length).toBe(celRulesInCrd().length);
  });

  it('the valid base claim passes every twin', () => {
    expect(checkSpecRules(baseClaim())).toEqual([]);
  });

  it.each(CEL_CASES.map((c) => [c.rule, c] as const))('%s: the twin refuses the violating claim at the same field', (_, c) => {
    const problems = checkSpecRules(c.claim);
    expect(problems).toContainEqual(expect.objectContaining({ rule: c.rule, field: c.field, reason: 'InvalidSpec' }));
    // compileClaim reports it too, with the sentence the API server would show.
    const result = compileClaim(c.claim, exampleConfig());
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems).toContainEqual(expect.objectContaining({ rule: c.rule, message: CEL_RULES[c.rule].message }));
  });

  it('secret-name-or-prefix also refuses neither', () => {
    const claim = baseClaim();
    claim.spec.permissions.secretsManager = [{ access: ['read'] }];
    expect(checkSpecRules(claim)).toContainEqual(expect.objectContaining({ rule: 'secret-name-or-prefix' }));
  });

  it('twins pass values of the wrong type (those are the schema’s to report)', () => {
    for (const twin of Object.values(CEL_TWINS)) {
      for (const value of [undefined, null, 42, ['x'], {}]) expect(typeof twin(value)).toBe('boolean');
    }
    expect(CEL_TWINS['bucket-not-pattern'](42)).toBe(true);
  });
});
