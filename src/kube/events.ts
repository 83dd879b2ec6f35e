// Records Kubernetes Events on claims, so `kubectl describe` tells the story.
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { AwsWorkloadIdentityClaim } from '../api/types.js';
import { KIND } from './claims.js';

export class EventRecorder {
  private readonly core: CoreV1Api;
  constructor(kc: KubeConfig, private readonly component: string, private readonly log: Logger) {
    this.core = kc.makeApiClient(CoreV1Api);
  }

  /** Best effort: a failed Event must never fail a reconcile. */
  async record(claim: AwsWorkloadIdentityClaim, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const namespace = claim.metadata.namespace ?? 'default';
    const now = new Date();
    try {
      await this.core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { generateName: `${claim.metadata.name}.`, namespace },
          involvedObject: {
            apiVersion: claim.apiVersion, kind: KIND, name: claim.metadata.name, namespace,
            ...(claim.metadata.uid ? { uid: claim.metadata.uid } : {}),
            ...(claim.metadata.resourceVersion ? { resourceVersion: claim.metadata.resourceVersion } : {}),
          },
          type,
          reason,
          message: message.slice(0, 1024),
          source: { component: this.component },
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    } catch (err) {
      this.log.warn({ err, reason }, 'could not record event');
    }
  }
}
