// Fleet bench: the real `awi controller` as a separate process, exactly as a
// Deployment replica runs it (its own Node process, the platform config file,
// a kubeconfig, /metrics on its probe port, leader election off), against the
// bench's own test bed. It measures what issue 10 asks about: time to all
// Ready against the floor of the configured rates, AWS calls per claim at
// creation, reconciles per claim, the AWS cost of one full resync and of the
// first pass after a restart, the controller's peak RSS, and (with --kills)
// whether convergence progresses through a crash loop.
//
//   npm run build && bash testbed/scripts/node.sh node dist/bench/fleet.js --claims 200 [--kills 5] [--throttle 0.3] [--5xx 0.05] [--lag-ms 10000]
//
// Exit code 0 when every claim became Ready with no duplicate and no orphan
// and the resync wrote nothing to AWS; 1 otherwise; 2 on bad arguments.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, readFileSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { CoreV1Api, CustomObjectsApi, type KubernetesObject } from '@kubernetes/client-node';
import { IAMClient, ListRolesCommand, ListRoleTagsCommand, type Role } from '@aws-sdk/client-iam';
import YAML from 'yaml';
import type { AwsWorkloadIdentityClaim } from '../src/api/types.js';
import { TAG } from '../src/compiler/tags.js';
import { parsePlatformConfig } from '../src/config/index.js';
import { shareConnections } from '../src/runtime/connections.js';
import { claimKey, GROUP, PLURAL, VERSION } from '../src/kube/claims.js';
import { ResilientWatch } from '../src/runtime/watch.js';
import { AwsFakeClient, awsClientConfig, writeCalls, type FaultRule } from '../testbed/awsfake/client.js';
import { installCrd, platformPrerequisites, testPlatformConfigDocument } from '../testbed/harness/platform.js';
import { stopChild } from '../testbed/harness/controlplane.js';
import { loadKubeConfig } from '../testbed/harness/kube.js';
import { projectRoot } from '../testbed/harness/paths.js';
import { testClusterName, testRegion } from '../testbed/harness/testbed-info.js';
import { benchClaims, startBed, stopBed, type Bed, type ClaimToCreate } from './bed.js';

interface Options {
  claims: number;
  namespaces: number;
  kills: number;
  killEveryS: number;
  throttle: number;
  serverErrors: number;
  lagMs: number;
  timeoutS: number;
  sampleS: number;
  skipResync: boolean;
  resyncS?: number;
  keep: boolean;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      claims: { type: 'string', default: '200' },
      namespaces: { type: 'string', default: '10' },
      kills: { type: 'string', default: '0' },
      'kill-every-s': { type: 'string', default: '10' },
      throttle: { type: 'string', default: '0' },
      '5xx': { type: 'string', default: '0' },
      'lag-ms': { type: 'string', default: '0' },
      'timeout-s': { type: 'string', default: '1800' },
      'sample-s': { type: 'string', default: '5' },
      'skip-resync': { type: 'boolean', default: false },
      'resync-s': { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(`usage: node dist/bench/fleet.js [--claims 200] [--namespaces 10] [--kills K] [--kill-every-s 10]
       [--throttle R] [--5xx R] [--lag-ms L] [--timeout-s 1800] [--sample-s 5] [--skip-resync] [--resync-s S] [--keep]
  --kills K         SIGKILL the controller K times during convergence, every --kill-every-s seconds, restarting it at once
  --throttle R      throttle that fraction of IAM and EKS calls (evenly spread) until all claims are Ready
  --5xx R           answer that fraction of IAM and EKS calls with a 500 InternalFailure until all claims are Ready
  --lag-ms L        IAM propagation lag of the fake until all claims are Ready
  --resync-s S      controller.resyncSeconds (default: the shipped 300); a shorter one makes the resync figure quicker to get
  --skip-resync     skip the resync and restart measurements (they are skipped with --kills too)
  --keep            keep the run directory (controller logs, control plane and fake logs)`);
    process.exit(0);
  }
  const num = (name: string, v: string | undefined, min: number, max = Infinity): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) {
      console.error(`--${name} must be a number in [${min}, ${max}], got ${v}`);
      process.exit(2);
    }
    return n;
  };
  return {
    claims: num('claims', values.claims, 1, 10_000),
    namespaces: num('namespaces', values.namespaces, 1, 1000),
    kills: num('kills', values.kills, 0, 1000),
    killEveryS: num('kill-every-s', values['kill-every-s'], 1, 3600),
    throttle: num('throttle', values.throttle, 0, 0.95),
    serverErrors: num('5xx', values['5xx'], 0, 0.95),
    lagMs: num('lag-ms', values['lag-ms'], 0, 600_000),
    timeoutS: num('timeout-s', values['timeout-s'], 1),
    sampleS: num('sample-s', values['sample-s'], 1, 600),
    skipResync: values['skip-resync'] ?? false,
    ...(values['resync-s'] !== undefined ? { resyncS: num('resync-s', values['resync-s'], 10, 86400) } : {}),
    keep: values.keep ?? false,
  };
}

