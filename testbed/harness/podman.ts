// podman as testbed/scripts/containers.sh left it: the settings it wrote
// (.cache/containers/env) or the reason it could not (.cache/containers/
// unavailable), the podman CLI, and podman's Docker API service for
// testcontainers.
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { cacheDir } from './paths.js';

const containersDir = path.join(cacheDir, 'containers');

export interface ContainerSettings {
  /** The containers.conf podman must use (runc, cgroupfs, no default ulimits). */
  containersConf: string;
  /** Images made locally by testbed/scripts/containers.sh. */
  nodeImage: string;
  controlPlaneImage: string;
  awiImage: string;
}

/** The settings containers.sh wrote, or why there are none (a sentence to print with the skip). */
export function containerSettings(): ContainerSettings | { problem: string } {
  const envFile = path.join(containersDir, 'env');
  if (!existsSync(envFile)) {
    const unavailable = path.join(containersDir, 'unavailable');
    const why = existsSync(unavailable) ? readFileSync(unavailable, 'utf8').trim() : 'testbed/scripts/containers.sh has not run here (npm test runs it)';
    return { problem: why };
  }
  const vars = Object.fromEntries(
    readFileSync(envFile, 'utf8').split('\n').map((l) => /^export ([A-Z_]+)=(.*)$/.exec(l)).filter((m) => m !== null).map((m) => [m[1]!, m[2]!]),
  );
  const need = (name: string): string => {
    const value = vars[name];
    if (!value) throw new Error(`${envFile}: ${name} is missing; run testbed/scripts/containers.sh again`);
    return value;
  };
  return {
    containersConf: need('CONTAINERS_CONF'),
    nodeImage: need('AWI_NODE_IMAGE'),
    controlPlaneImage: need('AWI_CONTROLPLANE_IMAGE'),
    awiImage: need('AWI_IMAGE'),
  };
}

export function podmanEnv(settings: ContainerSettings): NodeJS.ProcessEnv {
  return { ...process.env, CONTAINERS_CONF: settings.containersConf };
}

/** Runs the podman CLI; resolves with stdout, rejects with stderr in the message. */
export async function podman(settings: ContainerSettings, args: string[], timeoutMs = 120_000): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)('podman', args, { env: podmanEnv(settings), timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`podman ${args.join(' ')}: ${(e.stderr || e.message).trim()}`);
  }
}

/** GET on a unix socket; the status code, or undefined when nothing answers. */
function ping(socket: string, urlPath: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, path: urlPath, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

export interface PodmanService {
  /** unix:///... for DOCKER_HOST. */
  dockerHost: string;
  stop(): Promise<void>;
}

/** `podman system service`: the Docker API testcontainers speaks, on a socket of our own. */
export async function startPodmanService(settings: ContainerSettings, dir: string, timeoutMs = 60_000): Promise<PodmanService> {
  const socket = path.join(dir, 'podman.sock');
  rmSync(socket, { force: true });
  const child = spawn('podman', ['system', 'service', '--time=0', `unix://${socket}`], { env: podmanEnv(settings), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let exited: string | undefined;
  child.on('exit', (code, signal) => (exited = `exit ${code ?? signal}`));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await done;
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`podman system service stopped (${exited}): ${stderr.trim()}`);
    if ((await ping(socket, '/_ping')) === 200) return { dockerHost: `unix://${socket}`, stop };
    await sleep(200);
  }
  await stop();
  throw new Error(`podman system service did not answer on ${socket} within ${timeoutMs} ms: ${stderr.trim()}`);
}
