// Wires the controller together: the watches feed keys into the work queue
// (wireClaims says which change enqueues which claim), the queue runs the
// reconciler. Knows nothing about IAM or policies itself.
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { Logger } from 'pino';
import { budgetSettings, CallBudget } from '../aws/budget.js';
import { AwsClientFactory } from '../aws/clients.js';
import { LABEL, MANAGED_BY } from '../compiler/tags.js';
import type { PlatformConfig } from '../config/types.js';
import { ClaimClient, claimKey, GROUP, PLURAL, VERSION } from '../kube/claims.js';
import { EventRecorder } from '../kube/events.js';
import { NamespaceReader } from '../kube/namespaces.js';
import { shareConnections } from '../runtime/connections.js';
import { Runtime } from '../runtime/runtime.js';
import { ResilientWatch, type WatchChange, type WatchDeps, type WatchRestartReason } from '../runtime/watch.js';
import { ClaimChecks } from './checks.js';
import { awsManagerFactory } from './managers/factory.js';
import { ServiceAccountManager } from './managers/service-account.js';
import { PodLister } from './pods.js';
import { PrerequisiteChecker } from './prerequisites.js';
import { CredentialVerifier } from './verify.js';
import { awsCallCounter, budgetMetrics, ControllerMetrics } from './metrics.js';
import { RoleCache } from './observation/role-cache.js';
import { withAwsCallCount } from '../aws/call-scope.js';
import { AssociationCache } from './observation/association-cache.js';
import { Reconciler, type OwnWriteRecords } from './reconciler.js';
import { OwnWrites } from '../runtime/own-writes.js';
import { WorkQueue } from '../runtime/queue.js';

export interface ControllerOptions {
  config: PlatformConfig;
  kubeConfig: KubeConfig;
  log: Logger;
  /** Overrides for tests; production uses the platform config. */
  propagationRequeueMs?: number;
  resyncMs?: number;
  /** How old the shared role observation may be for a reconcile to rely on it (default: controller.observeSeconds). */
  observeMs?: number;
  /** How often each cached association is described again (default: controller.associationRecheckSeconds). */
  associationRecheckMs?: number;
  /** How long a present prerequisite (OIDC provider, Pod Identity agent) is trusted before asking again; default 5 min. */
  prerequisiteTtlMs?: number;
  metrics?: ControllerMetrics;
}

export class Controller {
  readonly queue: WorkQueue;
  readonly reconciler: Reconciler;
  /** The shared, paged observation of awi's roles (src/controller/observation/). */
  readonly roleCache: RoleCache;
  /** The shared, paged observation of the cluster's Pod Identity associations. */
  readonly associationCache: AssociationCache;
  readonly metrics: ControllerMetrics;
  /** What the controller watches; their stores and indexes are the only per-object state the wiring keeps, pruned on delete. */
  readonly watches: ClaimWatches;
  /** awi's own writes whose watch echoes are not reconciled; pruned as echoes arrive and objects go. */
  readonly ownWrites: OwnWriteRecords;
  private readonly runtime: Runtime;
  private readonly aws: AwsClientFactory;

