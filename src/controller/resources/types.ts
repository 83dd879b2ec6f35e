// What one resource kind of a claim (ServiceAccount, role, permission policy,
// binding) must provide. The registry (index.ts) holds one module per kind
// and is typed so that a kind without a module, or a module without one of
// these pieces, does not compile.
import type { DesiredState } from '../../compiler/types.js';
import type { Blocker, Observed, Step } from '../plan.js';

export type ResourceKind = 'ServiceAccount' | 'Role' | 'Policy' | 'Binding';

/** What one resource's diff decides: the steps that bring it to the desired state, or why awi may not. */
export interface Diff {
  /** In order. May include steps of another resource (e.g. revoking the binding of a ServiceAccount that is not the claim's). */
  steps: Step[];
  /** The claim cannot go on: the plan stops here (the resources after it are not evaluated). */
  blocker?: Blocker;
  /** Steps to take only once nothing else is pending (retiring the other mechanism's binding after a switch). */
  deferred?: Step[];
}

/** A step kind table: one entry per step kind of the resource (a kind left out does not compile). */
export type StepKinds<S extends { kind: string }> = { readonly [K in S['kind']]: true };

export interface ResourceModule<K extends ResourceKind, S extends { kind: string }, C extends `${string}Ready`> {
  readonly kind: K;
  /** Its status condition type. */
  readonly condition: C;
  /** The condition's message when the resource is in place (ready) or was just written and AWS is catching up. */
  readyMessage(desired: DesiredState, ready: boolean): string;
  /**
   * Where it lives. A write to AWS is followed by propagation (the condition
   * reads IAMPropagating until the next look); the Kubernetes API is
   * consistent. Gates run before the first AWS resource is diffed.
   */
  readonly store: 'Kubernetes' | 'AWS';
  /** Its steps. A step kind shared by several resources carries `resource` to say whose it is. */
  readonly steps: StepKinds<S>;
  /** Steps or a blocker, from the desired and observed states. Pure. */
  diff(desired: DesiredState, observed: Observed): Diff;
  /** A check that must pass before any AWS write of the claim (the plan stops at its blocker). Pure. */
  gate?(desired: DesiredState, observed: Observed): Blocker | undefined;
}

/** Any module of kind K, whatever its steps. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the registry holds modules with different step types
export type AnyResourceModule<K extends ResourceKind = ResourceKind> = ResourceModule<K, any, `${string}Ready`>;

/** The step type of a module. */
export type StepOf<M> = M extends ResourceModule<ResourceKind, infer S, `${string}Ready`> ? S : never;

/** Does this module own this step? By kind, and by `resource` for a kind several resources share. */
export function owns(m: { kind: ResourceKind; steps: object }, step: Step): boolean {
  if (!(step.kind in m.steps)) return false;
  return !('resource' in step) || step.resource === m.kind;
}

/** Keys whose value must change to reach `want` (extra keys in `have` are left alone). */
export function diffMap(have: Record<string, string>, want: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(want).filter(([k, v]) => have[k] !== v));
}
