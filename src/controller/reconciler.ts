// reconcile(namespace/name): re-read the claim and the world, compile, plan,
// apply, write status. Never branches on watch events; running it twice is
// harmless. Deletion goes through the finalizer with the claim's
// deletionPolicy.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AwsWorkloadIdentityClaim, RetiringIdentity } from '../api/types.js';
import { compileClaim } from '../compiler/compile.js';
import { effectiveGuardrail } from '../compiler/guardrails.js';
import type { CompileOptions, DesiredState, Problem } from '../compiler/types.js';
import type { PlatformConfig } from '../config/types.js';
import { claimKey, FINALIZER, parseClaimKey, type ClaimClient } from '../kube/claims.js';
import type { EventRecorder } from '../kube/events.js';
import type { NamespaceReader } from '../kube/namespaces.js';
import { appliedRecord, lastValid } from './applied.js';
import { ClaimChecks, foldChecks, isRetireStep, SWITCH_CONDITION, withVerification } from './checks.js';
import { cleanupTarget, type CleanupTarget } from './cleanup.js';
import { changedConditions, mergeConditions, type ConditionInput } from './conditions.js';
import { appliedEvent, statusEvents } from './event-policy.js';
import { classifyFailure } from './failure.js';
import { finalizer } from './finalizer.js';
import type { ObservedAssociation } from './managers/association.js';
import type { ManagerFactory } from './managers/factory.js';
import type { ObservedRole } from './managers/role.js';
import type { ObservedServiceAccount } from './managers/service-account.js';
import type { RoleCache } from './observation/role-cache.js';
import type { AssociationCache } from './observation/association-cache.js';
import { assumeFromStatus, recordedVerdict, roleAfterCompletePlan, roleAsWritten } from './observation/restart.js';
import { RELEASED_TAG } from '../ownership.js';
import { claimAssociations, planReconcile, stepResource, type AssociationDrift, type Blocker, type Observed, type Plan, type Step } from './plan.js';
import { DELETE_ORDER, PLAN_ORDER, RESOURCES, type ResourceKind } from './resources/index.js';
import type { AnyResourceModule, CleanupContext, ClaimManagers, ExecuteContext, ObserveContext, StepOutcome } from './resources/types.js';
import { ensureSourceRole, withObservedExternalId } from './source-role.js';
import {
  coarseTime, failureConditions, isDriftCorrection, isReady, prerequisiteConditions, refusedStatus, resourceConditions, statusUnchanged, withRefusal,
  type ClaimStatusPatch, type Refusal,
} from './status.js';
import { retireIdentities } from './retire.js';
import { recordIdentityMove, retireActions, retiringAtDeletion, type IdentityRef } from './revoke.js';
import type { OwnWrites } from '../runtime/own-writes.js';
import type { ReconcileOutcome } from '../runtime/queue.js';

export { statusUnchanged } from './status.js';

export interface ReconcilerOptions {
  config: PlatformConfig;
  claims: Pick<ClaimClient, 'get' | 'setFinalizers' | 'patchStatus'>;
  /** Every manager the reconciler uses (production: awsManagerFactory; tests: in-memory fakes). */
  managers: ManagerFactory;
  events: Pick<EventRecorder, 'record'>;
  log: Logger;
  /** How long to wait after an IAM write before checking again (IAM propagation is a state, not a sleep). */
  propagationRequeueMs: number;
  /** Periodic drift check per claim; jittered so claims do not resync in lockstep. */
  resyncMs: number;
  resyncJitterRatio: number;
  now?: () => Date;
  random?: () => number;
  /** Told the Ready status after each status write (undefined: the claim is gone), for metrics. */
  onReadyStatus?(key: string, ready: 'True' | 'False' | 'Unknown' | undefined): void;
  /** Prerequisites, credential verification and mechanism switches (checks.ts); default: none of the I/O. */
  checks?: ClaimChecks;
  /** Namespace labels, for guardrails that pin owner or environment to one; without it such claims are refused. */
  namespaces?: Pick<NamespaceReader, 'labels'>;
  /** lastDriftCheckTime and lastSyncTime are rewritten when older than this (default 15 min), or when something changed. */
  statusTimeRecordMs?: number;
  /** Shared, paged observation of awi's roles per account; default: every reconcile reads its role directly. */
  roleCache?: RoleCache;
  /** Shared, paged observation of the cluster's Pod Identity associations; default: every reconcile lists and describes its own. */
  associationCache?: AssociationCache;
  /**
   * Records awi's own writes to claims (finalizer) and ServiceAccounts, so
   * their watch echoes do not run the reconcile that made them again
   * (runtime/own-writes.ts); default: every echo reconciles.
   */
  ownWrites?: OwnWriteRecords;
  /** Counts the AWS calls a reconcile makes (production: withAwsCallCount, through the call budget); without it no reconcile claims to have made none. */
  countAwsCalls?<T>(fn: () => Promise<T>): Promise<{ result: T; calls: number }>;
}

