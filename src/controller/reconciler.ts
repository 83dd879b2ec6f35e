// reconcile(namespace/name): re-read the claim and the world, compile, plan,
// apply, write status. Never branches on watch events; running it twice is
// harmless. Deletion goes through the finalizer with the claim's
// deletionPolicy.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AwsWorkloadIdentityClaim, RetiringIdentity } from '../api/types.js';
import type { AwsClientFactory } from '../aws/clients.js';
import { awsErrorCode, awsErrorMessage, isAlreadyExists, isRetryableAws, isThrottled } from '../aws/errors.js';
import { compileClaim } from '../compiler/compile.js';
import { effectiveGuardrail } from '../compiler/guardrails.js';
import { summarizeProblems } from '../compiler/problems.js';
import type { CompileOptions, DesiredState, Problem } from '../compiler/types.js';
import type { PlatformConfig } from '../config/types.js';
import { claimKey, FINALIZER, parseClaimKey, type ClaimClient } from '../kube/claims.js';
import { isKubeConflict, kubeStatus } from '../kube/errors.js';
import type { EventRecorder } from '../kube/events.js';
import type { NamespaceReader } from '../kube/namespaces.js';
import { appliedRecord, lastValid } from './applied.js';
import {
  changedConditions, kubeErrorMessage, mergeConditions, sentence, type Condition, type ConditionInput, type ConditionType,
} from './conditions.js';
import { appliedEvent, statusEvents } from './event-policy.js';
import { AssociationManager, type ObservedAssociation } from './managers/association.js';
import { PermissionPolicyManager } from './managers/permission-policy.js';
import { RoleManager } from './managers/role.js';
import type { ObservedServiceAccount, ServiceAccountManager } from './managers/service-account.js';
import { ClaimChecks, foldChecks, isRetireStep, SWITCH_CONDITION, withVerification } from './checks.js';
import { cleanupTarget, type CleanupTarget } from './cleanup.js';
import { deleteSourceRole, ensureSourceRole, withObservedExternalId } from './source-role.js';
import type { RoleCache } from './observation/role-cache.js';
import { inlineView, type CachedRole } from './observation/role-pages.js';
import {
  associationUpdate, claimAssociations, ownedBy, ownedByClaim, planReconcile, serviceAccountClaim, RELEASE_LABELS, RELEASED_TAG,
  ROLE_ARN_ANNOTATION, stepResource, type AssociationDrift, type Blocker, type Observed, type Resource, type Step,
} from './plan.js';
import type { ReconcileOutcome } from './workqueue.js';
import { retireIdentities } from './retire.js';
import { recordIdentityMove, retireActions, retiringAtDeletion, type IdentityRef } from './revoke.js';

export interface ReconcilerOptions {
  config: PlatformConfig;
  claims: ClaimClient;
  serviceAccounts: ServiceAccountManager;
  aws: AwsClientFactory;
  events: EventRecorder;
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
}

const conditionFor: Record<Resource, ConditionType> = {
  ServiceAccount: 'ServiceAccountReady',
  Role: 'RoleReady',
  Policy: 'PolicyReady',
  Binding: 'BindingReady',
};

export class Reconciler {
  private readonly now: () => Date;
  private readonly random: () => number;
  readonly checks: ClaimChecks;
  /** Observations answered by the role cache (not read directly in this reconcile). */
  private readonly fromCache = new WeakSet<Observed>();

  constructor(private readonly o: ReconcilerOptions) {
    this.now = o.now ?? (() => new Date());
    this.random = o.random ?? Math.random;
    this.checks = o.checks ?? new ClaimChecks({ controller: { ...o.config.controller, verification: { enabled: false, intervalSeconds: 600 } }, now: this.now });
  }

  async reconcile(key: string): Promise<ReconcileOutcome> {
    const { namespace, name } = parseClaimKey(key);
    const log = this.o.log.child({ claim: key, reconcileId: randomUUID().slice(0, 8) });
    const claim = await this.o.claims.get(namespace, name);
    if (!claim) {
      this.checks.forget(key);
      this.o.onReadyStatus?.(key, undefined);
      return { kind: 'done' };
    }
    try {
      return claim.metadata.deletionTimestamp ? await this.finalize(claim, log) : await this.apply(claim, log);
    } catch (err) {
      if (isKubeConflict(err)) {
        log.debug('conflict writing to the API server; requeue');
        return { kind: 'conflict' };
      }
      const kube = kubeStatus(err);
      const reason = kube !== undefined ? 'KubernetesAPIError' : isThrottled(err) ? 'Throttled' : isRetryableAws(err) ? 'AWSUnavailable' : 'AWSError';
      const message = kube !== undefined ? kubeErrorMessage(err, kube) : awsErrorMessage(err);
      log.warn({ err: message, code: kube ?? awsErrorCode(err) }, 'reconcile failed');
      await this.writeFailure(claim, reason, message, log);
      return { kind: 'retry', error: err };
    }
  }

