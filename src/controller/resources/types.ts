// What one resource kind of a claim (ServiceAccount, role, permission policy,
// binding) must provide. The registry (index.ts) holds one module per kind
// and is typed so that a kind without a module, or a module without one of
// these pieces, does not compile.
import type { Logger } from 'pino';
import type { DesiredState } from '../../compiler/types.js';
import type { CleanupTarget } from '../cleanup.js';
import type { ObservedAssociation } from '../managers/association.js';
import type { AccountManagers, AssociationApi, ServiceAccountApi } from '../managers/factory.js';
import type { ObservedRole } from '../managers/role.js';
import type { ObservedServiceAccount } from '../managers/service-account.js';
import type { AssociationCache, AssumeFromStatus } from '../observation/association-cache.js';
import type { RoleCache } from '../observation/role-cache.js';
import type { Blocker, Observed, Plan, Step } from '../plan.js';

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

/** The managers one claim uses: IAM in the role's account, associations and ServiceAccounts in the cluster. */
export interface ClaimManagers extends AccountManagers {
  association: AssociationApi;
  serviceAccounts: ServiceAccountApi;
}

export interface ObserveContext {
  desired: DesiredState;
  managers: ClaimManagers;
  clusterName: string;
  /** Does this claim exist? (A ServiceAccount whose labels name a deleted claim is as good as released.) */
  claimExists(namespace: string, name: string): Promise<boolean>;
  /** The shared, paged observation of awi's roles (observation/role-cache.ts), if any. */
  roleCache?: RoleCache | undefined;
  /** The shared, paged observation of the cluster's Pod Identity associations (observation/association-cache.ts), if any. */
  associationCache?: AssociationCache | undefined;
  /** Has awi applied this claim before (status.applied)? A claim never applied has nothing to find in the role cache. */
  applied: boolean;
  /** What the claim's status vouches for an association this process never described (start-up pass: observation/restart.ts). */
  assumeAssociation: AssumeFromStatus;
}

export interface ExecuteContext {
  desired: DesiredState;
  managers: ClaimManagers;
  clusterName: string;
  /** The ServiceAccount as observed, or as this reconcile last wrote it. */
  serviceAccount: ObservedServiceAccount | undefined;
  log: Logger;
  /** Told of awi's association writes, so its next answer is read or taken from the create. */
  associationCache?: AssociationCache | undefined;
  /** The resources whose part of the observation came from a shared observation, not a direct read in this reconcile. */
  fromCache: ReadonlySet<ResourceKind>;
}

/** What one step did besides succeeding. */
export interface StepOutcome {
  /** The ServiceAccount as written (later steps patch this one). */
  serviceAccount?: ObservedServiceAccount;
  /** AWS has not caught up with an earlier write: stop here, look again after the propagation delay. */
  propagating?: boolean;
  /**
   * AWS refused a create because the resource exists, though the shared
   * observation the plan came from said it did not: the reconcile stops
   * before writing status and runs again at once, reading it directly.
   */
  stale?: boolean;
  /** The association CreatePodIdentityAssociation made, as EKS answered (for status: no read-back). */
  association?: ObservedAssociation;
}

/** One executor per step kind of the resource (a kind left out does not compile). */
export type Executors<S extends { kind: string }> = {
  readonly [K in S['kind']]: (step: Extract<S, { kind: K }>, ctx: ExecuteContext) => Promise<StepOutcome>;
};

export interface CleanupContext {
  target: CleanupTarget;
  /** IAM in the role's account, associations and ServiceAccounts in the cluster. */
  managers: ClaimManagers;
  /** IAM in the cluster's account (cross-account source roles). */
  clusterIam: AccountManagers;
  clusterName: string;
  log: Logger;
  /** The claim's role as it is now, read once per cleanup (undefined: no such role). */
  role(): Promise<ObservedRole | undefined>;
  /** Tells the shared role observation that awi changed the role. */
  roleWritten(): void;
}

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
  /**
   * Reads its part of the world (the role's policies are read with the role,
   * as IAM pages them: the permission policy has no observe of its own).
   */
  observe?(ctx: ObserveContext): Promise<Partial<Observed>>;
  /** Its part of the world from a shared observation, if that has one; the reconciler reads directly before acting on it. */
  cached?(ctx: ObserveContext): Promise<Partial<Observed> | undefined>;
  /** Must a cached part be read directly before this plan acts? Default: when the plan has any step or blocker. */
  confirmBeforeActing?(plan: Plan): boolean;
  /** Steps or a blocker, from the desired and observed states. Pure. */
  diff(desired: DesiredState, observed: Observed): Diff;
  /** A check that must pass before any AWS write of the claim (the plan stops at its blocker). Pure. */
  gate?(desired: DesiredState, observed: Observed): Blocker | undefined;
  /** Runs its steps. A step kind shared by several resources carries `resource` to say whose it is. */
  readonly execute: Executors<S>;
  /** deletionPolicy Delete: removes what carries the claim's mark; NotFound counts as done. Returns what it removed. */
  cleanup(ctx: CleanupContext): Promise<string[]>;
  /** deletionPolicy Retain: lets go of it (left working, marked released). Returns what it released. */
  release?(ctx: CleanupContext): Promise<string[]>;
}

/** Any module of kind K, whatever its steps. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the registry holds modules with different step types
export type AnyResourceModule<K extends ResourceKind = ResourceKind> = ResourceModule<K, any, `${string}Ready`>;

/** The step type of a module. */
export type StepOf<M> = M extends ResourceModule<ResourceKind, infer S, `${string}Ready`> ? S : never;

/** Does this module own this step? By kind, and by `resource` for a kind several resources share. */
export function owns(m: { kind: ResourceKind; execute: object }, step: Step): boolean {
  if (!(step.kind in m.execute)) return false;
  return !('resource' in step) || step.resource === m.kind;
}

/** Keys whose value must change to reach `want` (extra keys in `have` are left alone). */
export function diffMap(have: Record<string, string>, want: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(want).filter(([k, v]) => have[k] !== v));
}