  constructor(private readonly o: ControllerOptions) {
    const { config, log } = o;
    // One keep-alive connection pool for the API clients below (client-node opens a new TLS connection per request otherwise).
    const kc = shareConnections(o.kubeConfig);
    const metrics = (this.metrics = o.metrics ?? new ControllerMetrics());
    const c = config.controller;
    const budget = new CallBudget(budgetSettings(c.awsBudget), budgetMetrics(metrics));
    this.aws = new AwsClientFactory({
      region: config.cluster.region,
      accounts: config.accounts,
      middleware: awsCallCounter(metrics),
      budget,
    });
    const clusterAws = this.aws.forAccount(config.cluster.accountId);
    const checks = new ClaimChecks({
      controller: c,
      now: () => new Date(),
      pods: new PodLister(kc),
      prerequisites: new PrerequisiteChecker({
        iamFor: (account) => this.aws.forAccount(account).iam,
        eks: clusterAws.eks,
        clusterName: config.cluster.name,
        kubeConfig: kc,
        ttlMs: o.prerequisiteTtlMs ?? 5 * 60_000,
        missingTtlMs: Math.min(5_000, o.prerequisiteTtlMs ?? 5_000),
      }),
      verifier: new CredentialVerifier({
        kubeConfig: kc,
        sts: this.aws.sts,
        region: config.cluster.region,
        clusterName: config.cluster.name,
        credentials: () => clusterAws.eks.config.credentials(),
        // EKS Auth is its own service with its own quotas: its own bucket (at the EKS rate) in the cluster's account.
        budget: (call) => budget.run(config.cluster.accountId, 'eks-auth', call),
      }),
    });
    this.roleCache = new RoleCache({
      iamFor: (account) => this.aws.forAccount(account).iam,
      pathPrefix: config.roles.path,
      maxAgeMs: o.observeMs ?? c.observeSeconds * 1000,
      onRefresh: (account, pages) => log.debug({ account, ...pages }, 'observed the roles under the awi path in pages'),
    });
    this.associationCache = new AssociationCache({
      eks: clusterAws.eks,
      clusterName: config.cluster.name,
      maxAgeMs: o.observeMs ?? c.observeSeconds * 1000,
      recheckMs: o.associationRecheckMs ?? c.associationRecheckSeconds * 1000,
      // A listing may miss awi's fresh creation for a while; never longer than an observation is trusted.
      settleMs: Math.min(60_000, o.observeMs ?? c.observeSeconds * 1000),
      onRefresh: (pages) => log.debug(pages, 'observed the cluster\'s Pod Identity associations in pages'),
    });
    // awi's own writes to claims and ServiceAccounts: their watch echoes do not reconcile again (runtime/own-writes.ts).
    const ownWrites: OwnWriteRecords = { claims: new OwnWrites(), serviceAccounts: new OwnWrites() };
    this.ownWrites = ownWrites;
    this.reconciler = new Reconciler({
      ownWrites,
      checks,
      config,
      claims: new ClaimClient(kc),
      managers: awsManagerFactory(this.aws, config.cluster.accountId, new ServiceAccountManager(kc)),
      namespaces: new NamespaceReader(kc),
      events: new EventRecorder(kc, 'awi-controller', log),
      log,
      propagationRequeueMs: o.propagationRequeueMs ?? 10_000,
      resyncMs: o.resyncMs ?? c.resyncSeconds * 1000,
      resyncJitterRatio: c.resyncJitterRatio,
      roleCache: this.roleCache,
      associationCache: this.associationCache,
      countAwsCalls: withAwsCallCount,
      onReadyStatus: (key, ready) => {
        metrics.setClaimReady(key, ready);
        if (ready === undefined) this.forgetClaim(key);
      },
    });
    this.queue = new WorkQueue((key) => this.reconciler.reconcile(key), {
      concurrency: c.concurrency,
      baseBackoffMs: c.backoffBaseSeconds * 1000,
      maxBackoffMs: c.backoffMaxSeconds * 1000,
      qps: c.rateLimitPerSecond,
      burst: c.rateLimitBurst,
      onDequeue: (_key, waitedMs) => {
        metrics.queueLatency.observe(waitedMs / 1000);
        metrics.queueDepth.set(this.queue.depth);
      },
      onResult: (key, outcome, ms) => {
        metrics.reconciles.inc({ result: outcome.kind });
        metrics.reconcileDuration.observe({ result: outcome.kind }, ms / 1000);
        metrics.queueDepth.set(this.queue.depth);
        if (outcome.kind === 'error') log.error({ claim: key, err: String(outcome.error), ms }, 'reconcile threw');
        else log.debug({ claim: key, outcome: outcome.kind, ms }, 'reconciled');
      },
    });
    this.watches = claimWatches(kc, { silenceTimeoutMs: c.watchIdleSeconds * 1000, log, metrics });
    this.runtime = wireClaims(new Runtime(this.queue), this.watches, this.reconciler.checks.switching, ownWrites);
  }

  /** Checks the AWS identity, starts watches and workers; resolves when caches have synced. */
  async start(): Promise<void> {
    const { log, config } = this.o;
    const me = await this.aws.sts.send(new GetCallerIdentityCommand({}));
    log.info({ account: me.Account, arn: me.Arn, cluster: config.cluster.name }, 'AWS identity verified');
    await this.runtime.start();
    log.info('watches synced; reconciling');
  }

  get synced(): boolean {
    return this.runtime.synced;
  }

