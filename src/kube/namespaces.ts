// Reads a namespace's labels: guardrails may pin a claim's owner or
// environment to one of them (fromNamespaceLabel). Read only, by name
// (RBAC: get on namespaces).
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { isKubeNotFound } from './errors.js';

export class NamespaceReader {
  private readonly core: CoreV1Api;
  constructor(kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
  }

  /** The namespace's labels ({} when it has none); undefined when the namespace does not exist. */
  async labels(name: string): Promise<Record<string, string> | undefined> {
    try {
      const ns = await this.core.readNamespace({ name });
      return { ...(ns.metadata?.labels ?? {}) };
    } catch (err) {
      if (isKubeNotFound(err)) return undefined;
      throw err;
    }
  }
}