/** awi's own writes, per watched collection (the watch wiring consults the same records). */
export interface OwnWriteRecords {
  claims: OwnWrites;
  serviceAccounts: OwnWrites;
}

export class Reconciler {
  private readonly now: () => Date;
  private readonly random: () => number;
  readonly checks: ClaimChecks;
  /** Observations answered by the role cache (not read directly in this reconcile). */
  private readonly fromCache = new WeakMap<Observed, ObservedParts>();

  constructor(private readonly o: ReconcilerOptions) {
    this.now = o.now ?? (() => new Date());
    this.random = o.random ?? Math.random;
    this.checks = o.checks ?? new ClaimChecks({ controller: { ...o.config.controller, verification: { enabled: false, intervalSeconds: 600 } }, now: this.now });
  }

  /** One reconcile; a successful one that made no AWS call (answered from the shared observations) says so, for the rate limit. */
  async reconcile(key: string): Promise<ReconcileOutcome> {
    if (!this.o.countAwsCalls) return this.reconcileOnce(key);
    const { result, calls } = await this.o.countAwsCalls(() => this.reconcileOnce(key));
    return result.kind === 'done' && calls === 0 ? { ...result, noAwsCall: true } : result;
  }

  private async reconcileOnce(key: string): Promise<ReconcileOutcome> {
    const { namespace, name } = parseClaimKey(key);
    const log = this.o.log.child({ claim: key, reconcileId: randomUUID().slice(0, 8) });
    const claim = await this.o.claims.get(namespace, name);
    if (!claim) {
      this.checks.forget(key);
      this.o.onReadyStatus?.(key, undefined);
      return { kind: 'done' };
    }
    try {
      return await finalizer(claim, FINALIZER, {
        apply: (c, ensureFinalizer) => this.apply(c, ensureFinalizer, log),
        cleanup: (c) => this.cleanup(c, log),
        // Carries the resourceVersion it read: its echo brings nothing this reconcile did not see.
        setFinalizers: (c, list) => {
          const write = () => this.o.claims.setFinalizers(c, list);
          return this.o.ownWrites ? this.o.ownWrites.claims.track(key, key, write, (w) => w.metadata.resourceVersion) : write();
        },
        done: { kind: 'done' },
      });
    } catch (err) {
      const failure = classifyFailure(err);
      if (failure.outcome === 'conflict') {
        log.debug('conflict writing to the API server; requeue');
        return { kind: 'conflict' };
      }
      log.warn({ err: failure.message, code: failure.code }, 'reconcile failed');
      await this.writeFailure(claim, failure.reason, failure.message, log);
      return { kind: 'retry', error: err, ...(failure.maxDelayMs !== undefined ? { maxDelayMs: failure.maxDelayMs } : {}) };
    }
  }

  // --- apply ------------------------------------------------------------------

  private async apply(claim: AwsWorkloadIdentityClaim, ensureFinalizer: () => Promise<AwsWorkloadIdentityClaim>, log: Logger): Promise<ReconcileOutcome> {
    const options = await this.compileOptions(claim);
    const compiled = compileClaim(claim, this.o.config, options);
    if (compiled.ok) return this.enforce(claim, ensureFinalizer, claim, compiled.desired, log);
    // Refused. A claim that compiled before keeps enforcing its last valid
    // state (a bad edit must not leave hand edits in place); one that never
    // did gets a terminal condition naming field and rule, and no AWS call.
    const last = lastValid(claim, this.o.config, options);
    if (!last) {
      await this.writeProblems(claim, compiled.problems, log);
      return { kind: 'terminal' };
    }
    return this.enforce(claim, ensureFinalizer, last.source, last.desired, log, { problems: compiled.problems, generation: last.generation });
  }

  /** The namespace's labels, read only when a guardrail of the claim's namespace pins owner or environment to one. */
  private async compileOptions(claim: AwsWorkloadIdentityClaim): Promise<CompileOptions> {
    const namespace = claim.metadata.namespace;
    if (!namespace || !this.o.namespaces) return {};
    const g = effectiveGuardrail(namespace, this.o.config);
    if (![...g.ownerPins, ...g.environmentPins].some((pin) => pin.fromNamespaceLabel)) return {};
    const labels = await this.o.namespaces.labels(namespace);
    return labels ? { namespaceLabels: labels } : {};
  }

