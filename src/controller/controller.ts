// Wires the controller together: watches feed keys into the work queue, the
// queue runs the reconciler. Knows nothing about IAM or policies itself.
import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { Logger } from 'pino';
import { budgetSettings, CallBudget } from '../aws/budget.js';
import { AwsClientFactory } from '../aws/clients.js';
import { LABEL, MANAGED_BY } from '../compiler/tags.js';
import type { PlatformConfig } from '../config/types.js';
import { ClaimClient, claimKey, GROUP, PLURAL, VERSION } from '../kube/claims.js';
import { EventRecorder } from '../kube/events.js';
import { NamespaceReader } from '../kube/namespaces.js';
import { ResilientWatch } from '../kube/watch.js';
import { shareConnections } from '../kube/connections.js';
import { ClaimChecks } from './checks.js';
import { ServiceAccountManager } from './managers/service-account.js';
import { PodLister } from './pods.js';
import { PrerequisiteChecker } from './prerequisites.js';
import { CredentialVerifier } from './verify.js';
import { awsCallCounter, budgetMetrics, ControllerMetrics } from './metrics.js';
import { RoleCache } from './observation/role-cache.js';
import { Reconciler } from './reconciler.js';
import { WorkQueue } from './workqueue.js';

export interface ControllerOptions {
  config: PlatformConfig;
  kubeConfig: KubeConfig;
  log: Logger;
  /** Overrides for tests; production uses the platform config. */
  propagationRequeueMs?: number;
  resyncMs?: number;
  /** How old the shared role observation may be for a reconcile to rely on it (default: controller.observeSeconds). */
  observeMs?: number;
  /** How long a present prerequisite (OIDC provider, Pod Identity agent) is trusted before asking again; default 5 min. */
  prerequisiteTtlMs?: number;
  metrics?: ControllerMetrics;
}

