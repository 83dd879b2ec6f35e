// The registry of a claim's resource kinds: one module each (observe, diff,
// execute, cleanup, condition, ready message). The set of kinds, the
// condition types, the step union and the step-to-resource mapping are all
// derived from it, so a kind without a module, a module without a condition,
// or a step no module owns does not compile. Orders are data.
import type { Blocker, Observed, Plan } from '../plan.js';
import type { DesiredState } from '../../compiler/types.js';
import { bindingResource, type BindingStep } from './binding.js';
import { permissionPolicyResource, type PolicyStep } from './permission-policy.js';
import { roleResource, type RoleStep } from './role.js';
import { serviceAccountResource, type ServiceAccountStep } from './service-account.js';
import { owns, type AnyResourceModule, type ResourceKind, type StepOf } from './types.js';

/** One module per resource kind, each with every piece (see ResourceModule). */
export type ResourceRegistry = { readonly [K in ResourceKind]: AnyResourceModule<K> };

// Getters: the modules import the shared vocabulary from plan.ts, which
// re-exports the plan from here; a getter reads a module only when asked, so
// whichever of these files is imported first, none is read before it is defined.
export const RESOURCES = {
  get ServiceAccount() { return serviceAccountResource; },
  get Role() { return roleResource; },
  get Policy() { return permissionPolicyResource; },
  get Binding() { return bindingResource; },
} as const satisfies ResourceRegistry;

export type { ResourceKind } from './types.js';

/** Every step of every resource: the union of the registry's step types (checked below). */
export type Step = ServiceAccountStep | RoleStep | PolicyStep | BindingStep;
// A module's steps missing from Step, or a step no module owns, does not compile.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
export type StepsAreTheRegistrys = Assert<Same<Step, StepOf<(typeof RESOURCES)[ResourceKind]>>>;

/** The per-resource condition types (Ready, the summary, is not one). */
export type ResourceCondition = (typeof RESOURCES)[ResourceKind]['condition'];

/** An order of the resource kinds that names every one: a kind left out does not compile ("missing" names it). */
export function everyKind<const T extends readonly ResourceKind[]>(
  order: T & ([Exclude<ResourceKind, T[number]>] extends [never] ? unknown : { missing: Exclude<ResourceKind, T[number]> }),
): T {
  return order;
}

/**
 * The plan's order: the ServiceAccount first (creating it settles which claim
 * binds it), then the role before what hangs on it.
 */
export const PLAN_ORDER = everyKind(['ServiceAccount', 'Role', 'Policy', 'Binding']);
/** Deletion undoes the plan: the binding first (pods stop getting credentials), the ServiceAccount last (releasing it wakes a claim waiting for it). */
export const DELETE_ORDER = everyKind(['Binding', 'Policy', 'Role', 'ServiceAccount']);
/** The order of the per-resource conditions in status. */
export const CONDITION_ORDER = everyKind(['Policy', 'Role', 'Binding', 'ServiceAccount']);

export const resource = <K extends ResourceKind>(kind: K): (typeof RESOURCES)[K] => RESOURCES[kind];

/** Whose step is it? */
export function stepResource(step: Step): ResourceKind {
  const owner = PLAN_ORDER.find((k) => owns(RESOURCES[k], step));
  if (!owner) throw new Error(`internal: no resource module owns step ${step.kind}`);
  return owner;
}

/**
 * The plan: an ordered fold over the resources. Each diff adds its steps; a
 * blocker stops the fold (later resources are not evaluated). The gates
 * (checks that must pass before any AWS write) run before the first AWS
 * resource. Deferred steps run only when nothing else is pending.
 */
export function planReconcile(desired: DesiredState, observed: Observed): Plan {
  const steps: Plan['steps'] = [];
  const deferred: Plan['steps'] = [];
  let gated = false;
  const stop = (blocker: Blocker): Plan => ({ steps, blockers: [blocker] });
  for (const kind of PLAN_ORDER) {
    const m: AnyResourceModule = RESOURCES[kind];
    if (m.store === 'AWS' && !gated) {
      gated = true;
      for (const g of PLAN_ORDER) {
        const blocker = RESOURCES[g].gate?.(desired, observed);
        if (blocker) return stop(blocker);
      }
    }
    const d = m.diff(desired, observed);
    steps.push(...d.steps);
    if (d.blocker) return stop(d.blocker);
    deferred.push(...(d.deferred ?? []));
  }
  return { steps: steps.length ? steps : deferred, blockers: [] };
}