  /**
   * Observe, plan, apply and write status for one desired state: the claim's
   * own (source = claim) or, for a refused claim, its last valid one (source
   * = the claim with its recorded spec, `refusal` says why).
   */
  private async enforce(
    claim: AwsWorkloadIdentityClaim,
    ensureFinalizer: () => Promise<AwsWorkloadIdentityClaim>,
    source: AwsWorkloadIdentityClaim,
    compiled: DesiredState,
    log: Logger,
    refusal?: Refusal,
  ): Promise<ReconcileOutcome> {
    let desired = compiled;
    claim = await ensureFinalizer();

    const key = claimKey(claim.metadata.namespace ?? '', claim.metadata.name);
    const managers = this.withOwnWrites(this.managersFor(desired.accountId), key);
    let observed = await this.observe(desired, managers, claim);
    const previous = claim.status?.conditions;

    // A mechanism switch keeps the old trust while running pods use it (switch.ts).
    // Both trusts must fit: if they do not, refuse before anything changes.
    const switchStarted = previous?.find((c) => c.type === SWITCH_CONDITION && c.status === 'True')?.lastTransitionTime;
    let sw = await this.checks.mechanismSwitch(key, desired, observed, switchStarted ? new Date(switchStarted) : undefined, false);
    if (sw.keepOldTrust) {
      const again = compileClaim(source, this.o.config, { ...(await this.compileOptions(source)), alsoTrust: sw.from });
      if (!again.ok) {
        await this.writeProblems(claim, again.problems.map((p) => ({
          ...p, field: p.reason === 'LimitExceeded' ? 'spec.mechanism' : p.field,
          message: `switching from ${sw.from} to ${desired.mechanism} keeps both trusts until no running pod uses ${sw.from}, and they do not fit together: ${p.message}; nothing was changed (revert spec.mechanism, or raise the limit)`,
        })), log);
        return { kind: 'terminal' };
      }
      desired = again.desired;
    }

    // Missing prerequisites: an IRSA trust naming an OIDC provider that does not
    // exist is refused by IAM and useless to pods, so nothing is written until
    // the provider is there; a missing Pod Identity agent does not block writes
    // (the association is correct and works the moment the agent is installed).
    const prerequisite = await this.checks.prerequisite(desired);
    if (prerequisite?.reason === 'OIDCProviderMissing') {
      await this.writeStatus(claim, prerequisiteConditions(prerequisite), log, { lastDriftCheckTime: this.now().toISOString() });
      return { kind: 'retry', error: new Error(prerequisite.message) };
    }

    // Revocation (revoke.ts): the identity the claim moves away from is on record before the new one is made.
    let retiring = refusal ? undefined : await this.recordRetiring(claim, compiled, log);

    // Cross-account Pod Identity (source-role.ts): the source role before the claim role's trust names it, and that trust with the association's external id.
    const chain = desired.sourceRole ? await this.ensureSourceRole(desired, observed, log) : undefined;
    if (chain) desired = chain.desired;
    let plan = planReconcile(desired, observed);
    // A switch or a source role can change the desired trust after the cached look: never write from the cache.
    const confirmed = await this.confirmBeforeWriting(desired, managers, claim, observed, plan);
    if (confirmed !== observed) {
      observed = confirmed;
      plan = planReconcile(desired, observed);
    }
    if (chain?.blocker) plan = { ...plan, blockers: [...plan.blockers, chain.blocker] };
    // Verified before the steps run: what a pod gets right now.
    const credentials = plan.blockers.length ? undefined : await this.checks.credentials(key, desired, observed, plan.steps.some((s) => !isRetireStep(s)), log, recordedVerdict(claim));
    sw = withVerification(sw, !credentials || credentials.status === 'True');
    if (!sw.mayRetireBinding) plan = { ...plan, steps: plan.steps.filter((s) => !isRetireStep(s)) };
    const writesRole = plan.steps.some((st) => stepResource(st) === 'Role' || stepResource(st) === 'Policy');
    let executed: Awaited<ReturnType<Reconciler['executeAll']>>;
    try {
      executed = await this.executeAll(plan.steps, desired, observed.serviceAccount, managers, log, this.cachedKinds(observed));
    } finally {
      // Even a failed or partial run may have changed the role: the next lookup reads it directly.
      if (writesRole) this.o.roleCache?.wrote(desired.accountId, desired.role.name);
    }
    const { applied, propagating } = executed;
    if (applied.length) this.checks.wrote(key);
    // A create AWS refused because the cached "absent" was wrong: run again now, reading that resource directly (no status from a wrong view).
    if (executed.stale) return { kind: 'conflict' };
    // Propagation confirmed in this reconcile by what a pod gets (CredentialsVerified), not by a second
    // reconcile: the writes above count as Ready only if a token exchange right after them succeeds.
    // Not when pods were refused before the writes (status and events first say so: VerificationFailed),
    // nor during a mechanism switch (Ready waits until the old binding and trust are retired).
    const refusedBefore = credentials?.reason === 'VerificationFailed' || credentials?.reason === 'UnexpectedRole';
    const afterWrites = applied.length && !propagating && !plan.blockers.length && !refusedBefore && !sw.inProgress && this.checks.verificationEnabled
      ? await this.checks.credentials(key, desired, {
          ...observed,
          ...(executed.serviceAccount ? { serviceAccount: executed.serviceAccount } : {}),
          role: roleAsWritten(desired, observed.role, applied.some((st) => stepResource(st) === 'Role')),
        }, true, log)
      : undefined;
    const verifiedAfterWrites = afterWrites?.status === 'True';
    // Every role write went through (none stopped on propagation): the role is as written, whether or not IAM
    // shows it yet, so the next reconcile (the echo of these writes, the propagation re-check) reads no role back;
    // the credentials check confirms propagation (without verification, a direct read does).
    if (writesRole && !propagating && this.checks.verificationEnabled) this.o.roleCache?.confirmedWrite(desired.accountId, desired.role.name, roleAfterCompletePlan(desired));
    const finalCredentials = afterWrites ?? credentials;
    const retired = applied.filter(isRetireStep);
    if (retired.length) {
      await this.o.events.record(claim, 'Normal', 'OldBindingRetired', `Switch from ${sw.from} to ${desired.mechanism}: retired the ${sw.from} binding (${retired.map(describeStep).join('; ')}); ${sw.podsOnOld.length ? `${sw.podsOnOld.length} running pods still on ${sw.from} (switchMaxSeconds passed)` : `no running pod uses ${sw.from}`}.`, 'Retire');
    }
    if (sw.inProgress && !sw.keepOldTrust && applied.some((s) => s.kind === 'UpdateTrustPolicy')) {
      await this.o.events.record(claim, 'Normal', 'OldTrustRetired', `Switch from ${sw.from} to ${desired.mechanism} complete: the role no longer trusts ${sw.from}.`, 'Retire');
    }

    // The association just created, for status: what CreateAssociation returned, not a read-back.
    if (executed.created) observed = { ...observed, associations: [...observed.associations, executed.created] };
    const association = claimAssociations(desired, observed).ours[0];

    let conditions = foldChecks(resourceConditions(desired, plan.blockers, verifiedAfterWrites ? [] : applied, propagating), {
      blocked: plan.blockers.length > 0,
      ...(prerequisite ? { prerequisite } : {}),
      ...(finalCredentials ? { credentials: finalCredentials } : {}),
      ...(sw.inProgress && sw.condition ? { mechanismSwitch: sw.condition } : {}),
    });
    if (refusal) conditions = withRefusal(conditions, refusal);
    const revoked = applied.filter((s) => s.kind === 'RevokeAssociation');
    if (revoked.length) await this.o.events.record(claim, 'Warning', 'AssociationRevoked', `${revoked.map(describeStep).join('; ')}: awi does not leave a binding on a ServiceAccount that is not the claim's.`, 'Revoke');
    const corrected = applied.filter((s) => s.kind !== 'RevokeAssociation');
    const appliedNews = appliedEvent(corrected.map((s) => ({ kind: s.kind, description: describeStep(s) })), corrected.length > 0 && isDriftCorrection(claim, refusal !== undefined));
    if (appliedNews) await this.o.events.record(claim, appliedNews.type, appliedNews.reason, appliedNews.note, appliedNews.action);
    const now = this.now().toISOString();
    const ready = conditions.find((c) => c.type === 'Ready')?.status === 'True';
    // The new identity is Ready (and verified, where verification is on): the old one goes now.
    if (retiring?.length && ready) retiring = await this.retire(claim, retiring, identityOf(desired), log);
    // A claim blocked on the ServiceAccount or the role manages no role: do not
    // report one (with the default name template it would be the other claim's).
    const managesRole = !plan.blockers.some((b) => b.resource === 'ServiceAccount' || b.resource === 'Role');
    await this.writeStatus(claim, conditions, log, {
      mechanism: desired.mechanism,
      roleArn: managesRole ? desired.role.arn : null,
      policyDigest: desired.digests.policy,
      trustPolicyDigest: desired.digests.trust,
      ...(desired.binding.kind === 'PodIdentityAssociation' && association ? { associationId: association.associationId } : { associationId: null }),
      // Times move at a coarse interval (or when something changed), so a no-op resync writes no status.
      lastDriftCheckTime: this.coarseTime(claim.status?.lastDriftCheckTime, now, applied.length > 0),
      ...(ready ? { lastSyncTime: this.coarseTime(claim.status?.lastSyncTime, now, applied.length > 0 || !isReady(claim.status?.conditions)) } : {}),
      // The spec that compiled is the one to fall back on after a bad edit.
      ...(refusal ? {} : { applied: appliedRecord(claim, compiled) }),
      ...(retiring ? { retiring: retiring.length ? retiring : null } : {}),
    });

    if (refusal || plan.blockers.length) return { kind: 'terminal', requeueAfterMs: propagating || applied.length ? this.o.propagationRequeueMs : this.resyncDelay() };
    if (prerequisite) return { kind: 'retry', error: new Error(prerequisite.message) };
    // Not converged yet: the re-check goes before re-checks of converged claims (urgent), not behind every new claim.
    if (propagating || (applied.length && !verifiedAfterWrites) || finalCredentials?.reason === 'IAMPropagating' || finalCredentials?.reason === 'NotVerified') return { kind: 'done', requeueAfterMs: this.o.propagationRequeueMs, urgent: true };
    // Pods do not get the claimed role: look again with backoff (an exchange per attempt).
    if (finalCredentials && finalCredentials.status !== 'True') return { kind: 'retry', error: new Error(finalCredentials.message) };
    // A switch waiting for pods is woken by pod events; this is the backstop (and the switchMaxSeconds deadline).
    if (sw.inProgress) return { kind: 'done', requeueAfterMs: Math.min(this.resyncDelay(), 30_000) };
    return { kind: 'done', requeueAfterMs: this.checks.verificationEnabled ? Math.min(this.resyncDelay(), this.checks.verificationIntervalMs) : this.resyncDelay() };
  }