  // --- apply ------------------------------------------------------------------

  private async apply(claim: AwsWorkloadIdentityClaim, log: Logger): Promise<ReconcileOutcome> {
    const options = await this.compileOptions(claim);
    const compiled = compileClaim(claim, this.o.config, options);
    if (compiled.ok) return this.enforce(claim, claim, compiled.desired, log);
    // Refused. A claim that compiled before keeps enforcing its last valid
    // state (a bad edit must not leave hand edits in place); one that never
    // did gets a terminal condition naming field and rule, and no AWS call.
    const last = lastValid(claim, this.o.config, options);
    if (!last) {
      await this.writeProblems(claim, compiled.problems, log);
      return { kind: 'terminal' };
    }
    return this.enforce(claim, last.source, last.desired, log, { problems: compiled.problems, generation: last.generation });
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
    source: AwsWorkloadIdentityClaim,
    compiled: DesiredState,
    log: Logger,
    refusal?: Refusal,
  ): Promise<ReconcileOutcome> {
    let desired = compiled;
    const finalizers = (claim.metadata.finalizers as string[] | undefined) ?? [];
    if (!finalizers.includes(FINALIZER)) claim = await this.o.claims.setFinalizers(claim, [...finalizers, FINALIZER]);

    const managers = this.managersFor(desired.accountId);
    // A claim awi never applied has nothing to find in the cache: its role is read directly (and written).
    let observed = await this.observe(desired, managers, claim.status?.applied !== undefined);
    const key = claimKey(claim.metadata.namespace ?? '', claim.metadata.name);
    const previous = claim.status?.conditions as Condition[] | undefined;

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
      const blocked = (type: ConditionType): ConditionInput => ({ type, status: 'Unknown', reason: prerequisite.reason, message: `Not evaluated: ${prerequisite.message}` });
      await this.writeStatus(claim, [{ type: 'Ready', status: 'False', reason: prerequisite.reason, message: prerequisite.message }, blocked('PolicyReady'), blocked('RoleReady'), blocked('BindingReady'), blocked('ServiceAccountReady')], log, { lastDriftCheckTime: this.now().toISOString() });
      return { kind: 'retry', error: new Error(prerequisite.message) };
    }

    // Revocation (revoke.ts): the identity the claim moves away from is on record before the new one is made.
    let retiring = refusal ? undefined : await this.recordRetiring(claim, compiled, log);

    // Cross-account Pod Identity (source-role.ts): the source role before the claim role's trust names it, and that trust with the association's external id.
    const chain = desired.sourceRole ? await this.ensureSourceRole(desired, observed, log) : undefined;
    if (chain) desired = chain.desired;
    let plan = planReconcile(desired, observed);
    // A switch or a source role can change the desired trust after the cached look: never write from the cache.
    if (plan.steps.length && this.fromCache.has(observed)) {
      observed = { ...observed, ...(await this.readRole(desired, managers)) };
      plan = planReconcile(desired, observed);
    }
    if (chain?.blocker) plan = { ...plan, blockers: [...plan.blockers, chain.blocker] };
    // Verified before the steps run: what a pod gets right now.
    const credentials = plan.blockers.length ? undefined : await this.checks.credentials(key, desired, observed, plan.steps.some((s) => !isRetireStep(s)), log);
    sw = withVerification(sw, !credentials || credentials.status === 'True');
    if (!sw.mayRetireBinding) plan = { ...plan, steps: plan.steps.filter((s) => !isRetireStep(s)) };
    const writesRole = plan.steps.some((st) => stepResource(st) === 'Role' || stepResource(st) === 'Policy');
    let executed: Awaited<ReturnType<Reconciler['executeAll']>>;
    try {
      executed = await this.executeAll(plan.steps, desired, observed.serviceAccount, managers, log);
    } finally {
      // Even a failed or partial run may have changed the role: the next lookup reads it directly.
      if (writesRole) this.o.roleCache?.wrote(desired.accountId, desired.role.name);
    }
    const { applied, propagating } = executed;
    if (applied.length) this.checks.wrote(key);
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