  async stop(): Promise<void> {
    await this.runtime.stop();
  }

  /** The claim is gone: nothing of it stays queued (the watches dropped it from their stores and indexes already). */
  private forgetClaim(key: string): void {
    this.queue.forget(key);
  }
}

/** The collections the controller watches, each keeping only what enqueueing decides on. */
export interface ClaimWatches {
  /** Claims, indexed by the ServiceAccount (namespace/name) they name. */
  claims: ResilientWatch<KubernetesObject>;
  /** The ServiceAccounts awi manages (by label). */
  serviceAccounts: ResilientWatch<KubernetesObject>;
  /** Pods, read only: their ServiceAccount. */
  pods: ResilientWatch<KubernetesObject>;
}

/** Name of the claims watch's index: claims by the ServiceAccount they name, `namespace/name`. */
export const BY_SERVICE_ACCOUNT = 'serviceAccount';

export interface ClaimWatchOptions {
  silenceTimeoutMs: number;
  log?: Logger;
  metrics?: ControllerMetrics;
  /** For tests: list and watch functions, clock. */
  deps?: Partial<WatchDeps<KubernetesObject>>;
}

export function claimWatches(kc: KubeConfig, o: ClaimWatchOptions): ClaimWatches {
  const common = (resource: string) => ({
    silenceTimeoutMs: o.silenceTimeoutMs,
    ...(o.log ? { logger: o.log } : {}),
    onRestart: (reason: WatchRestartReason) => o.metrics?.watchRestarts.inc({ resource, reason }),
  });
  return {
    claims: new ResilientWatch<KubernetesObject>(kc, { path: `/apis/${GROUP}/${VERSION}/${PLURAL}`, slim: slimClaim, ...common('claims') }, o.deps)
      .index(BY_SERVICE_ACCOUNT, claimServiceAccount),
    serviceAccounts: new ResilientWatch<KubernetesObject>(
      kc,
      { path: '/api/v1/serviceaccounts', labelSelector: `${LABEL.managedBy}=${MANAGED_BY}`, slim: slimMetadata, ...common('serviceaccounts') },
      o.deps,
    ),
    pods: new ResilientWatch<KubernetesObject>(kc, { path: '/api/v1/pods', slim: slimPod, ...common('pods') }, o.deps),
  };
}

/**
 * Which changes enqueue which claims:
 * - a claim, when its spec (generation), deletion or finalizers changed, or it
 *   is gone (status-only updates, such as our own writes, do not); urgent when
 *   not converged, so that unfinished claims go first after a restart;
 * - a ServiceAccount awi manages, when it changes or goes: its own claim, and
 *   every claim naming it (e.g. a conflicting claim waiting for its release);
 * - a pod: the claims naming its ServiceAccount that are switching mechanism
 *   (they wait for the pods of the old mechanism to go).
 * The echo of awi's own write (its finalizer patch, the ServiceAccount it
 * created or patched) does not enqueue the claim whose reconcile made it
 * (`own`); any other change, at any other resourceVersion, does.
 */
export function wireClaims(runtime: Runtime, w: ClaimWatches, switching: ReadonlySet<string>, own?: OwnWriteRecords): Runtime {
  const claimsNaming = (serviceAccount: string): string[] => w.claims.store.byIndex(BY_SERVICE_ACCOUNT, serviceAccount).map(keyOf);
  return runtime
    .watch(w.claims, { predicate: specOrDeletionChanged, map: (claim) => [keyOf(claim)], urgent: (claim) => !converged(claim), ...(own ? { ownWrites: own.claims } : {}) })
    .watch(w.serviceAccounts, { map: (sa) => [...labelledClaim(sa), ...claimsNaming(keyOf(sa))], ...(own ? { ownWrites: own.serviceAccounts } : {}) })
    .watch(w.pods, { map: (pod) => claimsNaming(podServiceAccount(pod)).filter((key) => switching.has(key)) });
}

/** Created, spec changed (generation), deletion started, finalizers changed, or gone. */
export function specOrDeletionChanged(obj: KubernetesObject, change: WatchChange<KubernetesObject>): boolean {
  const { old, deleted } = change;
  if (deleted || !old) return true;
  const a = obj.metadata ?? {};
  const b = old.metadata ?? {};
  return a.uid !== b.uid || a.generation !== b.generation || a.deletionTimestamp !== b.deletionTimestamp || (a.finalizers ?? []).join(',') !== (b.finalizers ?? []).join(',');
}