  private async ensureSourceRole(desired: DesiredState, observed: Observed, log: Logger): Promise<{ desired: DesiredState; blocker?: Blocker }> {
    const owner = { cluster: this.o.config.cluster.arn, namespace: desired.claim.namespace, claim: desired.claim.name };
    const out = await ensureSourceRole(desired.sourceRole!, owner, this.o.managers.cluster());
    if (out.applied.length) log.info({ steps: out.applied }, 'applied');
    return { desired: withObservedExternalId(desired, observed.associations), ...(out.blocker ? { blocker: out.blocker } : {}) };
  }

  /** The managers of one claim: IAM in its role's account; associations (in the cluster's account, whatever the role's) and ServiceAccounts. */
  private managersFor(accountId: string): ClaimManagers {
    return { ...this.o.managers.forAccount(accountId), association: this.o.managers.cluster().association, serviceAccounts: this.o.managers.serviceAccounts };
  }

  /**
   * The ServiceAccount writes of this claim's apply recorded as its own (a
   * create, or a patch at the resourceVersion it read), so their watch echo
   * does not run this claim again. Deletion's writes are not: releasing a
   * ServiceAccount must wake the claims waiting for it (their keys would still
   * run, but nothing is gained).
   */
  private withOwnWrites(m: ClaimManagers, by: string): ClaimManagers {
    const own = this.o.ownWrites?.serviceAccounts;
    if (!own) return m;
    const sa = m.serviceAccounts;
    const version = (w: ObservedServiceAccount) => w.resourceVersion;
    return {
      ...m,
      serviceAccounts: {
        get: (namespace, name) => sa.get(namespace, name),
        create: (desired) => own.track(`${desired.namespace}/${desired.name}`, by, () => sa.create(desired), version),
        patchMetadata: (current, labels, annotations) => own.track(`${current.namespace}/${current.name}`, by, () => sa.patchMetadata(current, labels, annotations), version),
        delete: (current) => sa.delete(current),
      },
    };
  }

