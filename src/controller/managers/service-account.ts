// ServiceAccount manager: create, relabel/annotate, delete one ServiceAccount.
// Writes carry the observed resourceVersion so a concurrent change is a 409
// (retried from fresh state), never a lost update.
import { CoreV1Api, KubeConfig, type V1ServiceAccount } from '@kubernetes/client-node';
import type { DesiredServiceAccount } from '../../compiler/types.js';
import { isKubeNotFound } from '../../kube/errors.js';
import { mergePatch } from '../../kube/patch.js';

export interface ObservedServiceAccount {
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export class ServiceAccountManager {
  private readonly core: CoreV1Api;
  constructor(kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
  }

  async get(namespace: string, name: string): Promise<ObservedServiceAccount | undefined> {
    try {
      return observed(await this.core.readNamespacedServiceAccount({ namespace, name }));
    } catch (err) {
      if (isKubeNotFound(err)) return undefined;
      throw err;
    }
  }

  async create(sa: DesiredServiceAccount): Promise<ObservedServiceAccount> {
    const created = await this.core.createNamespacedServiceAccount({
      namespace: sa.namespace,
      body: { metadata: { name: sa.name, namespace: sa.namespace, labels: sa.labels, annotations: sa.annotations } },
    });
    return observed(created);
  }

  /**
   * Sets labels and annotations (a null value removes one) on a ServiceAccount
   * at the observed resourceVersion; returns it as written (its new resourceVersion too).
   */
  async patchMetadata(
    current: ObservedServiceAccount,
    labels: Record<string, string | null>,
    annotations: Record<string, string | null>,
  ): Promise<ObservedServiceAccount> {
    const patched = await this.core.patchNamespacedServiceAccount(
      {
        namespace: current.namespace,
        name: current.name,
        body: { metadata: { resourceVersion: current.resourceVersion, labels, annotations } },
      },
      mergePatch,
    );
    return observed(patched);
  }

  /** Deletes the ServiceAccount only if it is still the one we observed (uid precondition). */
  async delete(current: ObservedServiceAccount): Promise<void> {
    try {
      await this.core.deleteNamespacedServiceAccount({
        namespace: current.namespace,
        name: current.name,
        body: { preconditions: { uid: current.uid, resourceVersion: current.resourceVersion } },
      });
    } catch (err) {
      if (!isKubeNotFound(err)) throw err;
    }
  }
}

function observed(sa: V1ServiceAccount): ObservedServiceAccount {
  return {
    namespace: sa.metadata?.namespace ?? '',
    name: sa.metadata?.name ?? '',
    uid: sa.metadata?.uid ?? '',
    resourceVersion: sa.metadata?.resourceVersion ?? '',
    labels: sa.metadata?.labels ?? {},
    annotations: sa.metadata?.annotations ?? {},
  };
}
