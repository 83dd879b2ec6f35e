// The real `awi controller` as a child process, as a Deployment replica runs
// it (its own Node process, the platform config file, a kubeconfig, /metrics
// on its probe port, leader election off), and what the fleet bench reads
// from it: its reconcile log lines, its metrics and its memory.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import YAML from 'yaml';
import { CONTROLLER_ENTRY, CONTROLLER_NODE_FLAGS } from '../src/cli/node-flags.js';
import { stopChild } from '../testbed/harness/controlplane.js';
import { projectRoot } from '../testbed/harness/paths.js';
import { testRegion } from '../testbed/harness/testbed-info.js';
import type { Bed } from './bed.js';
import type { MemoryFigure } from './figures.js';

// --- the controller as a child process ---------------------------------------

/**
 * The artefact the image runs: the controller bundled into one file by `npm run bundle`
 * (esbuild; the Dockerfile's ENTRYPOINT runs the same file, docs/memory.md says why).
 */
export const SHIPPED_ENTRY = path.join(projectRoot, CONTROLLER_ENTRY);

/**
 * How a Deployment replica starts Node: the image's flags (src/cli/node-flags.ts,
 * the Dockerfile's ENTRYPOINT) and the Deployment's NODE_OPTIONS (deploy/deployment.yaml).
 */
export function shippedNode(): { flags: string[]; nodeOptions: string } {
  type Doc = { kind?: string; spec?: { template?: { spec?: { containers?: Array<{ env?: Array<{ name: string; value?: string }> }> } } } };
  const docs = YAML.parseAllDocuments(readFileSync(path.join(projectRoot, 'deploy', 'deployment.yaml'), 'utf8')).map((d) => d.toJS() as Doc);
  const env = docs.find((d) => d?.kind === 'Deployment')?.spec?.template?.spec?.containers?.[0]?.env ?? [];
  return { flags: [...CONTROLLER_NODE_FLAGS], nodeOptions: env.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '' };
}

/** A free TCP port on 127.0.0.1 for the controller's probe server. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Reconciles per claim key, across every controller process of the run, from their debug log lines. */
export class ReconcileLedger {
  readonly byClaim = new Map<string, number>();
  total = 0;
  readonly byOutcome = new Map<string, number>();
  lastAt = performance.now();

  /** "watch: restarting" lines per watched path, across processes. */
  readonly watchRestarts = new Map<string, number>();

  record(line: string): void {
    if (line.includes('"msg":"watch: restarting"')) {
      const watch = /"watch":"([^"]+)"/.exec(line)?.[1] ?? '?';
      this.watchRestarts.set(watch, (this.watchRestarts.get(watch) ?? 0) + 1);
    }
    if (!line.includes('"msg":"reconciled"') && !line.includes('"msg":"reconcile threw"')) return;
    let entry: { claim?: string; outcome?: string; msg?: string };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      return;
    }
    if (!entry.claim) return;
    this.byClaim.set(entry.claim, (this.byClaim.get(entry.claim) ?? 0) + 1);
    this.total++;
    const outcome = entry.msg === 'reconcile threw' ? 'error' : (entry.outcome ?? 'unknown');
    this.byOutcome.set(outcome, (this.byOutcome.get(outcome) ?? 0) + 1);
    this.lastAt = performance.now();
  }

  snapshot(): Map<string, number> {
    return new Map(this.byClaim);
  }

  /** Keys not reconciled since the snapshot. */
  notSince(snap: Map<string, number>, keys: string[]): string[] {
    return keys.filter((k) => (this.byClaim.get(k) ?? 0) <= (snap.get(k) ?? 0));
  }
}

export interface ControllerProcess {
  child: ChildProcess;
  pid: number;
  port: number;
  spawnedAt: number;
  /** When the controller logged that its watches synced. */
  syncedAt?: number;
  /** When /readyz first answered 200. */
  readyAt?: number;
  /** Set when the process exited, by code or by signal. */
  gone: boolean;
  exited: Promise<number | null>;
}

export class ControllerRunner {
  private generation = 0;
  current?: ControllerProcess;

