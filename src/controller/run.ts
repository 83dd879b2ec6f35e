// Runs a controller the way a Deployment replica does: probe/metrics server,
// leader election (only the leader reconciles), graceful stop.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { EKSClient } from '@aws-sdk/client-eks';
import type { PlatformConfig } from '../config/types.js';
import { platformConfigWarnings } from '../config/warnings.js';
import { LeaderElector } from '../runtime/leader-election.js';
import { Controller } from './controller.js';
import { verifyClusterIdentity } from './cluster-identity.js';
import { startProbeServer } from '../runtime/probes.js';
import { ControllerMetrics } from './metrics.js';

export interface RunOptions {
  config: PlatformConfig;
  kubeConfig: KubeConfig;
  log: Logger;
  /** Port for /healthz, /readyz and /metrics; undefined: no server. */
  probePort?: number;
  /** Lease to campaign for; undefined: reconcile without leader election (one replica only). */
  leaderElection?: { namespace: string; name: string; leaseDurationSeconds?: number; renewIntervalMs?: number; retryIntervalMs?: number };
  /** Called when the lease is lost: the process must not go on reconciling. */
  onLostLeadership?(): void;
  propagationRequeueMs?: number;
  resyncMs?: number;
  /** EKS client of the cluster's account, for the start-up identity check (default: the ambient credentials). */
  eks?: EKSClient;
}

export interface RunningController {
  controller: Controller;
  isLeader(): boolean;
  probePort?: number;
  stop(): Promise<void>;
}

export async function runController(o: RunOptions): Promise<RunningController> {
  for (const warning of platformConfigWarnings(o.config)) o.log.warn({ field: warning.field, rule: warning.rule }, warning.message);
  // Ownership tags carry the configured cluster's ARN: refuse to start against another cluster.
  await verifyClusterIdentity(o.config, o.eks ?? new EKSClient({ region: o.config.cluster.region }));
  const metrics = new ControllerMetrics({ defaultMetrics: o.probePort !== undefined });
  const controller = new Controller({
    config: o.config, kubeConfig: o.kubeConfig, log: o.log, metrics,
    ...(o.propagationRequeueMs !== undefined ? { propagationRequeueMs: o.propagationRequeueMs } : {}),
    ...(o.resyncMs !== undefined ? { resyncMs: o.resyncMs } : {}),
  });
  let elector: LeaderElector | undefined;
  const isLeader = (): boolean => (elector ? elector.isLeader : true);

  const server = o.probePort !== undefined
    ? await startProbeServer({ port: o.probePort, registry: metrics.registry, ready: () => (isLeader() ? controller.synced : true) })
    : undefined;

  if (o.leaderElection) {
    const identity = `${os.hostname()}-${randomBytes(3).toString('hex')}`;
    elector = new LeaderElector(o.kubeConfig, {
      ...o.leaderElection,
      identity,
      log: o.log,
      onStartedLeading: async () => {
        metrics.leader.set(1);
        await controller.start();
      },
      onStoppedLeading: () => {
        metrics.leader.set(0);
        void controller.stop();
        o.onLostLeadership?.();
      },
    });
    o.log.info({ lease: `${o.leaderElection.namespace}/${o.leaderElection.name}`, identity }, 'campaigning for leadership');
    elector.start();
  } else {
    await controller.start();
  }

  return {
    controller,
    isLeader,
    ...(server ? { probePort: server.port } : {}),
    stop: async () => {
      await controller.stop();
      await elector?.stop();
      await server?.close();
    },
  };
}
