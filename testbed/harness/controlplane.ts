// Starts and stops the local control plane (testbed/controlplane, a real
// kube-apiserver with embedded etcd) as a child process.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { controlPlaneBinary } from './paths.js';

export interface ControlPlaneState {
  pid: number;
  port: number;
  server: string;
  issuer: string;
  jwksUri: string;
  kubeconfig: string;
  caFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  version: string;
}

export interface RunningControlPlane {
  state: ControlPlaneState;
  stop(): Promise<void>;
}

export async function startControlPlane(dir: string, timeoutMs = 120_000): Promise<RunningControlPlane> {
  if (!existsSync(controlPlaneBinary)) {
    throw new Error(`${controlPlaneBinary} is missing: run testbed/scripts/setup.sh (npm test and npm run local do) to build it`);
  }
  mkdirSync(dir, { recursive: true });
  const logPath = path.join(dir, 'controlplane.log');
  const log = openSync(logPath, 'w');
  const child = spawn(controlPlaneBinary, ['--dir', dir, '--exit-with-parent'], { stdio: ['ignore', log, log] });
  let exited: string | undefined;
  child.on('exit', (code, signal) => (exited = `exit code ${code ?? signal}`));

  const statePath = path.join(dir, 'state.json');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`control plane stopped before it was ready (${exited}); see ${logPath}:\n${tail(logPath)}`);
    if (existsSync(statePath)) {
      const state = JSON.parse(readFileSync(statePath, 'utf8')) as ControlPlaneState;
      if (state.pid === child.pid) return { state, stop: () => stopChild(child) };
    }
    await sleep(200);
  }
  await stopChild(child);
  throw new Error(`control plane not ready after ${timeoutMs} ms; see ${logPath}:\n${tail(logPath)}`);
}

/** SIGTERM, then SIGKILL if the graceful shutdown hangs. */
export async function stopChild(child: ChildProcess, graceMs = 20_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await done;
  clearTimeout(timer);
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
