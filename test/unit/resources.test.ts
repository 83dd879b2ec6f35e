// The resource registry at run time: every step belongs to exactly one
// resource, found through the modules' executors (src/controller/resources/index.ts).
import { describe, expect, it } from '@jest/globals';
import { DELETE_ORDER, PLAN_ORDER, RESOURCES, stepResource, type Step } from '../../src/controller/resources/index.js';

describe('stepResource', () => {
  it('maps each module\'s step kinds to that module', () => {
    for (const kind of PLAN_ORDER) {
      for (const stepKind of Object.keys(RESOURCES[kind].execute)) {
        // PatchServiceAccount is shared: its `resource` says whose it is.
        const step = { kind: stepKind, resource: kind } as unknown as Step;
        expect([stepKind, stepResource(step)]).toEqual([stepKind, kind]);
      }
    }
  });

  it('a ServiceAccount patch is the ServiceAccount\'s or the binding\'s, as the step says', () => {
    const patch = { kind: 'PatchServiceAccount', labels: {}, annotations: {}, why: 'x' } as const;
    expect(stepResource({ ...patch, resource: 'ServiceAccount' })).toBe('ServiceAccount');
    expect(stepResource({ ...patch, resource: 'Binding' })).toBe('Binding');
  });

  it('a step no module owns is an error, not silently the role\'s', () => {
    expect(() => stepResource({ kind: 'CreateInstanceProfile' } as unknown as Step)).toThrow('no resource module owns step CreateInstanceProfile');
  });

  it('each kind has one condition, and deletion undoes the plan', () => {
    expect(PLAN_ORDER.map((k) => RESOURCES[k].condition)).toEqual(['ServiceAccountReady', 'RoleReady', 'PolicyReady', 'BindingReady']);
    // Pods lose the binding first; policies before their role (IAM refuses to delete a role that has some); the ServiceAccount last.
    expect(DELETE_ORDER).toEqual(['Binding', 'Policy', 'Role', 'ServiceAccount']);
  });
});