  /** Runs the steps in order, each by its resource's module; stops at the first that finds AWS still propagating an earlier write. */
  private async executeAll(
    steps: Step[],
    desired: DesiredState,
    serviceAccount: ObservedServiceAccount | undefined,
    managers: ClaimManagers,
    log: Logger,
    fromCache: ReadonlySet<ResourceKind>,
  ): Promise<{ applied: Step[]; propagating: boolean; stale?: boolean; created?: ObservedAssociation; serviceAccount?: ObservedServiceAccount }> {
    const applied: Step[] = [];
    const ctx: ExecuteContext = { desired, managers, clusterName: this.o.config.cluster.name, serviceAccount, log, associationCache: this.o.associationCache, fromCache };
    let created: ObservedAssociation | undefined;
    const result = (propagating: boolean) => ({ applied, propagating, ...(created ? { created } : {}), ...(ctx.serviceAccount ? { serviceAccount: ctx.serviceAccount } : {}) });
    for (const step of steps) {
      const outcome = await executeStep(step, ctx);
      if (outcome.serviceAccount) ctx.serviceAccount = outcome.serviceAccount;
      if (outcome.association) created = outcome.association;
      if (outcome.stale) return { ...result(false), stale: true };
      if (outcome.propagating) return result(true);
      applied.push(step);
    }
    if (applied.length) log.info({ steps: applied.map(describeStep) }, 'applied');
    return result(false);
  }