export class Controller {
  readonly queue: WorkQueue;
  readonly reconciler: Reconciler;
  /** The shared, paged observation of awi's roles (src/controller/observation/). */
  readonly roleCache: RoleCache;
  readonly metrics: ControllerMetrics;
  private readonly watches: ResilientWatch<KubernetesObject>[] = [];
  private readonly aws: AwsClientFactory;
  /** Last generation and deletion state seen per claim: status-only updates (our own writes) do not enqueue. */
  private readonly seen = new Map<string, string>();
  /** Claims naming each ServiceAccount (namespace/name): when it changes or goes, all of them look again. */
  private readonly claimsByServiceAccount = new Map<string, Set<string>>();

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
        // EKS Auth shares the EKS budget of the cluster's account.
        budget: (call) => budget.run(config.cluster.accountId, 'eks', call),
      }),
    });
    this.roleCache = new RoleCache({
      iamFor: (account) => this.aws.forAccount(account).iam,
      pathPrefix: config.roles.path,
      maxAgeMs: o.observeMs ?? c.observeSeconds * 1000,
      onRefresh: (account, pages) => log.debug({ account, ...pages }, 'observed the roles under the awi path in pages'),
    });
    this.reconciler = new Reconciler({
      checks,
      config,
      claims: new ClaimClient(kc),
      serviceAccounts: new ServiceAccountManager(kc),
      namespaces: new NamespaceReader(kc),
      aws: this.aws,
      events: new EventRecorder(kc, 'awi-controller', log),
      log,
      propagationRequeueMs: o.propagationRequeueMs ?? 10_000,
      resyncMs: o.resyncMs ?? c.resyncSeconds * 1000,
      resyncJitterRatio: c.resyncJitterRatio,
      roleCache: this.roleCache,
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
  }

  /** Checks the AWS identity, starts watches and workers; resolves when caches have synced. */
  async start(): Promise<void> {
    const { log, kubeConfig: kc, config } = this.o;
    const me = await this.aws.sts.send(new GetCallerIdentityCommand({}));
    log.info({ account: me.Account, arn: me.Arn, cluster: config.cluster.name }, 'AWS identity verified');

    const silenceTimeoutMs = config.controller.watchIdleSeconds * 1000;
    this.watches.push(
      new ResilientWatch<KubernetesObject>(kc, {
        path: `/apis/${GROUP}/${VERSION}/${PLURAL}`,
        silenceTimeoutMs,
        logger: log,
        onRestart: (reason) => this.metrics.watchRestarts.inc({ resource: 'claims', reason }),
        slim: slimClaim,
        onObject: (obj) => this.onClaim(obj),
      }),
      // Changes to (or deletion of) a ServiceAccount we manage re-check its claim at once.
      new ResilientWatch<KubernetesObject>(kc, {
        path: '/api/v1/serviceaccounts',
        labelSelector: `${LABEL.managedBy}=${MANAGED_BY}`,
        silenceTimeoutMs,
        logger: log,
        onRestart: (reason) => this.metrics.watchRestarts.inc({ resource: 'serviceaccounts', reason }),
        slim: slimMetadata,
        onObject: (obj) => {
          const labels = obj.metadata?.labels ?? {};
          const claim = labels[LABEL.claim];
          if (claim) this.queue.add(claimKey(labels[LABEL.claimNamespace] ?? obj.metadata?.namespace ?? '', claim));
          // E.g. a conflicting claim waiting for this ServiceAccount to be released.
          const waiting = this.claimsByServiceAccount.get(`${obj.metadata?.namespace}/${obj.metadata?.name}`) ?? [];
          for (const key of waiting) this.queue.add(key);
        },
      }),
    );
    // Pods are only read, never changed. A pod of a ServiceAccount whose claim
    // is switching mechanism that changes or goes re-checks the claim at once.
    this.watches.push(
      new ResilientWatch<KubernetesObject>(kc, {
        path: '/api/v1/pods',
        silenceTimeoutMs,
        logger: log,
        onRestart: (reason) => this.metrics.watchRestarts.inc({ resource: 'pods', reason }),
        onObject: (obj) => {
          const sa = (obj as { spec?: { serviceAccountName?: string } }).spec?.serviceAccountName;
          for (const key of this.claimsByServiceAccount.get(`${obj.metadata?.namespace}/${sa}`) ?? []) {
            if (this.reconciler.checks.switching.has(key)) this.queue.add(key);
          }
        },
      }),
    );
    this.queue.start();
    await Promise.all(this.watches.map((w) => w.start()));
    log.info('watches synced; reconciling');
  }

  get synced(): boolean {
    return this.watches.length > 0 && this.watches.every((w) => w.synced);
  }

  async stop(): Promise<void> {
    for (const w of this.watches) w.stop();
    await this.queue.shutdown();
  }

  private onClaim(obj: KubernetesObject): void {
    const m = obj.metadata;
    if (!m?.name || !m.namespace) return;
    const key = claimKey(m.namespace, m.name);
    const sa = (obj as { spec?: { serviceAccountName?: string } }).spec?.serviceAccountName;
    if (sa) {
      const saKey = `${m.namespace}/${sa}`;
      const set = this.claimsByServiceAccount.get(saKey) ?? new Set<string>();
      set.add(key);
      this.claimsByServiceAccount.set(saKey, set);
    }
    const fingerprint = `${m.uid}|${m.generation}|${m.deletionTimestamp ?? ''}|${(m.finalizers ?? []).join(',')}`;
    if (this.seen.get(key) === fingerprint) return;
    this.seen.set(key, fingerprint);
    this.queue.add(key, { urgent: !converged(obj) });
  }

  /** The claim is gone: drop what the controller remembered of it (no per-claim state outlives the claim). */
  private forgetClaim(key: string): void {
    this.seen.delete(key);
    for (const [saKey, keys] of this.claimsByServiceAccount) {
      keys.delete(key);
      if (keys.size === 0) this.claimsByServiceAccount.delete(saKey);
    }
    this.queue.forget(key);
  }
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

/** A claim as onClaim and converged() read it: its ServiceAccount and its Ready condition. */
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
