// Memory bench: where the controller's memory goes.
//
//   npm run build
//   bash testbed/scripts/node.sh node dist/bench/memory.js imports [--runs 3] [--bundle] [--node-flags=--max-semi-space-size=2]
//   bash testbed/scripts/node.sh node dist/bench/memory.js controller [--claims 1000] [--runs 3]
//        [--variant 'name=--flag1 --flag2']... [--rate 50] [--aws-rate 200] [--snapshot] [--keep]
//
// `imports`: one fresh Node process per row, which imports one module (or a
// set), runs two full GCs and prints process.memoryUsage(): what bare Node
// costs and what each big dependency adds; with --bundle, each row is bundled
// first as `npm run bundle` bundles the CLI (what the image runs).
//
// `controller`: the real `awi controller` as a child process (as a Deployment
// replica runs it: `node <flags> dist/awi.mjs controller --config … --kubeconfig
// … --probe-port … --no-leader-elect`, the bundle the image runs) against the
// bench's own test bed, for each --variant (Node flags, environment and the
// script, a token ending in .js or .mjs, e.g. dist/src/cli/main.js for the
// unbundled build; default: `shipped`, the image's flags plus the
// Deployment's NODE_OPTIONS, then `none`, Node's defaults):
// idle with no claim, --runs times; then N claims created and converged under
// the first variant; then, for every variant, a fresh
// process whose first pass reconciles the N converged claims. RSS and VmHWM
// come from /proc; heap, external and array buffers from a preloaded probe
// (bench/memory-probe.ts, signalled). Prints tables; asserts nothing.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { KubernetesObject } from '@kubernetes/client-node';
import YAML from 'yaml';
import type { AwsWorkloadIdentityClaim } from '../src/api/types.js';
import { parsePlatformConfig } from '../src/config/index.js';
import { claimKey } from '../src/kube/claims.js';
import { ResilientWatch } from '../src/runtime/watch.js';
import { installCrd, platformPrerequisites, testPlatformConfigDocument } from '../testbed/harness/platform.js';
import { stopChild } from '../testbed/harness/controlplane.js';
import { loadKubeConfig } from '../testbed/harness/kube.js';
import { projectRoot } from '../testbed/harness/paths.js';
import { testRegion } from '../testbed/harness/testbed-info.js';
import { freePort, shippedNode, SHIPPED_ENTRY as ENTRY } from './controller.js';
import { benchClaims, createClaims, startBed, stopBed, watchReadiness, type Bed } from './bed.js';

/** The Node flags a Deployment replica runs with (bench/controller.ts: the image's and the Deployment's NODE_OPTIONS). */
function shippedNodeFlags(): string {
  const node = shippedNode();
  return [...node.flags, node.nodeOptions].join(' ').trim();
}

const MiB = 1024 * 1024;
const mib = (bytes: number): string => (bytes / MiB).toFixed(1);

/** "12.3" or "12.3 (12.1–12.9)" for several runs: the median and the spread. */
function spread(values: number[], fmt: (v: number) => string = (v) => v.toFixed(1)): string {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return '-';
  const med = v[Math.floor((v.length - 1) / 2)]!;
  return v.length === 1 || v[0] === v.at(-1) ? fmt(med) : `${fmt(med)} (${fmt(v[0]!)}–${fmt(v.at(-1)!)})`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.map(line)].join('\n');
}

// --- imports ------------------------------------------------------------------

interface ImportRow {
  label: string;
  /** ESM statements run before measuring (cwd: the project root, so bare specifiers resolve to its node_modules). */
  code: string;
}

const dist = (p: string): string => JSON.stringify(path.join(projectRoot, 'dist', p));