    let conditions = foldChecks(this.conditions(desired, plan.blockers, applied, propagating), {
      blocked: plan.blockers.length > 0,
      ...(prerequisite ? { prerequisite } : {}),
      ...(credentials ? { credentials } : {}),
      ...(sw.inProgress && sw.condition ? { mechanismSwitch: sw.condition } : {}),
    });
    if (refusal) conditions = withRefusal(conditions, refusal);
    const revoked = applied.filter((s) => s.kind === 'RevokeAssociation');
    if (revoked.length) await this.o.events.record(claim, 'Warning', 'AssociationRevoked', `${revoked.map(describeStep).join('; ')}: awi does not leave a binding on a ServiceAccount that is not the claim's.`, 'Revoke');
    const corrected = applied.filter((s) => s.kind !== 'RevokeAssociation');
    const appliedNews = appliedEvent(corrected.map((s) => ({ kind: s.kind, description: describeStep(s) })), corrected.length > 0 && this.isDriftCorrection(claim, refusal));
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
      ...(ready ? { lastSyncTime: this.coarseTime(claim.status?.lastSyncTime, now, applied.length > 0 || !wasReady(claim)) } : {}),
      // The spec that compiled is the one to fall back on after a bad edit.
      ...(refusal ? {} : { applied: appliedRecord(claim, compiled) }),
      ...(retiring ? { retiring: retiring.length ? retiring : null } : {}),
    });

    if (refusal || plan.blockers.length) return { kind: 'terminal', requeueAfterMs: propagating || applied.length ? this.o.propagationRequeueMs : this.resyncDelay() };
    if (prerequisite) return { kind: 'retry', error: new Error(prerequisite.message) };
    if (propagating || applied.length || credentials?.reason === 'IAMPropagating' || credentials?.reason === 'NotVerified') return { kind: 'done', requeueAfterMs: this.o.propagationRequeueMs };
    // Pods do not get the claimed role: look again with backoff (an exchange per attempt).
    if (credentials && credentials.status !== 'True') return { kind: 'retry', error: new Error(credentials.message) };
    // A switch waiting for pods is woken by pod events; this is the backstop (and the switchMaxSeconds deadline).
    if (sw.inProgress) return { kind: 'done', requeueAfterMs: Math.min(this.resyncDelay(), 30_000) };
    return { kind: 'done', requeueAfterMs: this.checks.verificationEnabled ? Math.min(this.resyncDelay(), this.checks.verificationIntervalMs) : this.resyncDelay() };
  }

  /**
   * Steps taken while the desired state stayed the same are corrections of
   * drift: after Ready at this generation, or at any time while refused (the
   * last valid state does not change).
   */
  private isDriftCorrection(claim: AwsWorkloadIdentityClaim, refusal: Refusal | undefined): boolean {
    if (refusal) return true;
    const previous = claim.status?.conditions as Condition[] | undefined;
    const wasReady = previous?.find((c) => c.type === 'Ready')?.status === 'True';
    return wasReady && claim.status?.observedGeneration === claim.metadata.generation;
  }

  private async ensureSourceRole(desired: DesiredState, observed: Observed, log: Logger): Promise<{ desired: DesiredState; blocker?: Blocker }> {
    const iam = this.o.aws.forAccount(this.o.config.cluster.accountId).iam;
    const owner = { cluster: this.o.config.cluster.arn, namespace: desired.claim.namespace, claim: desired.claim.name };
    const out = await ensureSourceRole(desired.sourceRole!, owner, { role: new RoleManager(iam), policy: new PermissionPolicyManager(iam) });
    if (out.applied.length) log.info({ steps: out.applied }, 'applied');
    return { desired: withObservedExternalId(desired, observed.associations), ...(out.blocker ? { blocker: out.blocker } : {}) };
  }

  private managersFor(accountId: string): Managers {
    const aws = this.o.aws.forAccount(accountId);
    return {
      role: new RoleManager(aws.iam),
      policy: new PermissionPolicyManager(aws.iam),
      // Associations live in the cluster's account, whatever account the role is in.
      association: new AssociationManager(this.o.aws.forAccount(this.o.config.cluster.accountId).eks),
    };
  }

  /** Runs the steps in order; stops at the first that finds AWS still propagating an earlier write. */
  private async executeAll(
    steps: Step[],
    desired: DesiredState,
    serviceAccount: ObservedServiceAccount | undefined,
    managers: Managers,
    log: Logger,
  ): Promise<{ applied: Step[]; propagating: boolean; created?: ObservedAssociation }> {
    const applied: Step[] = [];
    let sa = serviceAccount;
    let created: ObservedAssociation | undefined;
    for (const step of steps) {
      const outcome = await this.execute(step, desired, sa, managers, log);
      if (outcome.sa) sa = outcome.sa;
      if (outcome.association) created = outcome.association;
      if (outcome.propagating) return { applied, propagating: true, ...(created ? { created } : {}) };
      applied.push(step);
    }
    if (applied.length) log.info({ steps: applied.map(describeStep) }, 'applied');
    return { applied, propagating: false, ...(created ? { created } : {}) };
  }

  /**
   * The world as the plan needs it. IAM comes from the shared role cache
   * (observation/role-cache.ts) when it has a recent observation and the plan
   * finds nothing to change; otherwise, or right after awi's own writes, the
   * role is read directly before anything is written (never act on a stale cache).
   */
  private async observe(desired: DesiredState, m: Managers, useCache: boolean): Promise<Observed> {
    const [serviceAccount, associations, cached] = await Promise.all([
      this.o.serviceAccounts.get(desired.serviceAccount.namespace, desired.serviceAccount.name),
      m.association.find(this.o.config.cluster.name, desired.serviceAccount.namespace, desired.serviceAccount.name),
      this.o.roleCache && useCache ? this.o.roleCache.lookup(desired.accountId, desired.role.name) : Promise.resolve('unknown' as const),
    ]);
    const holderGone = serviceAccount ? await this.holderGone(serviceAccount, desired) : false;
    const assemble = (iam: RoleView): Observed => ({
      ...(serviceAccount ? { serviceAccount } : {}),
      ...(holderGone ? { serviceAccountHolderGone: true } : {}),
      ...iam,
      associations,
    });
    if (cached !== 'unknown') {
      const fromCache = assemble(roleViewFromCache(cached.value, desired));
      const plan = planReconcile(desired, fromCache);
      if (!plan.steps.length && !plan.blockers.length) {
        this.fromCache.add(fromCache);
        return fromCache;
      }
    }
    return assemble(await this.readRole(desired, m));
  }

  /** Direct reads of the claim's role (GetRole, GetRolePolicy, ListRolePolicies, ListAttachedRolePolicies); tells the cache. */
  private async readRole(desired: DesiredState, m: Managers): Promise<RoleView> {
    const startedAt = Date.now();
    const role = await m.role.get(desired.role.name);
    const ours = role && ownedByClaim(role.tags, desired);
    const [inlinePolicy, inlinePolicyNames, attachedPolicyArns] = ours
      ? await Promise.all([
          m.policy.getInline(role.name, desired.permissionPolicy.name),
          m.policy.listInlineNames(role.name),
          m.policy.listAttached(role.name),
        ])
      : [undefined, [], []];
    // Only a complete picture goes into the cache: no role, or awi's role whose inline policies were all read.
    if (!role) this.o.roleCache?.observed(desired.accountId, desired.role.name, undefined, startedAt);
    else if (ours && inlinePolicyNames.every((n) => n === desired.permissionPolicy.name)) {
      this.o.roleCache?.observed(desired.accountId, desired.role.name, {
        role, inlinePolicies: inlinePolicy ? { [desired.permissionPolicy.name]: inlinePolicy } : {}, attachedPolicyArns,
      }, startedAt);
    }
    return { ...(role ? { role } : {}), ...(inlinePolicy ? { inlinePolicy } : {}), inlinePolicyNames, attachedPolicyArns };
  }

  /** Does the ServiceAccount name another claim that no longer exists? (One read, only when it names another claim.) */
  private async holderGone(sa: ObservedServiceAccount, desired: DesiredState): Promise<boolean> {
    const holder = serviceAccountClaim(sa);
    if (!holder || (holder.namespace === desired.claim.namespace && holder.claim === desired.claim.name)) return false;
    return (await this.o.claims.get(holder.namespace, holder.claim)) === undefined;
  }

  /** Runs one step. `propagating` means AWS has not caught up with an earlier write yet. */
  private async execute(
    step: Step,
    d: DesiredState,
    sa: ObservedServiceAccount | undefined,
    m: Managers,
    log: Logger,
  ): Promise<{ sa?: ObservedServiceAccount; propagating?: boolean; association?: ObservedAssociation }> {
    const role = d.role.name;
    switch (step.kind) {
      case 'CreateServiceAccount':
        // Labels and binding annotations in the same write: no pod ever sees it unbound.
        return { sa: await this.o.serviceAccounts.create({ ...d.serviceAccount, annotations: step.annotations }) };
      case 'PatchServiceAccount': {
        if (!sa) throw new Error('internal: ServiceAccount patch before it exists');
        await this.o.serviceAccounts.patchMetadata(sa, step.labels, step.annotations);
        return {};
      }
      case 'CreateRole':
        try {
          await m.role.create(d.role);
          return {};
        } catch (err) {
          // The role exists but reads do not show it yet: IAM is eventually consistent.
          if (isAlreadyExists(err)) {
            log.info({ role }, 'role exists but is not yet visible to reads; waiting for IAM propagation');
            return { propagating: true };
          }
          throw err;
        }
      case 'UpdateTrustPolicy':
        await m.role.updateTrust(role, d.role.trustPolicy);
        return {};
      case 'UpdateRoleSettings':
        await m.role.updateSettings(role, d.role);
        return {};
      case 'TagRole':
        await m.role.tag(role, step.tags);
        return {};
      case 'UntagRole':
        await m.role.untag(role, step.keys);
        return {};
      case 'SetPermissionsBoundary':
        await m.role.setBoundary(role, d.role.permissionsBoundaryArn);
        return {};
      case 'PutInlinePolicy':
        await m.policy.putInline(role, d.permissionPolicy.name, d.permissionPolicy.document);
        return {};
      case 'DeleteInlinePolicy':
        await m.policy.deleteInline(role, step.name);
        return {};
      case 'AttachPolicy':
        await m.policy.attach(role, step.arn);
        return {};
      case 'DetachPolicy':
        await m.policy.detach(role, step.arn);
        return {};
      case 'CreateAssociation':
        if (d.binding.kind !== 'PodIdentityAssociation') return {};
        try {
          const association = await m.association.create(d.binding);
          return association ? { association } : {};
        } catch (err) {
          // Someone created one between our list and our create: look again next time.
          if (isAlreadyExists(err)) return { propagating: true };
          throw err;
        }
      case 'UpdateAssociation':
        await m.association.update(this.o.config.cluster.name, step.associationId, associationUpdate(step.drift));
        return {};
      case 'TagAssociation':
        await m.association.tag(step.associationArn, step.tags);
        return {};
      case 'UntagAssociation':
        await m.association.untag(step.associationArn, step.keys);
        return {};
      case 'DeleteAssociation':
      case 'RevokeAssociation':
        await m.association.delete(this.o.config.cluster.name, step.associationId);
        return {};
    }
  }

  private conditions(d: DesiredState, blockers: Blocker[], applied: Step[], propagating: boolean): ConditionInput[] {
    const touched = new Set(applied.map(stepResource));
    const perResource = (['Policy', 'Role', 'Binding', 'ServiceAccount'] as Resource[]).map((r): ConditionInput => {
      const type = conditionFor[r];
      const blocker = blockers.find((b) => b.resource === r);
      if (blocker) return { type, status: 'False', reason: blocker.reason, message: blocker.message };
      if (blockers.length) return { type, status: 'Unknown', reason: 'Blocked', message: `Not evaluated: ${blockers[0]!.message}` };
      if (propagating || (touched.has(r) && r !== 'ServiceAccount')) {
        return { type, status: 'False', reason: 'IAMPropagating', message: readyMessages[r](d, false) };
      }
      return { type, status: 'True', reason: 'Reconciled', message: readyMessages[r](d, true) };
    });
    // The summary names the cause: a blocker first, then the first resource not ready.
    const notReady = perResource.find((c) => c.status === 'False') ?? perResource.find((c) => c.status !== 'True');
    const summary: ConditionInput = notReady
      ? { type: 'Ready', status: 'False', reason: notReady.reason, message: notReady.message }
      : { type: 'Ready', status: 'True', reason: 'Reconciled', message: `Pods using ServiceAccount ${d.serviceAccount.namespace}/${d.serviceAccount.name} get role ${d.role.arn} through ${d.mechanism}.` };
    return [summary, ...perResource];
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
    const { removed, unreachable } = await retireIdentities(retireActions(entries, keep), { aws: this.o.aws, serviceAccounts: this.o.serviceAccounts, config: this.o.config, owner, log, roleWritten: (account, role) => this.o.roleCache?.wrote(account, role) });
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

  private async finalize(claim: AwsWorkloadIdentityClaim, log: Logger): Promise<ReconcileOutcome> {
    const finalizers = (claim.metadata.finalizers as string[] | undefined) ?? [];
    if (!finalizers.includes(FINALIZER)) return { kind: 'done' };
    const target = cleanupTarget(claim, this.o.config);
    // Identities the claim moved away from go whatever the deletion policy (it applies to the one in force).
    const leftover = retiringAtDeletion(claim.status, target && { roleArn: target.roleArn, serviceAccount: target.serviceAccount.name });
    if (leftover.length) await this.retire(claim, leftover, target ? { roleArn: target.roleArn, serviceAccount: target.serviceAccount.name } : {}, log);
    if (target?.deletionPolicy === 'Retain') await this.release(claim, target, log);
    else if (target) await this.cleanup(claim, target, log);
    await this.o.claims.setFinalizers(claim, finalizers.filter((f) => f !== FINALIZER));
    return { kind: 'done' };
  }

  /** Delete policy: binding, policies, role, then the ServiceAccount. Idempotent; NotFound counts as done. */
  private async cleanup(claim: AwsWorkloadIdentityClaim, t: CleanupTarget, log: Logger): Promise<void> {
    const aws = this.o.aws.forAccount(t.accountId);
    const role = new RoleManager(aws.iam);
    const policy = new PermissionPolicyManager(aws.iam);
    const association = new AssociationManager(this.o.aws.forAccount(this.o.config.cluster.accountId).eks);
    const removed: string[] = [];

    for (const a of await association.find(this.o.config.cluster.name, t.serviceAccount.namespace, t.serviceAccount.name)) {
      if (!ownedBy(a.tags, t.owner)) continue;
      await association.delete(a.clusterName, a.associationId);
      removed.push(`association ${a.associationId}`);
    }
    if (t.sourceRoleName) {
      const iam = this.o.aws.forAccount(this.o.config.cluster.accountId).iam;
      const gone = await deleteSourceRole(t.sourceRoleName, t.owner, { role: new RoleManager(iam), policy: new PermissionPolicyManager(iam) });
      if (gone) removed.push(gone);
    }
    const observedRole = await role.get(t.roleName);
    if (observedRole && ownedBy(observedRole.tags, t.owner)) {
      for (const name of await policy.listInlineNames(t.roleName)) await policy.deleteInline(t.roleName, name);
      for (const arn of await policy.listAttached(t.roleName)) await policy.detach(t.roleName, arn);
      await role.delete(t.roleName);
      this.o.roleCache?.wrote(t.accountId, t.roleName);
      removed.push(`role ${observedRole.arn} and its policies`);
    } else if (observedRole) {
      log.warn({ role: observedRole.arn }, 'role not owned by this claim: left in place');
    }
    // The ServiceAccount last: releasing it wakes any claim waiting for it, which
    // must then find the role gone too.
    const sa = await this.o.serviceAccounts.get(t.serviceAccount.namespace, t.serviceAccount.name);
    const saClaim = sa && serviceAccountClaim(sa);
    if (sa && saClaim?.claim === t.owner.claim && saClaim.namespace === t.owner.namespace) {
      await this.o.serviceAccounts.delete(sa);
      removed.push(`ServiceAccount ${sa.namespace}/${sa.name}`);
    }
    log.info({ removed }, 'claim deleted: cleaned up');
    await this.o.events.record(claim, 'Normal', 'Deleted', removed.length ? `Deleted ${removed.join(', ')}.` : 'Nothing to delete.', 'Delete');
  }

  /** Retain policy: leave everything working, but mark the role as released by the claim. */
  private async release(claim: AwsWorkloadIdentityClaim, t: CleanupTarget, log: Logger): Promise<void> {
    const role = new RoleManager(this.o.aws.forAccount(t.accountId).iam);
    const observedRole = await role.get(t.roleName);
    if (observedRole && ownedBy(observedRole.tags, t.owner)) {
      await role.tag(t.roleName, { [RELEASED_TAG]: 'true' });
      this.o.roleCache?.wrote(t.accountId, t.roleName);
    }
    const released = await this.releaseServiceAccount(t);
    log.info({ role: t.roleArn, serviceAccountReleased: released }, 'claim deleted with deletionPolicy Retain: AWS resources left in place');
    await this.o.events.record(
      claim, 'Normal', 'Retained',
      `deletionPolicy is Retain: role ${t.roleArn}, its policy and binding were left in place and tagged ${RELEASED_TAG}=true.` +
        (released ? ` ServiceAccount ${t.serviceAccount.namespace}/${t.serviceAccount.name} was released: a new claim may take it over.` : ''),
      'Retain',
    );
  }

  /**
   * Lets go of the claim's ServiceAccount: awi's claim labels go, so a new
   * claim may take it over; the managed-by label stays (it is still awi's to
   * hand over) and so does the binding annotation (Retain keeps pods working).
   */
  private async releaseServiceAccount(t: CleanupTarget): Promise<boolean> {
    const sa = await this.o.serviceAccounts.get(t.serviceAccount.namespace, t.serviceAccount.name);
    const saClaim = sa && serviceAccountClaim(sa);
    if (!sa || saClaim?.claim !== t.owner.claim || saClaim.namespace !== t.owner.namespace) return false;
    await this.o.serviceAccounts.patchMetadata(sa, RELEASE_LABELS, {});
    return true;
  }

  // --- status -----------------------------------------------------------------

  private async writeProblems(claim: AwsWorkloadIdentityClaim, problems: Problem[], log: Logger): Promise<void> {
    const first = problems[0]!;
    // Say so when what was made for an earlier spec is left unenforced (its spec no longer compiles either).
    const applied = claim.status?.applied;
    const summary = problemsMessage(problems);
    const message = applied
      ? `${sentence(summary)} The last valid spec (generation ${applied.generation}) no longer compiles either: role ${applied.roleArn} and its binding are left as they are, not enforced, until the claim is fixed or deleted.`
      : summary;
    log.info({ problems }, 'claim refused');
    // The status lists the first problems only (a status over the API server's limits is never
    // written): one Warning Event names every problem, once per new refusal.
    const omitted = Number(/\nand (\d+) more$/.exec(summary)?.[1] ?? 0);
    const previous = (claim.status?.conditions as Condition[] | undefined)?.find((c) => c.type === 'Ready');
    if (omitted > 0 && previous?.message !== message) {
      await this.o.events.record(claim, 'Warning', 'ProblemsSummarized', `${problems.length} problems, the status lists the first ${problems.length - omitted} (all are in the controller's log, "claim refused"): ${problems.map((p) => `${p.field} (${p.rule})`).join('; ')}`);
    }
    const blocked = (type: ConditionType): ConditionInput => ({ type, status: 'Unknown', reason: first.reason, message: 'Not evaluated: the claim was refused.' });
    await this.writeStatus(claim, [
      { type: 'Ready', status: 'False', reason: first.reason, message },
      { type: 'PolicyReady', status: 'False', reason: first.reason, message },
      blocked('RoleReady'), blocked('BindingReady'), blocked('ServiceAccountReady'),
    ], log, {});
  }

  private async writeFailure(claim: AwsWorkloadIdentityClaim, reason: string, message: string, log: Logger): Promise<void> {
    const previous = (claim.status?.conditions as Condition[] | undefined) ?? [];
    const keep = previous.filter((c) => c.type !== 'Ready').map(({ type, status, reason: r, message: m }) => ({ type, status, reason: r, message: m }));
    try {
      await this.writeStatus(claim, [{ type: 'Ready', status: 'False', reason, message: `${sentence(message)} Retrying with backoff.` }, ...keep], log, {});
    } catch (err) {
      log.warn({ err: String(err) }, 'could not write failure status');
    }
  }

  private async writeStatus(claim: AwsWorkloadIdentityClaim, inputs: ConditionInput[], log: Logger, fields: Record<string, unknown>): Promise<void> {
    const previous = claim.status?.conditions as Condition[] | undefined;
    const conditions = mergeConditions(previous, inputs, claim.metadata.generation, this.now().toISOString());
    const status: Record<string, unknown> = { ...fields, observedGeneration: claim.metadata.generation, conditions };
    if (!statusUnchanged(claim.status as Record<string, unknown> | undefined, status)) await this.o.claims.patchStatus(claim, status);
    this.o.onReadyStatus?.(claimKey(claim.metadata.namespace ?? '', claim.metadata.name), conditions.find((c) => c.type === 'Ready')?.status);
    for (const c of changedConditions(previous, conditions)) log.info({ condition: c.type, status: c.status, reason: c.reason }, 'condition changed');
    for (const e of statusEvents(previous, conditions)) await this.o.events.record(claim, e.type, e.reason, e.note, e.action);
  }

  /** `previous` while it is younger than the record interval and nothing forces a new one; else `now`. */
  private coarseTime(previous: string | undefined, now: string, force: boolean): string {
    if (force || !previous) return now;
    const age = Date.parse(now) - Date.parse(previous);
    return Number.isFinite(age) && age >= 0 && age < (this.o.statusTimeRecordMs ?? DEFAULT_STATUS_TIME_RECORD_MS) ? previous : now;
  }

  private resyncDelay(): number {
    const j = this.o.resyncJitterRatio;
    return Math.round(this.o.resyncMs * (1 - j + 2 * j * this.random()));
  }
}