  constructor(
    private readonly bed: Bed,
    private readonly configFile: string,
    private readonly ledger: ReconcileLedger,
    private readonly logDir: string,
    /** The built CLI to run (SHIPPED_ENTRY of this checkout, or another build with --controller). */
    private readonly mainJs: string,
  ) {}

  async start(): Promise<ControllerProcess> {
    const port = await freePort();
    const n = ++this.generation;
    const log: WriteStream = createWriteStream(path.join(this.logDir, `controller-${n}.log`));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      AWS_ENDPOINT_URL: this.bed.endpoint, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: testRegion,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    delete env.AWS_PROFILE;
    const node = shippedNode();
    if (node.nodeOptions) env.NODE_OPTIONS = node.nodeOptions;
    else delete env.NODE_OPTIONS;
    const child = spawn(process.execPath, [
      ...node.flags,
      this.mainJs, 'controller',
      '--config', this.configFile,
      '--kubeconfig', this.bed.cp.state.kubeconfig,
      '--probe-port', String(port),
      '--no-leader-elect',
      // debug: one "reconciled" line per reconcile with its claim key (how the bench knows every claim was reconciled)
      '--log-level', 'debug',
    ], { stdio: ['ignore', 'pipe', 'pipe'], env });
    const proc: ControllerProcess = {
      child, pid: child.pid!, port, spawnedAt: performance.now(), gone: false,
      exited: new Promise((resolve) => child.once('exit', (code) => {
        proc.gone = true;
        resolve(code);
      })),
    };
    createInterface({ input: child.stdout! }).on('line', (line) => {
      log.write(line + '\n');
      this.ledger.record(line);
      if (proc.syncedAt === undefined && line.includes('"msg":"watches synced; reconciling"')) proc.syncedAt = performance.now();
    });
    child.stderr!.pipe(log);
    void proc.exited.then(() => log.end());
    this.current = proc;
    // Ready when /readyz answers 200 (watches synced) or the process died.
    for (;;) {
      if (proc.gone) throw new Error(`the controller exited (code ${child.exitCode}, signal ${child.signalCode}) before it was ready; see ${path.join(this.logDir, `controller-${n}.log`)}`);
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
      if (ok) {
        proc.readyAt = performance.now();
        return proc;
      }
      await sleep(100);
    }
  }

  /** Starts the controller without waiting for it to be ready (a crash-looping pod's restart). */
  startDetached(): void {
    void this.start().catch((err: unknown) => console.error(`controller restart: ${String(err)}`));
  }

  async kill(signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
    const p = this.current;
    if (!p || p.gone) return;
    p.child.kill(signal);
    await p.exited;
  }

  async stop(): Promise<void> {
    if (this.current) await stopChild(this.current.child, 20_000).catch(() => undefined);
  }
}

/** The controller's /metrics as sample name{labels} -> value. */
export async function scrape(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

export const sumOf = (m: Map<string, number>, name: string): number =>
  [...m].filter(([k]) => k === name || k.startsWith(`${name}{`)).reduce((s, [, v]) => s + v, 0);

/** VmHWM (peak resident set since start or the last resetPeak) and VmRSS of a process, in MiB. */
export function memoryOf(pid: number): MemoryFigure {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { peak: kb('VmHWM') / 1024, rss: kb('VmRSS') / 1024 };
}

/**
 * Resets the process's VmHWM to its current RSS (Linux: "5" to
 * /proc/<pid>/clear_refs), so that the next memoryOf gives the peak of a
 * window rather than since start. False where the kernel does not allow it.
 */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Waits until the queue is empty and no reconcile has been logged for quietMs; false if that did not happen in timeoutMs. */
export async function quiet(ledger: ReconcileLedger, port: () => number, quietMs = 5000, timeoutMs = 60_000): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const depth = await scrape(port()).then((m) => sumOf(m, 'awi_workqueue_depth'), () => 1);
    if (depth === 0 && performance.now() - ledger.lastAt >= quietMs) return true;
    await sleep(500);
  }
  return false;
}