  private observeContext(desired: DesiredState, managers: ClaimManagers, claim: AwsWorkloadIdentityClaim): ObserveContext {
    return {
      desired, managers, clusterName: this.o.config.cluster.name, roleCache: this.o.roleCache, associationCache: this.o.associationCache,
      // A claim awi never applied has nothing to find in the role cache; what its status vouches for after a restart (observation/restart.ts).
      applied: claim.status?.applied !== undefined,
      assumeAssociation: (ref) => assumeFromStatus(claim, desired, ref),
      claimExists: async (namespace, name) => (await this.o.claims.get(namespace, name)) !== undefined,
    };
  }

  /**
   * The world as the plan needs it, each resource observing its part. A
   * resource with a shared observation (the role, from the role cache:
   * observation/role-cache.ts) answers from it when it has a recent one and
   * the plan finds nothing to change; otherwise, or right after awi's own
   * writes, it reads directly before anything is written (never act on a
   * stale cache).
   */
  private async observe(desired: DesiredState, m: ClaimManagers, claim: AwsWorkloadIdentityClaim): Promise<Observed> {
    const ctx = this.observeContext(desired, m, claim);
    const parts: ObservedParts = await Promise.all(OBSERVED.map(async (kind) => {
      const r: AnyResourceModule = RESOURCES[kind];
      const cached = r.cached ? await r.cached(ctx) : undefined;
      return { kind, cached: cached !== undefined, part: cached ?? (await r.observe!(ctx)) };
    }));
    const observed = this.remember(parts);
    return this.confirmBeforeWriting(desired, m, claim, observed, planReconcile(desired, observed));
  }

  /**
   * Never act on a cached view: each resource whose part came from a shared
   * observation and whose module says the plan needs it confirmed (by default:
   * any step or blocker) is read directly, and only that direct read stays.
   */
  private async confirmBeforeWriting(desired: DesiredState, m: ClaimManagers, claim: AwsWorkloadIdentityClaim, observed: Observed, plan: Plan): Promise<Observed> {
    const parts = this.fromCache.get(observed);
    if (!parts) return observed;
    const stale = parts.filter((p) => p.cached && mustConfirm(p.kind, plan));
    if (!stale.length) return observed;
    const ctx = this.observeContext(desired, m, claim);
    const direct = await Promise.all(stale.map(async (p) => ({ kind: p.kind, cached: false, part: await (RESOURCES[p.kind] as AnyResourceModule).observe!(ctx) })));
    return this.remember(parts.map((p) => direct.find((d) => d.kind === p.kind) ?? p));
  }

  /** The resources whose part of this observation a shared observation answered (no direct read in this reconcile). */
  private cachedKinds(observed: Observed): ReadonlySet<ResourceKind> {
    return new Set((this.fromCache.get(observed) ?? []).filter((p) => p.cached).map((p) => p.kind));
  }

  private remember(parts: ObservedParts): Observed {
    const observed = assemble(parts.map((p) => p.part));
    if (parts.some((p) => p.cached)) this.fromCache.set(observed, parts);
    return observed;
  }

  // --- revocation (revoke.ts decides, retire.ts removes) -------------------------

  /**
   * status.retiring for this desired state. When the identity moved, the old
   * one and the new status.applied are written in one status patch before
   * anything of the new identity is made. More than status can hold: the
   * waiting ones are retired first.
   */
  private async recordRetiring(claim: AwsWorkloadIdentityClaim, compiled: DesiredState, log: Logger): Promise<RetiringIdentity[]> {
    const update = recordIdentityMove(claim.status, identityOf(compiled));
    if (!update.changed) return update.retiring;
    const retiring = update.overflow ? await this.retire(claim, update.retiring, identityOf(compiled), log) : update.retiring;
    log.info({ retiring: retiring.map((e) => `${e.roleArn} ${e.serviceAccount}`) }, 'identity moved: the old one is recorded for retirement');
    await this.o.claims.patchStatus(claim, { applied: appliedRecord(claim, compiled), retiring: retiring.length ? retiring : null });
    return retiring;
  }