const IMPORT_ROWS: ImportRow[] = [
  { label: 'bare node (nothing imported)', code: '' },
  { label: 'commander', code: "await import('commander');" },
  { label: 'yaml', code: "await import('yaml');" },
  { label: 'pino', code: "await import('pino');" },
  { label: 'prom-client', code: "await import('prom-client');" },
  { label: 'ajv', code: "await import('ajv');" },
  { label: 'ajv + claim and config schemas compiled', code:
    `const v = await import(${dist('src/api/validate.js')}); v.validateClaimStructure({});` +
    `const c = await import(${dist('src/config/index.js')}); try { c.parsePlatformConfig({}, 'x'); } catch {}` },
  { label: '@aws-sdk/client-iam', code: "await import('@aws-sdk/client-iam');" },
  { label: '@aws-sdk/client-eks', code: "await import('@aws-sdk/client-eks');" },
  { label: '@aws-sdk/client-sts', code: "await import('@aws-sdk/client-sts');" },
  { label: 'the three AWS SDK clients', code: "await Promise.all(['iam', 'eks', 'sts'].map((s) => import('@aws-sdk/client-' + s)));" },
  { label: 'the three clients, one instance each', code:
    "const [i, e, s] = await Promise.all(['iam', 'eks', 'sts'].map((s) => import('@aws-sdk/client-' + s)));" +
    "new i.IAMClient({ region: 'us-east-1' }); new e.EKSClient({ region: 'us-east-1' }); new s.STSClient({ region: 'us-east-1' });" },
  { label: '@kubernetes/client-node', code: "await import('@kubernetes/client-node');" },
  { label: '  its KubeConfig only (dist/config.js)', code: "await import('@kubernetes/client-node/dist/config.js');" },
  { label: '  its model serializer only (gen/models)', code: "await import('@kubernetes/client-node/dist/gen/models/ObjectSerializer.js');" },
  { label: 'awi CLI, every command registered', code: `await (await import(${dist('src/cli/program.js')})).buildFullProgram();` },
  { label: 'awi CLI, the controller command only', code: `const p = await import(${dist('src/cli/program.js')}); p.buildProgram((await import(${dist('src/cli/io.js')})).processIo, await p.loadSubcommands('controller'));` },
  { label: 'awi controller modules (controller/run.js)', code: `await import(${dist('src/controller/run.js')});` },
  { label: 'awi controller command, all it loads', code:
    `const p = await import(${dist('src/cli/program.js')}); p.buildProgram((await import(${dist('src/cli/io.js')})).processIo, await p.loadSubcommands('controller'));` +
    `await Promise.all([import('@kubernetes/client-node'), import('pino'), import(${dist('src/controller/run.js')})]);` },
];

interface Usage { rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number }
// `imports --bundle`: each row bundled on its own as `npm run bundle` bundles
// the CLI (the package script's esbuild flags), then loaded from the bundle:
// what a dependency costs in the shape the image runs it.
const KUBE_OPTIONS = "{ clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: true }], users: [{ name: 'u', token: 't' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' }";
const BUNDLED_ROWS: ImportRow[] = [
  { label: 'bare node (nothing bundled)', code: '' },
  { label: "Node's https, tls, http, crypto (no package)", code:
    "import https from 'node:https'; import tls from 'node:tls'; import http from 'node:http'; import crypto from 'node:crypto';" +
    "globalThis.keep = [https.Agent, tls.connect, http.request, crypto.createHash('sha256')];" },
  { label: "undici (client-node's copy), an Agent", code: "import { Agent } from 'undici'; globalThis.keep = [new Agent()];" },
  { label: 'the three AWS SDK clients, one instance each', code:
    "import { IAMClient } from '@aws-sdk/client-iam'; import { EKSClient } from '@aws-sdk/client-eks'; import { STSClient } from '@aws-sdk/client-sts';" +
    "globalThis.keep = [new IAMClient({ region: 'us-east-1' }), new EKSClient({ region: 'us-east-1' }), new STSClient({ region: 'us-east-1' })];" },
  { label: 'client-node: KubeConfig and Watch only', code:
    `import { KubeConfig, Watch } from '@kubernetes/client-node'; const kc = new KubeConfig(); kc.loadFromOptions(${KUBE_OPTIONS}); globalThis.keep = [new Watch(kc), kc];` },
  { label: 'client-node as awi uses it (KubeConfig, Watch, the typed clients)', code:
    "import { KubeConfig, Watch, CoreV1Api, CustomObjectsApi, CoordinationV1Api, EventsV1Api, AppsV1Api, V1MicroTime, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';" +
    `const kc = new KubeConfig(); kc.loadFromOptions(${KUBE_OPTIONS});` +
    'globalThis.keep = [new Watch(kc), ...[CoreV1Api, CustomObjectsApi, CoordinationV1Api, EventsV1Api, AppsV1Api].map((A) => kc.makeApiClient(A)), V1MicroTime, PatchStrategy, setHeaderOptions];' },
];

