// Which mechanism running pods of a ServiceAccount use, read from the
// environment the webhooks injected at pod creation (it never changes while
// the pod runs). A mechanism switch keeps the old trust until no running pod
// still depends on it. Read-only: awi lists and watches pods, never changes them.
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { Mechanism } from '../compiler/types.js';

/** What the amazon-eks-pod-identity-webhook injects for IRSA. */
const IRSA_ENV = ['AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN'];
/** What the EKS Pod Identity webhook injects. */
const POD_IDENTITY_ENV = ['AWS_CONTAINER_CREDENTIALS_FULL_URI'];

export interface PodView {
  name: string;
  phase?: string;
  /** Env var names of every container and init container. */
  env: string[];
}

export function podView(pod: V1Pod): PodView {
  const containers = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  return {
    name: pod.metadata?.name ?? '',
    ...(pod.status?.phase ? { phase: pod.status.phase } : {}),
    env: containers.flatMap((c) => (c.env ?? []).map((e) => e.name)),
  };
}

/**
 * The mechanism a pod's AWS SDK uses, if any. When a pod carries both, the
 * SDKs' default chains try the web identity token before container
 * credentials, so the pod uses IRSA.
 */
export function podMechanism(pod: PodView): Mechanism | undefined {
  if (IRSA_ENV.some((e) => pod.env.includes(e))) return 'IRSA';
  if (POD_IDENTITY_ENV.some((e) => pod.env.includes(e))) return 'PodIdentity';
  return undefined;
}

/** A pod that has finished will never ask for credentials again. */
const finished = (p: PodView) => p.phase === 'Succeeded' || p.phase === 'Failed';

/** Names of the pods that may still ask for credentials through `mechanism`. */
export function podsUsing(pods: PodView[], mechanism: Mechanism): string[] {
  return pods.filter((p) => !finished(p) && podMechanism(p) === mechanism).map((p) => p.name).sort();
}

/** Lists pods of one ServiceAccount (field selector spec.serviceAccountName). */
export class PodLister {
  private readonly core: CoreV1Api;
  constructor(kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
  }

  async forServiceAccount(namespace: string, serviceAccount: string): Promise<PodView[]> {
    const out: PodView[] = [];
    let cont: string | undefined;
    do {
      const page = await this.core.listNamespacedPod({
        namespace,
        fieldSelector: `spec.serviceAccountName=${serviceAccount}`,
        limit: 500,
        ...(cont ? { _continue: cont } : {}),
      });
      out.push(...page.items.map(podView));
      cont = page.metadata?._continue || undefined;
    } while (cont);
    return out;
  }
}