/** The claim key (namespace/name) of an object. */
function keyOf(obj: KubernetesObject): string {
  return claimKey(obj.metadata?.namespace ?? '', obj.metadata?.name ?? '');
}

/** The ServiceAccount a claim names, as namespace/name. */
function claimServiceAccount(claim: KubernetesObject): string | undefined {
  const sa = (claim as { spec?: { serviceAccountName?: string } }).spec?.serviceAccountName;
  return sa && claim.metadata?.namespace ? `${claim.metadata.namespace}/${sa}` : undefined;
}

/** The claim a ServiceAccount awi manages belongs to, from its labels. */
function labelledClaim(sa: KubernetesObject): string[] {
  const labels = sa.metadata?.labels ?? {};
  const claim = labels[LABEL.claim];
  return claim ? [claimKey(labels[LABEL.claimNamespace] ?? sa.metadata?.namespace ?? '', claim)] : [];
}

function podServiceAccount(pod: KubernetesObject): string {
  const sa = (pod as { spec?: { serviceAccountName?: string } }).spec?.serviceAccountName ?? 'default';
  return `${pod.metadata?.namespace ?? ''}/${sa}`;
}

/**
 * Ready for its current generation and not being deleted. Anything else is
 * work in progress, reconciled before converged claims (after a restart, the
 * claims without status come first).
 */
export function converged(obj: KubernetesObject): boolean {
  const status = (obj as { status?: { observedGeneration?: number; conditions?: Array<{ type?: string; status?: string }> } }).status;
  if (obj.metadata?.deletionTimestamp) return false;
  if (status?.observedGeneration === undefined || status.observedGeneration !== obj.metadata?.generation) return false;
  return status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

// What the watches keep of each object: only what enqueueing decides on (the
// reconciler reads the object itself). At thousands of claims, a claim's
// managedFields and last-applied annotation are most of its size.

/** Identity, generation, deletion and labels of an object. */
export function slimMetadata(obj: KubernetesObject): KubernetesObject {
  const m = obj.metadata ?? {};
  return {
    apiVersion: obj.apiVersion ?? '',
    kind: obj.kind ?? '',
    metadata: {
      name: m.name ?? '', namespace: m.namespace ?? '', uid: m.uid ?? '', resourceVersion: m.resourceVersion ?? '',
      ...(m.generation !== undefined ? { generation: m.generation } : {}),
      ...(m.deletionTimestamp ? { deletionTimestamp: m.deletionTimestamp } : {}),
      ...(m.finalizers ? { finalizers: m.finalizers } : {}),
      ...(m.labels ? { labels: m.labels } : {}),
    },
  };
}

/** A pod as the pods watch reads it: identity and its ServiceAccount. */
export function slimPod(obj: KubernetesObject): KubernetesObject {
  const m = obj.metadata ?? {};
  const sa = (obj as { spec?: { serviceAccountName?: string } }).spec?.serviceAccountName;
  return {
    apiVersion: obj.apiVersion ?? '',
    kind: obj.kind ?? '',
    metadata: { name: m.name ?? '', namespace: m.namespace ?? '', uid: m.uid ?? '', resourceVersion: m.resourceVersion ?? '' },
    spec: sa !== undefined ? { serviceAccountName: sa } : {},
  } as KubernetesObject;
}

/** A claim as the wiring and converged() read it: its ServiceAccount and its Ready condition. */
export function slimClaim(obj: KubernetesObject): KubernetesObject {
  const { spec, status } = obj as { spec?: { serviceAccountName?: string }; status?: { observedGeneration?: number; conditions?: Array<{ type?: string; status?: string }> } };
  const ready = status?.conditions?.find((c) => c.type === 'Ready');
  return {
    ...slimMetadata(obj),
    spec: spec?.serviceAccountName !== undefined ? { serviceAccountName: spec.serviceAccountName } : {},
    status: {
      ...(status?.observedGeneration !== undefined ? { observedGeneration: status.observedGeneration } : {}),
      ...(ready ? { conditions: [{ type: 'Ready', status: ready.status }] } : {}),
    },
  } as KubernetesObject;
}