/** Bundles `code` with the package's bundle script (esbuild flags), into a temporary file under the project (so that packages resolve); returns the bundle's path. */
function bundleRow(code: string, dir: string, n: number): string {
  const entry = path.join(dir, `row-${n}.mjs`);
  const out = path.join(dir, `row-${n}.bundle.mjs`);
  writeFileSync(entry, code || 'export {};');
  const script = (JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.bundle!;
  const [, , ...flags] = script.match(/"[^"]*"|\S+/g)!.map((a) => a.replace(/^"(.*)"$/, '$1'));
  const args = [entry, ...flags.filter((f) => !f.startsWith('--outfile=')), `--outfile=${out}`];
  const r = spawnSync(path.join(projectRoot, 'node_modules', '.bin', 'esbuild'), args, { cwd: projectRoot, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`esbuild ${args.join(' ')}: ${r.stderr}`);
  return out;
}


function measureImport(row: ImportRow, flags: string[], bundle?: string): Usage {
  const script = `${bundle ? `await import(${JSON.stringify(bundle)});` : row.code}
globalThis.gc(); globalThis.gc();
await new Promise((r) => setTimeout(r, 300));
globalThis.gc();
console.log(JSON.stringify(process.memoryUsage()));`;
  const r = spawnSync(process.execPath, [...flags, '--expose-gc', '--input-type=module', '-e', script], {
    cwd: projectRoot, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  if (r.status !== 0) throw new Error(`${row.label}: exit ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Usage;
}

function imports(runs: number, flags: string[], bundled: boolean): void {
  console.log(`Import costs on Node ${process.version}${flags.length ? ` with ${flags.join(' ')}` : ', no Node flag'}${bundled ? ', each row bundled as npm run bundle bundles the CLI' : ''}: one fresh process per row and run, RSS after two full GCs (MiB; median of ${runs} runs, spread in parentheses)`);
  console.log('');
  const rows: string[][] = [];
  let bare = 0;
  const dir = bundled ? mkdtempSync(path.join(projectRoot, '.cache', 'memory-imports-')) : '';
  for (const [n, row] of (bundled ? BUNDLED_ROWS : IMPORT_ROWS).entries()) {
    const bundle = bundled ? bundleRow(row.code, dir, n) : undefined;
    const u = Array.from({ length: runs }, () => measureImport(row, flags, bundle));
    const rss = u.map((x) => x.rss / MiB);
    if (!row.code) bare = [...rss].sort((a, b) => a - b)[Math.floor((rss.length - 1) / 2)]!;
    rows.push([
      row.label, spread(rss), row.code ? `+${spread(rss.map((x) => x - bare))}` : '',
      spread(u.map((x) => x.heapUsed / MiB)), spread(u.map((x) => x.heapTotal / MiB)), spread(u.map((x) => x.external / MiB)), spread(u.map((x) => x.arrayBuffers / MiB)),
    ]);
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
  console.log(table(['imported', 'RSS', 'over bare node', 'heap used', 'heap total', 'external', 'array buffers'], rows));
}

// --- the controller as a child process ---------------------------------------


interface Sample {
  rss: number;
  hwm: number;
  anon: number;
  file: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** User + system CPU of the process so far, seconds. */
  cpu: number;
}

class ControllerProcess {
  readonly child: ChildProcess;
  readonly spawnedAt = performance.now();
  gone = false;
  readonly exited: Promise<void>;
  /** Reconciles per claim key, from the controller's debug log ("reconciled" lines). */
  readonly reconciled = new Map<string, number>();
  reconciles = 0;
  lastReconcileAt = performance.now();
  private readonly probeFile: string;

  constructor(readonly bed: Bed, configFile: string, readonly port: number, variant: Variant, logFile: string) {
    this.probeFile = `${logFile}.probe`;
    rmSync(this.probeFile, { force: true });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      AWS_ENDPOINT_URL: bed.endpoint, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: testRegion,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', AWI_MEMORY_PROBE_FILE: this.probeFile,
      ...variant.env,
    };
    delete env.AWS_PROFILE;
    delete env.NODE_OPTIONS;
    this.child = spawn(process.execPath, [
      ...variant.flags, '--expose-gc', '--import', path.join(projectRoot, 'dist', 'bench', 'memory-probe.js'),
      variant.entry, 'controller',
      '--config', configFile, '--kubeconfig', bed.cp.state.kubeconfig, '--probe-port', String(port), '--no-leader-elect',
      '--log-level', 'debug', // one "reconciled" line per reconcile: how the bench knows a pass is complete
    ], { stdio: ['ignore', 'pipe', 'pipe'], env, cwd: bed.runDir });
    const log = createWriteStream(logFile);
    this.exited = new Promise((resolve) => this.child.once('exit', () => {
      this.gone = true;
      resolve();
    }));
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      log.write(line + '\n');
      if (!line.includes('"msg":"reconciled"') && !line.includes('"msg":"reconcile threw"')) return;
      const claim = /"claim":"([^"]+)"/.exec(line)?.[1];
      if (!claim) return;
      this.reconciled.set(claim, (this.reconciled.get(claim) ?? 0) + 1);
      this.reconciles++;
      this.lastReconcileAt = performance.now();
    });
    this.child.stderr!.pipe(log);
    void this.exited.then(() => log.end());
  }

  get pid(): number {
    return this.child.pid!;
  }

  async ready(): Promise<void> {
    for (;;) {
      if (this.gone) throw new Error(`the controller exited (code ${this.child.exitCode}, signal ${this.child.signalCode}) before it was ready`);
      if (await fetch(`http://127.0.0.1:${this.port}/readyz`).then((r) => r.ok, () => false)) return;
      await sleep(100);
    }
  }

  async queueDepth(): Promise<number> {
    const text = await fetch(`http://127.0.0.1:${this.port}/metrics`).then((r) => r.text(), () => '');
    const m = /^awi_workqueue_depth(?:\{[^}]*\})? (\S+)$/m.exec(text);
    return m ? Number(m[1]) : 1;
  }

  /** Queue empty and no reconcile logged for quietMs. */
  async quiet(quietMs = 5000, timeoutMs = 120_000): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      if ((await this.queueDepth()) === 0 && performance.now() - this.lastReconcileAt >= quietMs) return true;
      await sleep(500);
    }
    return false;
  }

  async sample(afterGc = false): Promise<Sample> {
    const lines = (): string[] => (existsSync(this.probeFile) ? readFileSync(this.probeFile, 'utf8').trim().split('\n').filter(Boolean) : []);
    const before = lines().length;
    this.child.kill(afterGc ? 'SIGURG' : 'SIGUSR2');
    const deadline = performance.now() + 10_000;
    while (lines().length === before && performance.now() < deadline) await sleep(50);
    const usage = JSON.parse(lines().at(-1) ?? '{}') as Partial<Usage>;
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
    return {
      rss: kb('VmRSS'), hwm: kb('VmHWM'), anon: kb('RssAnon'), file: kb('RssFile'),
      heapUsed: usage.heapUsed ?? NaN, heapTotal: usage.heapTotal ?? NaN, external: usage.external ?? NaN, arrayBuffers: usage.arrayBuffers ?? NaN,
      cpu: ticks / 100,
    };
  }

  async stop(): Promise<void> {
    await stopChild(this.child, 20_000).catch(() => undefined);
  }
}

