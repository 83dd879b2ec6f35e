// The second backend: the cluster in a container, started through
// testcontainers on podman's Docker API. No image registry is reachable here,
// so the image is one testbed/scripts/containers.sh made locally: the control plane
// this project builds (.cache/bin/awi-controlplane, a real kube-apiserver
// with embedded etcd) on a minimal base. Host networking: it listens on
// loopback like the local backend, and its folder (PKI, kubeconfig,
// state.json) is bind-mounted at the same path, so the paths it writes hold
// on both sides.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ControlPlaneState } from './controlplane.js';
import { containerSettings, startPodmanService, type ContainerSettings } from './podman.js';

/** The settings, or throws with the reason the container backend cannot run here. */
export function requireContainerSettings(): ContainerSettings {
  const settings = containerSettings();
  if ('problem' in settings) throw new Error(`the container backend cannot run here: ${settings.problem}`);
  return settings;
}

export async function startContainerCluster(dir: string): Promise<{ server: string; issuer: string; kubeconfig: string; stop(): Promise<void> }> {
  const settings = requireContainerSettings();
  mkdirSync(dir, { recursive: true });
  const service = await startPodmanService(settings, path.dirname(dir));
  // testcontainers reads these when it first looks for a runtime. Ryuk (its
  // reaper) is an image from a registry: off; stop() removes the container.
  process.env.DOCKER_HOST = service.dockerHost;
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  try {
    const { GenericContainer, Wait } = await import('testcontainers');
    const container = await new GenericContainer(settings.controlPlaneImage)
      .withNetworkMode('host')
      .withBindMounts([{ source: dir, target: dir, mode: 'rw' }])
      .withCommand(['--dir', dir])
      // No Ryuk to reap it if this run is killed: testbed/scripts/containers.sh removes
      // containers whose test process is gone.
      .withLabels({ 'awi.dev/test-pid': String(process.pid) })
      .withWaitStrategy(Wait.forLogMessage(/awi-controlplane: ready at/))
      .withStartupTimeout(180_000)
      .start();
    const statePath = path.join(dir, 'state.json');
    if (!existsSync(statePath)) throw new Error(`${settings.controlPlaneImage} said it was ready but wrote no ${statePath}`);
    const state = JSON.parse(readFileSync(statePath, 'utf8')) as ControlPlaneState;
    console.log(`container backend: ${settings.controlPlaneImage} in container ${container.getId().slice(0, 12)} (testcontainers on ${service.dockerHost}), API server ${state.server} (${state.version})`);
    return {
      server: state.server,
      issuer: state.issuer,
      kubeconfig: state.kubeconfig,
      stop: async () => {
        await container.stop({ timeout: 20_000 });
        await service.stop();
      },
    };
  } catch (err) {
    await service.stop();
    throw err;
  }
}