  /** Removes the retiring identities except what `keep` still uses; returns what remains to retire (nothing: failures throw). */
  private async retire(claim: AwsWorkloadIdentityClaim, entries: RetiringIdentity[], keep: Partial<IdentityRef>, log: Logger): Promise<RetiringIdentity[]> {
    const owner = { cluster: this.o.config.cluster.arn, namespace: claim.metadata.namespace ?? '', claim: claim.metadata.name };
    const { removed, unreachable } = await retireIdentities(retireActions(entries, keep), {
      managers: this.o.managers, config: this.o.config, owner, log,
      roleWritten: (account, role) => this.o.roleCache?.wrote(account, role),
      associationWritten: (namespace, serviceAccount, ids) => this.o.associationCache?.wrote(namespace, serviceAccount, ids),
    });
    log.info({ removed, unreachable }, 'retired identities the claim no longer asks for');
    if (unreachable.length) {
      await this.o.events.record(claim, 'Warning', 'OldIdentityNotRetired', `Role ${unreachable.join(', ')} is in an account no longer in the platform config's accounts list: awi cannot delete it; delete it by hand.`);
    }
    if (removed.length) {
      const what = entries.map((e) => `role ${e.roleArn} for ServiceAccount ${owner.namespace}/${e.serviceAccount}`).join('; ');
      await this.o.events.record(claim, 'Normal', 'OldIdentityRetired', `The claim no longer asks for ${what}: removed ${removed.join(', ')}.`, 'Retire');
    }
    return [];
  }

  // --- delete -----------------------------------------------------------------

  /** The claim is deleted: retire what it moved away from, then delete or release what it holds (deletionPolicy). */
  private async cleanup(claim: AwsWorkloadIdentityClaim, log: Logger): Promise<void> {
    const target = cleanupTarget(claim, this.o.config);
    // Identities the claim moved away from go whatever the deletion policy (it applies to the one in force).
    const leftover = retiringAtDeletion(claim.status, target && { roleArn: target.roleArn, serviceAccount: target.serviceAccount.name });
    if (leftover.length) await this.retire(claim, leftover, target ? { roleArn: target.roleArn, serviceAccount: target.serviceAccount.name } : {}, log);
    if (target?.deletionPolicy === 'Retain') await this.release(claim, target, log);
    else if (target) await this.deleteResources(claim, target, log);
  }

  private cleanupContext(t: CleanupTarget, log: Logger): CleanupContext {
    const managers = this.managersFor(t.accountId);
    let role: Promise<ObservedRole | undefined> | undefined;
    return {
      target: t, managers, clusterIam: this.o.managers.cluster(), clusterName: this.o.config.cluster.name, log,
      role: () => (role ??= managers.role.get(t.roleName)),
      roleWritten: () => this.o.roleCache?.wrote(t.accountId, t.roleName),
    };
  }

  /** Delete policy: each resource removes what carries the claim's mark, in the registry's deletion order. Idempotent; NotFound counts as done. */
  private async deleteResources(claim: AwsWorkloadIdentityClaim, t: CleanupTarget, log: Logger): Promise<void> {
    const ctx = this.cleanupContext(t, log);
    const removed: string[] = [];
    for (const k of DELETE_ORDER) removed.push(...(await RESOURCES[k].cleanup(ctx)));
    log.info({ removed }, 'claim deleted: cleaned up');
    await this.o.events.record(claim, 'Normal', 'Deleted', removed.length ? `Deleted ${removed.join(', ')}.` : 'Nothing to delete.', 'Delete');
  }

  /** Retain policy: leave everything working, but mark the role as released by the claim, and let go of the ServiceAccount. */
  private async release(claim: AwsWorkloadIdentityClaim, t: CleanupTarget, log: Logger): Promise<void> {
    const ctx = this.cleanupContext(t, log);
    const released: Partial<Record<ResourceKind, string[]>> = {};
    for (const k of DELETE_ORDER) {
      const r: AnyResourceModule = RESOURCES[k];
      if (r.release) released[k] = await r.release(ctx);
    }
    const serviceAccountReleased = (released.ServiceAccount ?? []).length > 0;
    log.info({ role: t.roleArn, serviceAccountReleased }, 'claim deleted with deletionPolicy Retain: AWS resources left in place');
    await this.o.events.record(
      claim, 'Normal', 'Retained',
      `deletionPolicy is Retain: role ${t.roleArn}, its policy and binding were left in place and tagged ${RELEASED_TAG}=true.` +
        (serviceAccountReleased ? ` ServiceAccount ${t.serviceAccount.namespace}/${t.serviceAccount.name} was released: a new claim may take it over.` : ''),
      'Retain',
    );
  }

  // --- status -----------------------------------------------------------------

  private async writeProblems(claim: AwsWorkloadIdentityClaim, problems: Problem[], log: Logger): Promise<void> {
    log.info({ problems }, 'claim refused');
    const refused = refusedStatus(claim, problems);
    for (const e of refused.events) await this.o.events.record(claim, e.type, e.reason, e.note, e.action);
    await this.writeStatus(claim, refused.conditions, log, {});
  }