// --- main -----------------------------------------------------------------------

/** Node flags and environment variables (`NAME=value` tokens of --variant, e.g. MALLOC_ARENA_MAX=2) of a controller run. */
/**
 * Node flags, environment variables (`NAME=value` tokens of --variant, e.g. MALLOC_ARENA_MAX=2) and the
 * script (a token ending in .js or .mjs; default: the artefact the image runs, BUNDLE) of a controller run.
 */
interface Variant { name: string; flags: string[]; env: Record<string, string>; entry: string }

function sampleRow(label: string, variant: string, s: Sample[], extra = ''): string[] {
  const f = (pick: (x: Sample) => number): string => spread(s.map((x) => pick(x) / MiB));
  return [label, variant, f((x) => x.rss), f((x) => x.hwm), f((x) => x.anon), f((x) => x.heapUsed), f((x) => x.heapTotal), f((x) => x.external), f((x) => x.arrayBuffers), extra];
}

async function controller(o: { claims: number; runs: number; variants: Variant[]; rate: number; awsRate: number; snapshot: boolean; keep: boolean; settleS: number }): Promise<number> {
  const say = (s: string): void => console.log(s);
  const bed = await startBed();
  let current: ControllerProcess | undefined;
  let watch: ResilientWatch<KubernetesObject> | undefined;
  // Interrupted: stop the controller and the bed (children do not die with this process).
  const onSignal = (sig: NodeJS.Signals): void => {
    void (async () => {
      watch?.stop();
      if (current && !current.gone) await current.stop();
      await stopBed(bed);
      process.exit(sig === 'SIGINT' ? 130 : 143);
    })();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await installCrd();
    await platformPrerequisites();
    const doc = testPlatformConfigDocument((raw) => {
      raw.guardrails = [...raw.guardrails, { ...raw.guardrails[0], namespaces: ['bench-*'] }];
      // Faster convergence than the shipped 10 reconciles/s and 20 AWS calls/s: memory, not pacing, is measured here.
      raw.controller = {
        ...(raw.controller ?? {}), rateLimitPerSecond: o.rate, rateLimitBurst: Math.max(20, o.rate),
        awsBudget: { iamCallsPerSecond: o.awsRate, eksCallsPerSecond: o.awsRate, stsCallsPerSecond: o.awsRate, burst: Math.min(1000, Math.max(40, o.awsRate)) },
      };
    });
    const c = parsePlatformConfig(doc, 'memory bench config').controller;
    const configFile = path.join(bed.runDir, 'platform-config.yaml');
    writeFileSync(configFile, YAML.stringify(doc));
    say(`awi memory bench (Node ${process.version}, load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')})`);
    say(`controller settings: concurrency ${c.concurrency}, ${c.rateLimitPerSecond} reconciles/s (burst ${c.rateLimitBurst}), resync ${c.resyncSeconds} s, ` +
      `AWS budget ${c.awsBudget.iamCallsPerSecond}/${c.awsBudget.eksCallsPerSecond}/${c.awsBudget.stsCallsPerSecond} calls/s IAM/EKS/STS (burst ${c.awsBudget.burst}); log level debug`);
    for (const v of o.variants) say(`variant ${v.name}: ${Object.entries(v.env).map(([k, x]) => `${k}=${x} `).join('')}node ${v.flags.join(' ') || '(no flag)'} ${path.relative(projectRoot, v.entry)}`);

    let generation = 0;
    const start = async (v: Variant): Promise<ControllerProcess> => {
      const p = new ControllerProcess(bed, configFile, await freePort(), v, path.join(bed.runDir, `controller-${++generation}-${v.name}.log`));
      current = p;
      await p.ready();
      return p;
    };

    // Idle, no claim.
    const rows: string[][] = [];
    for (const v of o.variants) {
      const samples: Sample[] = [];
      const live: Sample[] = [];
      for (let r = 0; r < o.runs; r++) {
        const p = await start(v);
        await p.quiet(3000, 30_000);
        await sleep(o.settleS * 1000);
        samples.push(await p.sample());
        live.push(await p.sample(true));
        await p.stop();
      }
      rows.push(sampleRow('idle, no claim', v.name, samples, `after GC: heap used ${spread(live.map((x) => x.heapUsed / MiB))}, RSS ${spread(live.map((x) => x.rss / MiB))}`));
    }

    if (o.claims > 0) {
      const first = o.variants[0]!;
      const kc = loadKubeConfig(bed.cp.state.kubeconfig);
      const readiness = watchReadiness(kc);
      const readyAt = readiness.readyAt;
      watch = readiness.watch;
      await watch.start();
      const run = randomBytes(3).toString('hex');
      const namespaces = Array.from({ length: 10 }, (_, i) => `bench-${run}-${i}`);
      const p = await start(first);
      await p.quiet(3000, 30_000);
      const { CoreV1Api, CustomObjectsApi } = await import('@kubernetes/client-node');
      const core = kc.makeApiClient(CoreV1Api);
      const custom = kc.makeApiClient(CustomObjectsApi);
      await Promise.all(namespaces.map((name) => core.createNamespace({ body: { metadata: { name } } })));
      const claims = benchClaims(o.claims, namespaces);
      const n = claims.length;
      const t0 = performance.now();
      const cpu0 = (await p.sample()).cpu;
      const peakDuring: number[] = [];
      const sampler = setInterval(() => {
        try {
          const st = readFileSync(`/proc/${p.pid}/status`, 'utf8');
          peakDuring.push(Number(/^VmRSS:\s+(\d+)/m.exec(st)?.[1] ?? 0) * 1024);
        } catch { /* exited */ }
      }, 1000);
      await createClaims(custom, claims);
      say(`created ${n} claims in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      let lastSay = performance.now();
      while (readyAt.size < n) {
        if (p.gone) throw new Error('the controller exited during convergence');
        if (performance.now() - lastSay > 30_000) {
          say(`  ${readyAt.size}/${n} Ready after ${((performance.now() - t0) / 1000).toFixed(0)} s; controller RSS ${mib(peakDuring.at(-1) ?? 0)} MiB`);
          lastSay = performance.now();
        }
        await sleep(250);
      }
      const wall = Math.max(...readyAt.values()) - t0;
      await p.quiet(5000, 120_000);
      clearInterval(sampler);
      const converged = await p.sample();
      const live = await p.sample(true);
      rows.push(sampleRow(`${n} claims, after creation`, first.name, [converged],
        `all Ready in ${(wall / 1000).toFixed(0)} s, ${p.reconciles} reconciles, CPU ${(converged.cpu - cpu0).toFixed(0)} s; after GC: heap used ${mib(live.heapUsed)}, RSS ${mib(live.rss)}`));
      if (o.snapshot) {
        process.kill(p.pid, 'SIGTTIN');
        say('heap snapshot requested (SIGTTIN; the variant needs --heapsnapshot-signal=SIGTTIN); waiting 60 s for it to be written');
        await sleep(60_000);
      }
      await p.stop();

      // A fresh process per variant: its first pass over the N converged claims (a restart, as a rolling update does).
      const keys = claims.map((cl) => claimKey(cl.namespace, cl.name));
      for (const v of o.variants) {
        const samples: Sample[] = [];
        const notes: string[] = [];
        for (let r = 0; r < o.runs; r++) {
          const q = await start(v);
          const deadline = performance.now() + (n / c.rateLimitPerSecond + 600) * 1000;
          while (keys.some((k) => !q.reconciled.has(k)) && performance.now() < deadline) await sleep(250);
          const passMs = performance.now() - q.spawnedAt;
          await q.quiet(5000, 120_000);
          const s = await q.sample();
          samples.push(s);
          notes.push(`${(passMs / 1000).toFixed(0)} s, CPU ${s.cpu.toFixed(1)} s`);
          await q.stop();
        }
        rows.push(sampleRow(`${n} claims, restart pass`, v.name, samples, `pass (from spawn) and CPU: ${notes.join('; ')}`));
      }
    }
    say('');
    say('Controller memory (MiB; median of the runs, spread in parentheses). RSS and peak (VmHWM) from /proc; anon = RssAnon (RSS minus mapped files such as the node binary); heap and external from process.memoryUsage() in the process');
    say('');
    say(table(['phase', 'variant', 'RSS', 'peak RSS', 'anon', 'heap used', 'heap total', 'external', 'array buffers', 'notes'], rows));
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    watch?.stop();
    if (current && !current.gone) await current.stop();
    await stopBed(bed);
    if (o.snapshot || o.keep) {
      const snaps = readdirSync(bed.runDir).filter((f) => f.endsWith('.heapsnapshot'));
      say(`run directory kept: ${bed.runDir}${snaps.length ? ` (heap snapshots: ${snaps.join(', ')})` : ''}`);
    } else rmSync(bed.runDir, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      runs: { type: 'string', default: '3' },
      claims: { type: 'string', default: '1000' },
      variant: { type: 'string', multiple: true },
      rate: { type: 'string', default: '50' },
      'aws-rate': { type: 'string', default: '200' },
      'settle-s': { type: 'string', default: '10' },
      'node-flags': { type: 'string', default: '' },
      bundle: { type: 'boolean', default: false },
      snapshot: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
    },
  });
  const num = (name: string, v: string | undefined, min: number, max: number): number => {
    const x = Number(v);
    if (!Number.isFinite(x) || x < min || x > max) {
      console.error(`--${name} must be a number in [${min}, ${max}], got ${v}`);
      process.exit(2);
    }
    return x;
  };
  const runs = num('runs', values.runs, 1, 20);
  if (positionals[0] === 'imports') {
    imports(runs, (values['node-flags'] ?? '').split(/\s+/).filter(Boolean), values.bundle ?? false);
    return 0;
  }
  if (positionals[0] !== 'controller') {
    console.error('usage: node dist/bench/memory.js imports [--runs 3] [--bundle] [--node-flags="--max-semi-space-size=2 …"]\n       node dist/bench/memory.js controller [--claims 1000] [--runs 3] [--variant "name=--flag … [ENV=value …] [script.mjs]"]… [--rate 50] [--aws-rate 200] [--settle-s 10] [--snapshot] [--keep]');
    return 2;
  }
  const variants: Variant[] = (values.variant ?? [`shipped=${shippedNodeFlags()}`, 'none=']).map((spec) => {
    const i = spec.indexOf('=');
    const name = i < 0 ? spec : spec.slice(0, i);
    const tokens = (i < 0 ? '' : spec.slice(i + 1)).split(/\s+/).filter(Boolean);
    const isEnv = (t: string): boolean => /^[A-Z_][A-Z0-9_]*=/.test(t);
    const env = Object.fromEntries(tokens.filter(isEnv).map((t) => [t.slice(0, t.indexOf('=')), t.slice(t.indexOf('=') + 1)]));
    const isEntry = (t: string): boolean => !t.startsWith('-') && /\.m?js$/.test(t);
    const entry = tokens.find(isEntry);
    return { name, flags: tokens.filter((t) => !isEnv(t) && !isEntry(t)), env, entry: entry ? path.resolve(entry) : ENTRY };
  });
  return controller({
    claims: num('claims', values.claims, 0, 20_000), runs, variants,
    rate: num('rate', values.rate, 1, 1000), awsRate: num('aws-rate', values['aws-rate'], 1, 1000),
    settleS: num('settle-s', values['settle-s'], 0, 600),
    snapshot: values.snapshot ?? false, keep: values.keep ?? false,
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