// --- the controller as a child process ---------------------------------------

/** A free TCP port on 127.0.0.1 for the controller's probe server. */
async function freePort(): Promise<number> {
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
class ReconcileLedger {
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

interface ControllerProcess {
  child: ChildProcess;
  pid: number;
  port: number;
  spawnedAt: number;
  /** When the controller logged that its watches synced. */
  syncedAt?: number;
  /** Set when the process exited, by code or by signal. */
  gone: boolean;
  exited: Promise<number | null>;
}

class ControllerRunner {
  private generation = 0;
  current?: ControllerProcess;

  constructor(
    private readonly bed: Bed,
    private readonly configFile: string,
    private readonly ledger: ReconcileLedger,
    private readonly logDir: string,
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
    delete env.NODE_OPTIONS;
    const child = spawn(process.execPath, [
      path.join(projectRoot, 'dist', 'src', 'cli', 'main.js'), 'controller',
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
      if (ok) return proc;
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
async function scrape(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

const sumOf = (m: Map<string, number>, name: string): number =>
  [...m].filter(([k]) => k === name || k.startsWith(`${name}{`)).reduce((s, [, v]) => s + v, 0);

/** VmHWM (peak resident set) and VmRSS of a process, in MiB. */
function memoryOf(pid: number): { hwm: number; rss: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { hwm: kb('VmHWM') / 1024, rss: kb('VmRSS') / 1024 };
}

/** Waits until the queue is empty and no reconcile has been logged for quietMs; false if that did not happen in timeoutMs. */
async function quiet(ledger: ReconcileLedger, port: () => number, quietMs = 5000, timeoutMs = 60_000): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const depth = await scrape(port()).then((m) => sumOf(m, 'awi_workqueue_depth'), () => 1);
    if (depth === 0 && performance.now() - ledger.lastAt >= quietMs) return true;
    await sleep(500);
  }
  return false;
}

// --- figures -------------------------------------------------------------------

const isReady = (c: AwsWorkloadIdentityClaim): boolean =>
  c.status?.observedGeneration === c.metadata.generation && !!c.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True');

const fmtS = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const per = (v: number, n: number): string => (v / n).toFixed(2);

function split(calls: Record<string, number>): { total: number; writes: number; reads: number } {
  const total = Object.values(calls).reduce((s, v) => s + v, 0);
  const writes = Object.values(writeCalls(calls)).reduce((s, v) => s + v, 0);
  return { total, writes, reads: total - writes };
}

const byService = (calls: Record<string, number>, service: string): number =>
  Object.entries(calls).filter(([api]) => api.startsWith(`${service}:`)).reduce((s, [, v]) => s + v, 0);

interface Audit {
  roles: number;
  associations: number;
  duplicateRoles: string[];
  duplicateAssociations: string[];
  orphanRoles: string[];
  orphanAssociations: string[];
  missing: string[];
}

/** Roles under the awi path and the cluster's associations, against the claims as they are now. */
async function audit(endpoint: string, claims: ClaimToCreate[], custom: CustomObjectsApi): Promise<Audit> {
  const iam = new IAMClient(awsClientConfig(endpoint, testRegion));
  const roles: Role[] = [];
  let marker: string | undefined;
  do {
    const page = await iam.send(new ListRolesCommand({ PathPrefix: '/awi/', ...(marker ? { Marker: marker } : {}) }));
    roles.push(...(page.Roles ?? []));
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  const rolesByClaim = new Map<string, string[]>();
  const status = new Map<string, AwsWorkloadIdentityClaim>();
  for (const cl of claims) {
    const got = (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: cl.namespace, name: cl.name })) as AwsWorkloadIdentityClaim;
    status.set(claimKey(cl.namespace, cl.name), got);
  }
  const orphanRoles: string[] = [];
  for (const role of roles) {
    const tags = Object.fromEntries(((await iam.send(new ListRoleTagsCommand({ RoleName: role.RoleName! }))).Tags ?? []).map((t) => [t.Key!, t.Value!]));
    const key = claimKey(tags[TAG.namespace] ?? '', tags[TAG.claim] ?? '');
    const claim = status.get(key);
    if (!claim || claim.status?.roleArn !== role.Arn) orphanRoles.push(role.RoleName!);
    if (claim) rolesByClaim.set(key, [...(rolesByClaim.get(key) ?? []), role.RoleName!]);
  }
  const associations = (await new AwsFakeClient(endpoint).associations()).filter((a) => a.clusterName === testClusterName);
  const claimBySa = new Map(claims.map((cl) => [`${cl.namespace}/${cl.spec.serviceAccountName}`, cl]));
  const assocByClaim = new Map<string, string[]>();
  const orphanAssociations: string[] = [];
  for (const a of associations) {
    const cl = claimBySa.get(`${a.namespace}/${a.serviceAccount}`);
    const key = cl ? claimKey(cl.namespace, cl.name) : '';
    if (!cl || cl.spec.mechanism !== 'PodIdentity' || status.get(key)?.status?.roleArn !== a.roleArn) orphanAssociations.push(`${a.associationId} (${a.namespace}/${a.serviceAccount})`);
    if (cl) assocByClaim.set(key, [...(assocByClaim.get(key) ?? []), a.associationId]);
  }
  const missing: string[] = [];
  for (const cl of claims) {
    const key = claimKey(cl.namespace, cl.name);
    if (!rolesByClaim.has(key)) missing.push(`${key}: no role`);
    if (cl.spec.mechanism === 'PodIdentity' && !assocByClaim.has(key)) missing.push(`${key}: no association`);
  }
  return {
    roles: roles.length,
    associations: associations.length,
    duplicateRoles: [...rolesByClaim].filter(([, v]) => v.length > 1).map(([k, v]) => `${k}: ${v.join(', ')}`),
    duplicateAssociations: [...assocByClaim].filter(([, v]) => v.length > 1).map(([k, v]) => `${k}: ${v.join(', ')}`),
    orphanRoles,
    orphanAssociations,
    missing,
  };
}

// --- main ----------------------------------------------------------------------

async function main(): Promise<number> {
  const o = options();
  const say = (s: string): void => console.log(s);
  const started = performance.now();
  const faulty = o.throttle > 0 || o.serverErrors > 0 || o.lagMs > 0;
  const measureSteady = o.kills === 0 && !o.skipResync;

  say(`awi fleet bench (Node ${process.version}): ${o.claims} claims in ${o.namespaces} namespaces, controller as a child process` +
    `${o.kills ? `, ${o.kills} SIGKILLs every ${o.killEveryS} s` : ''}${o.throttle ? `, ${o.throttle * 100}% throttled` : ''}` +
    `${o.serverErrors ? `, ${o.serverErrors * 100}% 5xx` : ''}${o.lagMs ? `, IAM propagation lag ${o.lagMs} ms` : ''}`);
  const bed = await startBed();
  const ledger = new ReconcileLedger();
  const cleanups: Array<() => Promise<void>> = [() => stopBed(bed)];
  const cleanup = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) await c().catch((err: unknown) => console.error(`cleanup: ${String(err)}`));
  };
  const onSignal = (sig: NodeJS.Signals): void => void cleanup().then(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const fake = new AwsFakeClient(bed.endpoint);
    const kc = loadKubeConfig(bed.cp.state.kubeconfig);
    await installCrd();
    await platformPrerequisites();
    // The shipped controller settings: only the cluster, issuer and guardrails are the bed's.
    const doc = testPlatformConfigDocument((raw) => {
      raw.guardrails = [...raw.guardrails, { ...raw.guardrails[0], namespaces: ['bench-*'] }];
      if (o.resyncS !== undefined) raw.controller = { ...(raw.controller ?? {}), resyncSeconds: o.resyncS };
    });
    const config = parsePlatformConfig(doc, 'fleet bench config');
    const configFile = path.join(bed.runDir, 'platform-config.yaml');
    writeFileSync(configFile, YAML.stringify(doc));
    const c = config.controller;
    const b = c.awsBudget;
    say(`bed ready in ${fmtS(performance.now() - started)}; controller settings (shipped defaults): concurrency ${c.concurrency}, ` +
      `${c.rateLimitPerSecond} reconciles/s (burst ${c.rateLimitBurst}), resync ${c.resyncSeconds} s ±${c.resyncJitterRatio * 100}%, ` +
      `AWS budget IAM ${b.iamCallsPerSecond}/s, EKS ${b.eksCallsPerSecond}/s, STS ${b.stsCallsPerSecond}/s (burst ${b.burst}), propagation requeue 10 s (built in)`);

    const runner = new ControllerRunner(bed, configFile, ledger, bed.runDir);
    cleanups.push(() => runner.stop());
    const port = (): number => runner.current!.port;
    await runner.start();
    await quiet(ledger, port, 5000, 30_000);
    const idle = memoryOf(runner.current!.pid);
    say(`controller pid ${runner.current!.pid} ready; idle with no claim: VmHWM ${idle.hwm.toFixed(0)} MiB, VmRSS ${idle.rss.toFixed(0)} MiB`);

    // Ready as the API server reports it, through a watch of the bench's own.
    const readyAt = new Map<string, number>();
    const watch = new ResilientWatch<KubernetesObject>(kc, {
      path: `/apis/${GROUP}/${VERSION}/${PLURAL}`,
      onObject: (obj) => {
        const claim = obj as AwsWorkloadIdentityClaim;
        const key = claimKey(claim.metadata.namespace ?? '', claim.metadata.name);
        if (!readyAt.has(key) && isReady(claim)) readyAt.set(key, performance.now());
      },
    });
    await watch.start();
    cleanups.push(async () => watch.stop());

    const run = randomBytes(3).toString('hex');
    const namespaces = Array.from({ length: o.namespaces }, (_, i) => `bench-${run}-${i}`);
    const benchKc = shareConnections(loadKubeConfig(bed.cp.state.kubeconfig));
    const core = benchKc.makeApiClient(CoreV1Api);
    const custom = benchKc.makeApiClient(CustomObjectsApi);
    await Promise.all(namespaces.map((name) => core.createNamespace({ body: { metadata: { name } } })));
    const claims = benchClaims(o.claims, namespaces);
    const keys = claims.map((cl) => claimKey(cl.namespace, cl.name));
    const n = claims.length;

    const rules: FaultRule[] = [];
    for (const api of ['iam:*', 'eks:*']) {
      if (o.throttle > 0) rules.push({ api, fault: 'throttle', rate: o.throttle });
      if (o.serverErrors > 0) rules.push({ api, fault: 'internal', rate: o.serverErrors });
    }
    if (rules.length) await fake.setFaults(rules);
    if (o.lagMs > 0) await fake.setPropagationLag(o.lagMs);
    await fake.resetCalls();
    const metrics0 = await scrape(port());

    // Create every claim (20 requests in flight), as a burst of applies would.
    const t0 = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: 20 }, async () => {
      while (next < claims.length) {
        const cl = claims[next++]!;
        await custom.createNamespacedCustomObject({
          group: GROUP, version: VERSION, plural: PLURAL, namespace: cl.namespace,
          body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'AwsWorkloadIdentityClaim', metadata: { name: cl.name, namespace: cl.namespace }, spec: cl.spec },
        });
      }
    }));
    say(`created ${n} claims in ${fmtS(performance.now() - t0)}`);

    // Converge, sampling the Ready count; with --kills, SIGKILL and restart the controller on schedule.
    const samples: Array<{ t: number; ready: number; event?: string }> = [];
    const deadline = t0 + o.timeoutS * 1000;
    let kills = 0;
    let nextKill = t0 + o.killEveryS * 1000;
    let nextSample = t0;
    while (readyAt.size < n && performance.now() < deadline) {
      const now = performance.now();
      if (kills < o.kills && now >= nextKill) {
        const before = readyAt.size;
        await runner.kill('SIGKILL');
        kills++;
        samples.push({ t: performance.now() - t0, ready: before, event: `SIGKILL ${kills} (pid ${runner.current!.pid}), restarted` });
        runner.startDetached();
        nextKill = performance.now() + o.killEveryS * 1000;
      }
      if (now >= nextSample) {
        samples.push({ t: now - t0, ready: readyAt.size });
        nextSample = now + o.sampleS * 1000;
        if (!o.kills) say(`  ${readyAt.size}/${n} Ready after ${fmtS(now - t0)}`);
      }
      await sleep(100);
    }
    const missing = keys.filter((k) => !readyAt.has(k));
    if (missing.length) {
      say(`NOT CONVERGED: ${missing.length} of ${n} claims not Ready after ${o.timeoutS} s, e.g. ${missing.slice(0, 5).join(', ')}`);
      return 1;
    }
    const wall = Math.max(...readyAt.values()) - t0;
    samples.push({ t: wall, ready: n, event: 'all Ready' });
    // Creation is counted when the last claim is Ready (what the reconcile rate and the AWS budget paced);
    // whatever the controller does after that until it is idle (at most 60 s) is reported on its own row.
    const creationCalls = await fake.calls();
    const injected = rules.length ? (await fake.faults()).reduce((s, f) => s + f.injected, 0) : 0;
    const metrics1 = await scrape(port()).catch(() => new Map<string, number>());
    const reconcilesByMetrics = sumOf(metrics1, 'awi_reconciles_total') - sumOf(metrics0, 'awi_reconciles_total');
    const reconcilesByLog = ledger.total;
    const outcomesByLog = [...ledger.byOutcome].map(([k, v]) => `${k} ${v}`).join(', ');
    const outcomesByMetrics = [...metrics1].filter(([k]) => k.startsWith('awi_reconciles_total{'))
      .map(([k, v]) => [/result="([^"]+)"/.exec(k)?.[1] ?? k, v - (metrics0.get(k) ?? 0)] as const)
      .filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`).join(', ');
    const q0 = performance.now();
    const idleAfterCreate = await quiet(ledger, port, 5000, 60_000);
    const trailing = {
      ms: performance.now() - q0,
      calls: split(Object.fromEntries(Object.entries(await fake.calls()).map(([k, v]) => [k, v - (creationCalls[k] ?? 0)]))),
      reconciles: ledger.total - reconcilesByLog,
    };
    const afterCreate = memoryOf(runner.current!.pid);
    if (rules.length) await fake.clearFaults();
    if (o.lagMs > 0) await fake.setPropagationLag(0);

    // One full resync: each claim's own resync timer (resyncSeconds ± jitter after its last reconcile), no restart.
    let resync: { ms: number; reconciles: number; calls: Record<string, number> } | undefined;
    let restart: { calls: Record<string, number>; fromSpawnMs: number; fromSyncMs: number; reconciles: number; mem: { hwm: number; rss: number } } | undefined;
    let atN = afterCreate;
    if (measureSteady) {
      say(`all Ready after ${fmtS(wall)}; waiting until every claim has been reconciled once more (its resync timer or any other trigger)`);
      await fake.resetCalls();
      const snap = ledger.snapshot();
      const total0 = ledger.total;
      const r0 = performance.now();
      const resyncDeadline = r0 + (c.resyncSeconds * (1 + c.resyncJitterRatio) + n / c.rateLimitPerSecond + 120) * 1000;
      while (ledger.notSince(snap, keys).length && performance.now() < resyncDeadline) await sleep(500);
      const left = ledger.notSince(snap, keys);
      if (left.length) throw new Error(`${left.length} claims were not resynced within ${fmtS(resyncDeadline - r0)}, e.g. ${left.slice(0, 3).join(', ')}`);
      // Counted when the last claim got its reconcile (a controller that never idles would otherwise never end the window).
      resync = { ms: ledger.lastAt - r0, reconciles: ledger.total - total0, calls: await fake.calls() };
      atN = memoryOf(runner.current!.pid);

      // The first pass after a restart: SIGTERM (graceful, as a rolling update does), start again.
      say('resync measured; restarting the controller (SIGTERM, start again)');
      await runner.kill('SIGTERM');
      await fake.resetCalls();
      const snap2 = ledger.snapshot();
      const total2 = ledger.total;
      const proc = await runner.start();
      const restartDeadline = performance.now() + (n / c.rateLimitPerSecond + 300) * 1000;
      while (ledger.notSince(snap2, keys).length && performance.now() < restartDeadline) await sleep(200);
      const notPassed = ledger.notSince(snap2, keys);
      if (notPassed.length) throw new Error(`${notPassed.length} claims were not reconciled after the restart, e.g. ${notPassed.slice(0, 3).join(', ')}`);
      const passDone = ledger.lastAt;
      restart = {
        calls: await fake.calls(),
        fromSpawnMs: passDone - proc.spawnedAt,
        fromSyncMs: passDone - (proc.syncedAt ?? proc.spawnedAt),
        reconciles: ledger.total - total2,
        mem: memoryOf(proc.pid),
      };
    }

    const report = await audit(bed.endpoint, claims, custom);

    // --- the table ---
    const pi = claims.filter((cl) => cl.spec.mechanism === 'PodIdentity').length;
    const create = split(creationCalls);
    const reconcileFloor = (Math.max(0, n - c.rateLimitBurst) / c.rateLimitPerSecond) * 1000;
    const budgetFloor = Math.max(
      ...[['iam', b.iamCallsPerSecond], ['eks', b.eksCallsPerSecond], ['sts', b.stsCallsPerSecond]].map(([svc, rate]) =>
        (Math.max(0, byService(creationCalls, svc as string) - b.burst) / (rate as number)) * 1000),
    );
    const floor = Math.max(reconcileFloor, budgetFloor);
    const rows: Array<[string, string]> = [];
    rows.push(['claims', `${n} (${pi} Pod Identity, ${n - pi} IRSA; 8 permission shapes; ${o.namespaces} namespaces)`]);
    if (faulty) rows.push(['faults until all Ready', `throttle ${o.throttle}, 5xx ${o.serverErrors}, IAM propagation lag ${o.lagMs} ms; ${injected} faults injected`]);
    if (o.kills) rows.push(['controller kills', `${kills} SIGKILLs, every ${o.killEveryS} s, restarted at once`]);
    const ratio = (ms: number, f: number): string => (f > 0 ? `${(ms / f).toFixed(2)}×` : 'n/a × (N within the burst)');
    rows.push(['time to all Ready', `${fmtS(wall)} = ${ratio(wall, floor)} the floor of ${fmtS(floor)} (${ratio(wall, reconcileFloor)} the reconcile floor)`]);
    rows.push(['  reconcile floor', `${fmtS(reconcileFloor)} = (N − burst ${c.rateLimitBurst}) / ${c.rateLimitPerSecond} reconciles/s, one reconcile per claim`]);
    rows.push(['  AWS budget floor', `${fmtS(budgetFloor)} = max over IAM/EKS/STS of (calls made − burst ${b.burst}) / budget rate`]);
    const lat = claims.map((cl) => readyAt.get(claimKey(cl.namespace, cl.name))! - t0).sort((a, b2) => a - b2);
    rows.push(['Ready after creation start', `p50 ${fmtS(lat[Math.floor(n * 0.5)] ?? 0)}, p99 ${fmtS(lat[Math.min(n - 1, Math.floor(n * 0.99))] ?? 0)}`]);
    rows.push(['after all Ready until idle', `${idleAfterCreate ? `idle after ${fmtS(trailing.ms)}` : 'NOT IDLE after 60 s (see watch restarts)'}: ` +
      `${trailing.reconciles} more reconciles, ${trailing.calls.total} more AWS calls (${trailing.calls.writes} writes), not counted in creation`]);
    rows.push(['AWS calls at creation', `${per(create.total, n)} per claim: ${per(create.reads, n)} reads + ${per(create.writes, n)} writes (total ${create.total}${injected ? `, ${injected} of them faulted` : ''})`]);
    rows.push(['reconciles at creation', o.kills
      ? `${per(reconcilesByLog, n)} per claim (${reconcilesByLog}, from the logs of all ${kills + 1} processes: ${outcomesByLog})`
      : `${per(reconcilesByMetrics, n)} per claim (${reconcilesByMetrics}, awi_reconciles_total: ${outcomesByMetrics})`]);
    if (resync) {
      const s = split(resync.calls);
      rows.push(['one full resync', `${s.total} AWS calls = ${per(s.total, n)} per claim (${s.reads} reads, ${s.writes} writes); ${resync.reconciles} reconciles over ${fmtS(resync.ms)}, ${(s.total / Math.max(1, resync.reconciles)).toFixed(2)} calls per reconcile` +
        (resync.reconciles > n ? ` (some claims twice: ${((s.total * n) / resync.reconciles).toFixed(0)} calls scaled to N reconciles)` : '')]);
    }
    if (restart) {
      const s = split(restart.calls);
      rows.push(['first pass after restart', `${fmtS(restart.fromSpawnMs)} from process start (${fmtS(restart.fromSyncMs)} after watches synced); ${s.total} AWS calls = ${per(s.total, n)} per claim (${s.writes} writes); ${restart.reconciles} reconciles`]);
    }
    rows.push(['watch restarts (whole run)', [...ledger.watchRestarts].map(([w, k]) => `${w.split('/').at(-1)} ${k}`).join(', ') || '0']);
    rows.push(['peak RSS (VmHWM), idle', `${idle.hwm.toFixed(0)} MiB (no claim; VmRSS ${idle.rss.toFixed(0)} MiB)`]);
    rows.push([`peak RSS (VmHWM), ${n} claims`, `${atN.hwm.toFixed(0)} MiB (${measureSteady ? 'creation + resync' : o.kills ? 'last process, since its start' : 'creation'}; VmRSS ${atN.rss.toFixed(0)} MiB)` +
      (restart ? `; after a restart: ${restart.mem.hwm.toFixed(0)} MiB` : '')]);
    rows.push(['duplicates', `${report.duplicateRoles.length} claims with >1 role, ${report.duplicateAssociations.length} with >1 association`]);
    rows.push(['orphans', `${report.orphanRoles.length} roles, ${report.orphanAssociations.length} associations (${report.roles} roles under /awi/, ${report.associations} associations)`]);
    if (report.missing.length) rows.push(['missing', `${report.missing.length}: ${report.missing.slice(0, 3).join('; ')}`]);

    const width = Math.max(...rows.map(([k]) => k.length));
    say('');
    say(`| ${'figure'.padEnd(width)} | value |`);
    say(`|${'-'.repeat(width + 2)}|-------|`);
    for (const [k, v] of rows) say(`| ${k.padEnd(width)} | ${v} |`);
    const ops = [...new Set([...Object.keys(creationCalls), ...Object.keys(resync?.calls ?? {}), ...Object.keys(restart?.calls ?? {})])].sort();
    const opWidth = Math.max(33, ...ops.map((x) => x.length + 8));
    say('');
    say(`| ${'AWS calls per claim, by operation'.padEnd(opWidth)} | creation | resync | restart pass |`);
    say(`|${'-'.repeat(opWidth + 2)}|---------:|-------:|-------------:|`);
    for (const op of ops) {
      const w = Object.prototype.hasOwnProperty.call(writeCalls({ [op]: 1 }), op) ? ' (write)' : '';
      const cell = (calls: Record<string, number> | undefined): string => (calls ? per(calls[op] ?? 0, n) : '-');
      say(`| ${(op + w).padEnd(opWidth)} | ${cell(creationCalls).padStart(8)} | ${cell(resync?.calls).padStart(6)} | ${cell(restart?.calls).padStart(12)} |`);
    }
    if (o.kills) {
      say('');
      say('Ready count over time (from the bench\'s watch of the API server):');
      for (const sm of samples) say(`  ${fmtS(sm.t).padStart(8)}  ${String(sm.ready).padStart(5)}/${n}${sm.event ? `  ${sm.event}` : ''}`);
      const killRows = samples.filter((sm) => sm.event?.startsWith('SIGKILL'));
      const gains = killRows.map((k, i) => (i === 0 ? k.ready : k.ready - killRows[i - 1]!.ready));
      say(`Ready gained between kills: ${gains.join(', ')} (then ${n - (killRows.at(-1)?.ready ?? 0)} after the last kill)`);
    }
    for (const [label, list] of [['duplicate roles', report.duplicateRoles], ['duplicate associations', report.duplicateAssociations], ['orphan roles', report.orphanRoles], ['orphan associations', report.orphanAssociations]] as const) {
      if (list.length) say(`${label}: ${list.slice(0, 5).join('; ')}${list.length > 5 ? ` … (${list.length})` : ''}`);
    }
    const steadyWrites = resync ? split(resync.calls).writes : 0;
    if (steadyWrites) say('FAIL: the resync wrote to AWS');
    const bad = report.duplicateRoles.length + report.duplicateAssociations.length + report.orphanRoles.length + report.orphanAssociations.length + report.missing.length;
    return bad || steadyWrites ? 1 : 0;
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (!o.keep) rmSync(bed.runDir, { recursive: true, force: true });
    else say(`run directory kept: ${bed.runDir}`);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