  private async writeFailure(claim: AwsWorkloadIdentityClaim, reason: string, message: string, log: Logger): Promise<void> {
    try {
      await this.writeStatus(claim, failureConditions(claim.status?.conditions, reason, message), log, {});
    } catch (err) {
      log.warn({ err: String(err) }, 'could not write failure status');
    }
  }

  private async writeStatus(claim: AwsWorkloadIdentityClaim, inputs: ConditionInput[], log: Logger, fields: ClaimStatusPatch): Promise<void> {
    const previous = claim.status?.conditions;
    const conditions = mergeConditions(previous, inputs, claim.metadata.generation, this.now().toISOString());
    const status: ClaimStatusPatch = { ...fields, observedGeneration: claim.metadata.generation, conditions };
    if (!statusUnchanged(claim.status, status)) await this.o.claims.patchStatus(claim, status);
    this.o.onReadyStatus?.(claimKey(claim.metadata.namespace ?? '', claim.metadata.name), conditions.find((c) => c.type === 'Ready')?.status);
    for (const c of changedConditions(previous, conditions)) log.info({ condition: c.type, status: c.status, reason: c.reason }, 'condition changed');
    for (const e of statusEvents(previous, conditions)) await this.o.events.record(claim, e.type, e.reason, e.note, e.action);
  }

  private coarseTime(previous: string | undefined, now: string, force: boolean): string {
    return coarseTime(previous, now, force, this.o.statusTimeRecordMs);
  }

  private resyncDelay(): number {
    const j = this.o.resyncJitterRatio;
    return Math.round(this.o.resyncMs * (1 - j + 2 * j * this.random()));
  }
}

export function describeStep(s: Step): string {
  switch (s.kind) {
    case 'PatchServiceAccount': return `PatchServiceAccount (${s.why})`;
    case 'UpdateRoleSettings': return `UpdateRoleSettings (${s.why})`;
    case 'TagRole': return `TagRole ${Object.keys(s.tags).join(',')}`;
    case 'UntagRole': return `UntagRole ${s.keys.join(',')}`;
    case 'DeleteInlinePolicy': return `DeleteInlinePolicy ${s.name}`;
    case 'AttachPolicy': case 'DetachPolicy': return `${s.kind} ${s.arn}`;
    case 'UpdateAssociation': return `association ${s.associationId}: ${s.drift.map(describeDrift).join(', ')}`;
    case 'TagAssociation': return `association ${s.associationId}: tags ${s.drift.map((d) => `${d.key} (was ${d.was === undefined ? 'unset' : d.was})`).join(', ')}`;
    case 'UntagAssociation': return `association ${s.associationId}: removed stale tags ${s.keys.join(', ')}`;
    case 'DeleteAssociation': return `DeleteAssociation ${s.associationId} (${s.why})`;
    case 'RevokeAssociation': return `removed Pod Identity association ${s.associationId} (${s.why})`;
    default: return s.kind;
  }
}


function describeDrift(d: AssociationDrift): string {
  const was = d.was === undefined ? 'unset' : d.field === 'policy' ? `a session policy of ${String(d.was).length} characters` : String(d.was);
  return `${d.field} (was ${was})`;
}

const identityOf = (d: DesiredState): IdentityRef => ({ roleArn: d.role.arn, serviceAccount: d.serviceAccount.name, mechanism: d.mechanism });
/** One observation from the resources' parts. */
const assemble = (parts: Partial<Observed>[]): Observed => ({ inlinePolicyNames: [], attachedPolicyArns: [], associations: [], ...Object.assign({}, ...parts) });

/** The resources that observe (the others are observed with them). */
const OBSERVED = PLAN_ORDER.filter((k) => (RESOURCES[k] as AnyResourceModule).observe);

/** Each resource's part of an observation, and whether a shared observation answered it. */
type ObservedParts = { kind: ResourceKind; cached: boolean; part: Partial<Observed> }[];

/** Must a cached part be read directly before this plan acts? The module says (default: any step or blocker). */
function mustConfirm(kind: ResourceKind, plan: Plan): boolean {
  const r: AnyResourceModule = RESOURCES[kind];
  return r.confirmBeforeActing ? r.confirmBeforeActing(plan) : plan.steps.length > 0 || plan.blockers.length > 0;
}

/** Runs one step with the module of its resource. */
function executeStep(step: Step, ctx: ExecuteContext): Promise<StepOutcome> {
  const executors = RESOURCES[stepResource(step)].execute as Record<string, (s: Step, c: ExecuteContext) => Promise<StepOutcome>>;
  return executors[step.kind]!(step, ctx);
}