const readyMessages: Record<Resource, (d: DesiredState, ready: boolean) => string> = {
  Policy: (d, ok) => ok ? `Permission policy ${d.permissionPolicy.name} (${d.digests.policy}) is in place.` : `Permission policy ${d.permissionPolicy.name} was written; waiting for IAM to propagate it.`,
  Role: (d, ok) => ok ? `Role ${d.role.arn} matches the claim.` : `Role ${d.role.arn} was created or changed; waiting for IAM to propagate it.`,
  Binding: (d, ok) =>
    d.binding.kind === 'PodIdentityAssociation'
      ? ok ? `Pod Identity association for ${d.binding.namespace}/${d.binding.serviceAccount} on cluster ${d.binding.clusterName} points at the role.` : 'The Pod Identity association was written; it may take seconds to become effective.'
      : ok ? `ServiceAccount carries ${ROLE_ARN_ANNOTATION}; pods created from now on get the role (running pods keep their old credentials until restarted).` : `The ${ROLE_ARN_ANNOTATION} annotation was written; waiting for IAM to propagate the role.`,
  ServiceAccount: (d) => `ServiceAccount ${d.serviceAccount.namespace}/${d.serviceAccount.name} is managed by this claim.`,
};

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
const DEFAULT_STATUS_TIME_RECORD_MS = 15 * 60_000;

