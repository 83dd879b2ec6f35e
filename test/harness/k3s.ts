// The second backend: k3s in a container through testcontainers, used only
// where a container runtime answers (never on the CI machine of this project,
// which has none; test/bed/test.sh prints why it is skipped there).
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { getContainerRuntimeClient } from 'testcontainers';
import { K3sContainer } from '@testcontainers/k3s';
import { kubeGetJson, loadKubeConfig } from './kube.js';

export const k3sImage = process.env.AWI_K3S_IMAGE ?? 'rancher/k3s:v1.34.1-k3s1';

/** Why no container runtime can be used here, or undefined when one answers. */
export async function containerRuntimeProblem(): Promise<string | undefined> {
  try {
    await getContainerRuntimeClient();
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

export async function startK3s(dir: string): Promise<{ server: string; issuer: string; kubeconfig: string; stop(): Promise<void> }> {
  mkdirSync(dir, { recursive: true });
  const container = await new K3sContainer(k3sImage).start();
  const kubeconfig = path.join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, container.getKubeConfig(), { mode: 0o600 });
  const kc = loadKubeConfig(kubeconfig);
  const discovery = await kubeGetJson<{ issuer: string }>(kc, '/.well-known/openid-configuration');
  return {
    server: kc.getCurrentCluster()!.server,
    issuer: discovery.issuer,
    kubeconfig,
    stop: async () => {
      await container.stop();
    },
  };
}