function wasReady(claim: AwsWorkloadIdentityClaim): boolean {
  return (claim.status?.conditions as Condition[] | undefined)?.find((c) => c.type === 'Ready')?.status === 'True';
}

/** Would patching `next` onto `current` change nothing? (null in a merge patch removes: same as absent.) */
export function statusUnchanged(current: Record<string, unknown> | undefined, next: Record<string, unknown>): boolean {
  if (!current) return false;
  return Object.entries(next).every(([k, v]) => canonicalJson(v ?? undefined) === canonicalJson(current[k] ?? undefined));
}

function canonicalJson(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The IAM part of Observed. */
type RoleView = Pick<Observed, 'role' | 'inlinePolicy' | 'inlinePolicyNames' | 'attachedPolicyArns'>;

/** What the cache holds, seen as the direct reads would (policies only on a role the claim owns). */
function roleViewFromCache(c: CachedRole | undefined, desired: DesiredState): RoleView {
  if (!c) return { inlinePolicyNames: [], attachedPolicyArns: [] };
  if (!ownedByClaim(c.role.tags, desired)) return { role: c.role, inlinePolicyNames: [], attachedPolicyArns: [] };
  return { role: c.role, ...inlineView(c, desired.permissionPolicy.name), attachedPolicyArns: c.attachedPolicyArns };
}

type Managers = { role: RoleManager; policy: PermissionPolicyManager; association: AssociationManager };

/** Why the claim's current spec was refused, and which generation's spec awi enforces instead. */
interface Refusal {
  problems: Problem[];
  generation: number;
}

/** The first problems, one per line, then "and N more": a status condition must stay small whatever the claim. */
function problemsMessage(problems: Problem[]): string {
  return summarizeProblems(problems);
}

/** Ready says the spec was refused; the other conditions describe the last valid state awi keeps enforcing. */
function withRefusal(conditions: ConditionInput[], r: Refusal): ConditionInput[] {
  const reason = r.problems[0]!.reason;
  const message = `${sentence(problemsMessage(r.problems))} awi keeps enforcing the last valid spec (generation ${r.generation}) until the claim is fixed.`;
  return conditions.map((c) => (c.type === 'Ready' ? { type: 'Ready', status: 'False', reason, message } : c));
}
