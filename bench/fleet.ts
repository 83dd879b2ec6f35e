// Fleet bench: the real `awi controller` as a separate process, exactly as a
// Deployment replica runs it, against the bench's own test bed (one fresh bed
// per N). It measures what issue 10 asks about and prints it as one table,
// one column per N: time to all Ready against the floor of the configured
// reconcile rate and AWS budget, AWS calls and reconciles per claim at
// creation, the AWS cost of one full resync and of the first pass after a
// restart, the controller's RSS (idle, creation, steady state), and (with
// --kills) whether convergence progresses through a crash loop.
//
//   npm run build && bash testbed/scripts/node.sh node dist/bench/fleet.js --claims 1000,5000 [--out figures.md|figures.json]
//        [--kills 20] [--throttle 0.3] [--5xx 0.05] [--lag-ms 10000]
//
// Exit code 0 when every claim of every run became Ready with no duplicate,
// orphan or missing resource and the resync wrote nothing to AWS; 1
// otherwise; 2 on bad arguments.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { IAMClient, ListRolesCommand, ListRoleTagsCommand, type Role } from '@aws-sdk/client-iam';
import YAML from 'yaml';
import type { AwsWorkloadIdentityClaim } from '../src/api/types.js';
import { compileClaim } from '../src/compiler/compile.js';
import { TAG } from '../src/compiler/tags.js';
import type { DesiredState } from '../src/compiler/types.js';
import { parsePlatformConfig } from '../src/config/index.js';
import type { PlatformConfig } from '../src/config/types.js';
import { shareConnections } from '../src/runtime/connections.js';
import { claimKey, GROUP, PLURAL, VERSION } from '../src/kube/claims.js';
import { AwsFakeClient, awsClientConfig, writeCalls, type FaultRule } from '../testbed/awsfake/client.js';
import { installCrd, platformPrerequisites, testPlatformConfigDocument } from '../testbed/harness/platform.js';
import { loadKubeConfig } from '../testbed/harness/kube.js';
import { projectRoot } from '../testbed/harness/paths.js';
import { testClusterName, testRegion } from '../testbed/harness/testbed-info.js';
import { benchClaims, createClaims, startBed, stopBed, watchReadiness, type ClaimToCreate } from './bed.js';
import { ControllerRunner, memoryOf, quiet, ReconcileLedger, resetPeak, scrape, SHIPPED_ENTRY, sumOf } from './controller.js';
import { callsSince, creationFloor, floorLabel, neededForCreation, renderReport, splitCalls, type KillSample, type MemoryFigure, type RunFigures } from './figures.js';

interface Options {
  claims: number[];
  namespaces: number;
  kills: number;
  killEveryS: number;
  /** What --kill-every-s counts from for a restarted process: its readiness (default) or its spawn (a harsher crash loop). */
  killFrom: 'ready' | 'spawn';
  throttle: number;
  serverErrors: number;
  lagMs: number;
  timeoutS: number;
  sampleS: number;
  skipResync: boolean;
  resyncS?: number;
  concurrency?: number;
  qps?: number;
  controller: string;
  out?: string;
  label?: string;
  /** Only render: the runs of these --out JSON files (each "file.json" or "file.json:label") as one table. */
  render?: string[];
  keep: boolean;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      claims: { type: 'string', default: '200' },
      namespaces: { type: 'string', default: '10' },
      kills: { type: 'string', default: '0' },
      'kill-every-s': { type: 'string', default: '10' },
      'kill-from': { type: 'string', default: 'ready' },
      throttle: { type: 'string', default: '0' },
      '5xx': { type: 'string', default: '0' },
      'lag-ms': { type: 'string', default: '0' },
      'timeout-s': { type: 'string', default: '3600' },
      'sample-s': { type: 'string', default: '5' },
      'skip-resync': { type: 'boolean', default: false },
      'resync-s': { type: 'string' },
      concurrency: { type: 'string' },
      qps: { type: 'string' },
      controller: { type: 'string' },
      out: { type: 'string' },
      label: { type: 'string' },
      render: { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(`usage: node dist/bench/fleet.js [--claims 200[,1000,...]] [--out FILE.md|FILE.json] [--namespaces 10]
       [--kills K] [--kill-every-s 10] [--throttle R] [--5xx R] [--lag-ms L] [--timeout-s 3600] [--sample-s 5]
       [--skip-resync] [--resync-s S] [--concurrency N] [--qps N] [--controller PATH] [--keep]
  --claims N,M,...  one run per N, each on a fresh test bed; one table with a column per run
  --out FILE        also write the table: FILE.json (figures and table) or any other name (markdown)
  --label TEXT      name the runs' columns (e.g. before, after)
  --render A.json[:label],B.json[:label]   run nothing: one table of the runs in earlier --out JSON files
  --kills K         SIGKILL the controller K times during convergence, restarting it at once; each process lives
                    --kill-every-s seconds from its readiness (--kill-from ready, default) or from its spawn (--kill-from spawn)
  --throttle R      throttle that fraction of IAM and EKS calls (at random, seeded) until all claims are Ready
  --5xx R           answer that fraction of the IAM and EKS calls not throttled with a 500 (IAM InternalFailure, EKS ServerException), at random, until all claims are Ready
  --lag-ms L        IAM propagation lag of the fake until all claims are Ready
  --resync-s S      controller.resyncSeconds (default: the shipped 300); a shorter one makes the resync figure quicker to get
  --concurrency N, --qps N   override controller.concurrency / rateLimitPerSecond (the floor follows)
  --controller PATH run this built CLI (e.g. another checkout's dist/awi.mjs or dist/src/cli/main.js) instead of this checkout's dist/awi.mjs (npm run build)
  --skip-resync     skip the resync and restart measurements (they are skipped with --kills too)
  --keep            keep the run directories (controller logs, control plane and fake logs)`);
    process.exit(0);
  }
  const num = (name: string, v: string | undefined, min: number, max = Infinity): number => {
    const n = Number(v);
    if (v === undefined || v.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      console.error(`--${name} must be a number in [${min}, ${max}], got ${v}`);
      process.exit(2);
    }
    return n;
  };
  return {
    claims: (values.claims ?? '').split(',').map((v) => num('claims', v, 1, 10_000)),
    namespaces: num('namespaces', values.namespaces, 1, 1000),
    kills: num('kills', values.kills, 0, 1000),
    killEveryS: num('kill-every-s', values['kill-every-s'], 1, 3600),
    killFrom: ((v) => {
      if (v !== 'ready' && v !== 'spawn') {
        console.error(`--kill-from must be ready or spawn, got ${v}`);
        process.exit(2);
      }
      return v;
    })(values['kill-from']),
    throttle: num('throttle', values.throttle, 0, 0.95),
    serverErrors: num('5xx', values['5xx'], 0, 0.95),
    lagMs: num('lag-ms', values['lag-ms'], 0, 600_000),
    timeoutS: num('timeout-s', values['timeout-s'], 1),
    sampleS: num('sample-s', values['sample-s'], 1, 600),
    skipResync: values['skip-resync'] ?? false,
    ...(values['resync-s'] !== undefined ? { resyncS: num('resync-s', values['resync-s'], 10, 86400) } : {}),
    ...(values.concurrency !== undefined ? { concurrency: num('concurrency', values.concurrency, 1, 64) } : {}),
    ...(values.qps !== undefined ? { qps: num('qps', values.qps, 0.1, 1000) } : {}),
    controller: path.resolve(values.controller ?? SHIPPED_ENTRY),
    ...(values.out !== undefined ? { out: path.resolve(values.out) } : {}),
    ...(values.label !== undefined ? { label: values.label } : {}),
    ...(values.render !== undefined ? { render: values.render.split(',') } : {}),
    keep: values.keep ?? false,
  };
}

const fmtS = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const isWrite = (op: string): boolean => Object.prototype.hasOwnProperty.call(writeCalls({ [op]: 1 }), op);

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
  const listed = (await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })) as { items: AwsWorkloadIdentityClaim[] };
  for (const got of listed.items) status.set(claimKey(got.metadata.namespace ?? '', got.metadata.name), got);
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

/** The bench's claims compiled with the platform config: what creating them needs at the minimum. */
function compileAll(claims: readonly ClaimToCreate[], config: PlatformConfig): DesiredState[] {
  return claims.map((cl) => {
    const r = compileClaim({ apiVersion: `${GROUP}/${VERSION}`, kind: 'AwsWorkloadIdentityClaim', metadata: { name: cl.name, namespace: cl.namespace }, spec: cl.spec }, config);
    if (!r.ok) throw new Error(`bench claim ${cl.namespace}/${cl.name} does not compile: ${r.problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`);
    return r.desired;
  });
}

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? NaN;

interface RunOutcome {
  figures?: RunFigures;
  /** Why the run failed its checks (not converged, duplicates, a resync write …); empty when it passed. */
  failures: string[];
}

/** One run: a fresh bed, the controller as a child process, N claims; everything it started is stopped. */
async function runOnce(o: Options, n: number, say: (s: string) => void): Promise<RunOutcome> {
  const started = performance.now();
  const loadAvg0 = loadavg()[0]!;
  const faulty = o.throttle > 0 || o.serverErrors > 0 || o.lagMs > 0;
  const measureSteady = o.kills === 0 && !o.skipResync;
  say(`--- N = ${n}: ${n} claims in ${o.namespaces} namespaces, controller ${o.controller} as a child process` +
    `${o.kills ? `, ${o.kills} SIGKILLs every ${o.killEveryS} s` : ''}${o.throttle ? `, ${o.throttle * 100}% throttled` : ''}` +
    `${o.serverErrors ? `, ${o.serverErrors * 100}% 5xx` : ''}${o.lagMs ? `, IAM propagation lag ${o.lagMs} ms` : ''}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const bed = await startBed();
  const ledger = new ReconcileLedger();
  const cleanups: Array<() => Promise<void>> = [() => stopBed(bed)];
  const cleanup = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) await c().catch((err: unknown) => console.error(`cleanup: ${String(err)}`));
  };
  const onSignal = (sig: NodeJS.Signals): void => void cleanup().then(() => {
    if (!o.keep) rmSync(bed.runDir, { recursive: true, force: true });
    process.exit(sig === 'SIGINT' ? 130 : 143);
  });
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
      raw.controller = {
        ...(raw.controller ?? {}),
        ...(o.resyncS !== undefined ? { resyncSeconds: o.resyncS } : {}),
        ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}),
        ...(o.qps !== undefined ? { rateLimitPerSecond: o.qps } : {}),
      };
    });
    const config = parsePlatformConfig(doc, 'fleet bench config');
    const configFile = path.join(bed.runDir, 'platform-config.yaml');
    writeFileSync(configFile, YAML.stringify(doc));
    const c = config.controller;
    const b = c.awsBudget;
    say(`bed ready in ${fmtS(performance.now() - started)}; controller settings: concurrency ${c.concurrency}, ` +
      `${c.rateLimitPerSecond} reconciles/s (burst ${c.rateLimitBurst}), resync ${c.resyncSeconds} s ±${c.resyncJitterRatio * 100}%, ` +
      `AWS budget IAM ${b.iamCallsPerSecond}/s, EKS ${b.eksCallsPerSecond}/s, STS ${b.stsCallsPerSecond}/s (burst ${b.burst})`);

    const runner = new ControllerRunner(bed, configFile, ledger, bed.runDir, o.controller);
    cleanups.push(() => runner.stop());
    const port = (): number => runner.current!.port;
    await runner.start();
    await quiet(ledger, port, 5000, 30_000);
    const idle = memoryOf(runner.current!.pid);
    say(`controller pid ${runner.current!.pid} ready; idle with no claim: VmHWM ${idle.peak.toFixed(0)} MiB, VmRSS ${idle.rss.toFixed(0)} MiB`);

    // Ready as the API server reports it, through a watch of the bench's own.
    const { readyAt, watch } = watchReadiness(kc);
    await watch.start();
    cleanups.push(async () => watch.stop());

    const run = randomBytes(3).toString('hex');
    const namespaces = Array.from({ length: o.namespaces }, (_, i) => `bench-${run}-${i}`);
    const benchKc = shareConnections(loadKubeConfig(bed.cp.state.kubeconfig));
    const core = benchKc.makeApiClient(CoreV1Api);
    const custom = benchKc.makeApiClient(CustomObjectsApi);
    await Promise.all(namespaces.map((name) => core.createNamespace({ body: { metadata: { name } } })));
    const claims = benchClaims(n, namespaces);
    const keys = claims.map((cl) => claimKey(cl.namespace, cl.name));
    // The floor depends on the configured rates and the claims only: with faults it is the fault-free floor.
    const floor = creationFloor(neededForCreation(compileAll(claims, config), { verification: c.verification.enabled }), c);

    // At random (seeded: the same draw at every run), whatever the rate: calls do not get a fair share of faults in turn.
    const rules: FaultRule[] = [];
    for (const [i, api] of ['iam:*', 'eks:*'].entries()) {
      if (o.throttle > 0) rules.push({ api, fault: 'throttle', rate: o.throttle, seed: 10 + i });
      if (o.serverErrors > 0) rules.push({ api, fault: 'internal', rate: o.serverErrors, seed: 20 + i });
    }
    if (rules.length) await fake.setFaults(rules);
    if (o.lagMs > 0) await fake.setPropagationLag(o.lagMs);
    await fake.resetCalls();
    const metrics0 = await scrape(port());

    // Create every claim (20 requests in flight), as a burst of applies would.
    const t0 = performance.now();
    await createClaims(custom, claims);
    say(`created ${n} claims in ${fmtS(performance.now() - t0)}; floor ${floorLabel(floor)}`);

    // Converge, sampling the Ready count; with --kills, SIGKILL and restart the controller on schedule.
    const atKills: KillSample[] = [];
    const deadline = t0 + o.timeoutS * 1000;
    let kills = 0;
    // Each process lives --kill-every-s seconds from the moment it is ready (the first from the first create):
    // counted from its spawn instead, a loaded machine's start-up time would eat the whole interval.
    const killDue = (): number => {
      const p = runner.current!;
      if (kills === 0) return t0 + o.killEveryS * 1000;
      if (o.killFrom === 'spawn') return p.spawnedAt + o.killEveryS * 1000;
      return p.readyAt === undefined ? Infinity : p.readyAt + o.killEveryS * 1000;
    };
    let nextSample = t0;
    while (readyAt.size < n && performance.now() < deadline) {
      const now = performance.now();
      if (kills < o.kills && now >= killDue()) {
        const ready = readyAt.size;
        const lived = now - (runner.current!.readyAt ?? runner.current!.spawnedAt);
        await runner.kill('SIGKILL');
        kills++;
        atKills.push({ t: performance.now() - t0, ready });
        say(`  SIGKILL ${kills} (pid ${runner.current!.pid}, ${fmtS(lived)} after it was ready) at ${fmtS(performance.now() - t0)}: ${ready}/${n} Ready; restarted`);
        runner.startDetached();
      }
      if (now >= nextSample) {
        nextSample = now + o.sampleS * 1000;
        say(`  ${readyAt.size}/${n} Ready after ${fmtS(now - t0)}`);
      }
      await sleep(100);
    }
    const missingReady = keys.filter((k) => !readyAt.has(k));
    if (missingReady.length) {
      return { failures: [`N = ${n}: ${missingReady.length} of ${n} claims not Ready after ${o.timeoutS} s, e.g. ${missingReady.slice(0, 5).join(', ')}`] };
    }
    const wall = Math.max(...readyAt.values()) - t0;
    // Creation is counted when the last claim is Ready (what the reconcile rate and the AWS budget paced);
    // whatever the controller does after that until it is idle (at most 60 s) is reported on its own row.
    const creationCalls = await fake.calls();
    const injected = rules.length ? (await fake.faults()).reduce((s, f) => s + f.injected, 0) : 0;
    const metrics1 = await scrape(port()).catch(() => new Map<string, number>());
    const reconcilesByLog = ledger.total;
    // With kills the metrics die with each process: the reconcile log lines of all processes count then.
    const byResult: Record<string, number> = o.kills
      ? Object.fromEntries(ledger.byOutcome)
      : Object.fromEntries([...metrics1].filter(([k]) => k.startsWith('awi_reconciles_total{'))
        .map(([k, v]) => [/result="([^"]+)"/.exec(k)?.[1] ?? k, v - (metrics0.get(k) ?? 0)] as const).filter(([, v]) => v > 0));
    const creationReconciles = o.kills ? reconcilesByLog : sumOf(metrics1, 'awi_reconciles_total') - sumOf(metrics0, 'awi_reconciles_total');
    const q0 = performance.now();
    const idleAfterCreate = await quiet(ledger, port, 5000, 60_000);
    const afterReady = { idle: idleAfterCreate, ms: performance.now() - q0, calls: callsSince(await fake.calls(), creationCalls), reconciles: ledger.total - reconcilesByLog };
    const creationMemory = memoryOf(runner.current!.pid);
    if (rules.length) await fake.clearFaults();
    if (o.lagMs > 0) await fake.setPropagationLag(0);

    // One full resync: each claim's own resync timer (resyncSeconds ± jitter after its last reconcile), no restart.
    let resync: RunFigures['resync'];
    let restart: RunFigures['restart'];
    let steady: MemoryFigure | undefined;
    if (measureSteady) {
      say(`all Ready after ${fmtS(wall)}; waiting until every claim has been reconciled once more (its resync timer or any other trigger)`);
      await fake.resetCalls();
      const peakReset = resetPeak(runner.current!.pid);
      const snap = ledger.snapshot();
      const total0 = ledger.total;
      const r0 = performance.now();
      const resyncDeadline = r0 + (c.resyncSeconds * (1 + c.resyncJitterRatio) + n / c.rateLimitPerSecond + 120) * 1000;
      while (ledger.notSince(snap, keys).length && performance.now() < resyncDeadline) await sleep(500);
      const left = ledger.notSince(snap, keys);
      if (left.length) throw new Error(`${left.length} claims were not resynced within ${fmtS(resyncDeadline - r0)}, e.g. ${left.slice(0, 3).join(', ')}`);
      // Counted when the last claim got its reconcile (a controller that never idles would otherwise never end the window).
      resync = { ms: ledger.lastAt - r0, reconciles: ledger.total - total0, calls: await fake.calls() };
      if (peakReset) steady = memoryOf(runner.current!.pid);

      // The first pass after a restart: SIGTERM (graceful, as a rolling update does), start again.
      say(`resync measured (${fmtS(resync.ms)}); restarting the controller (SIGTERM, start again)`);
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
        memory: memoryOf(proc.pid),
      };
    }

    const report = await audit(bed.endpoint, claims, custom);
    const lat = [...readyAt.values()].map((t) => t - t0).sort((x, y) => x - y);
    const figures: RunFigures = {
      ...(o.label !== undefined ? { label: o.label } : {}),
      claims: n,
      podIdentity: claims.filter((cl) => cl.spec.mechanism === 'PodIdentity').length,
      ...(faulty ? { faults: { throttle: o.throttle, serverErrors: o.serverErrors, lagMs: o.lagMs, injected } } : {}),
      ...(o.kills ? { kills: { count: kills, everyS: o.killEveryS, from: o.killFrom, atKills } } : {}),
      floor,
      readyMs: wall,
      readyP50Ms: percentile(lat, 0.5),
      readyP99Ms: percentile(lat, 0.99),
      creation: { calls: creationCalls, reconciles: creationReconciles, reconcilesByResult: byResult },
      afterReady,
      ...(resync ? { resync } : {}),
      ...(restart ? { restart } : {}),
      memory: { idle, creation: creationMemory, ...(steady ? { steady } : {}) },
      watchRestarts: Object.fromEntries([...ledger.watchRestarts].map(([w, k]) => [w.split('/').at(-1) ?? w, k])),
      audit: {
        roles: report.roles, associations: report.associations,
        duplicates: report.duplicateRoles.length + report.duplicateAssociations.length,
        orphans: report.orphanRoles.length + report.orphanAssociations.length,
        missing: report.missing.length,
      },
      loadAverage: { start: loadAvg0, end: loadavg()[0]! },
    };
    const failures: string[] = [];
    for (const [label, list] of [['duplicate roles', report.duplicateRoles], ['duplicate associations', report.duplicateAssociations], ['orphan roles', report.orphanRoles], ['orphan associations', report.orphanAssociations], ['missing', report.missing]] as const) {
      if (list.length) failures.push(`N = ${n}: ${label}: ${list.slice(0, 5).join('; ')}${list.length > 5 ? ` … (${list.length})` : ''}`);
    }
    if (resync && splitCalls(resync.calls, isWrite).writes) failures.push(`N = ${n}: the resync wrote to AWS`);
    return { figures, failures };
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (!o.keep) rmSync(bed.runDir, { recursive: true, force: true });
    else say(`run directory kept: ${bed.runDir}`);
  }
}

/**
 * One N in a process of its own (this script with `--claims N`): the test bed
 * harness keeps the bed it found first for the life of a process, and a fresh
 * process also gives each N a fresh bench heap.
 */
async function runInChild(n: number): Promise<RunOutcome> {
  const dir = mkdtempSync(path.join(tmpdir(), 'awi-fleet-'));
  const out = path.join(dir, `n-${n}.json`);
  const args = withoutOptions(process.argv.slice(2), ['claims', 'out']);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...args, '--claims', String(n), '--out', out], { stdio: 'inherit' });
      child.once('error', reject);
      child.once('exit', (c) => resolve(c));
    });
    if (!existsSync(out)) return { failures: [`N = ${n}: the run exited (code ${code}) without figures`] };
    const written = JSON.parse(readFileSync(out, 'utf8')) as { runs: RunFigures[]; failures: string[] };
    return { ...(written.runs[0] ? { figures: written.runs[0] } : {}), failures: written.failures };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** argv without the named options and their values (`--name value` or `--name=value`). */
function withoutOptions(argv: readonly string[], names: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (names.some((nm) => a === `--${nm}`)) i++;
    else if (!names.some((nm) => a.startsWith(`--${nm}=`))) out.push(a);
  }
  return out;
}

/** The commit of the checkout the controller runs from, for the record ("unknown" outside git). */
function controllerCommit(mainJs: string): string {
  try {
    return execFileSync('git', ['-C', path.dirname(mainJs), 'log', '-1', '--format=%h %cI'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/** --render: the runs of earlier --out JSON files as one table (e.g. before and after side by side). */
function render(o: Options, files: string[]): number {
  const runs = files.flatMap((spec) => {
    const [file, label] = /^(.*\.json)(?::(.+))?$/.exec(spec)?.slice(1) ?? [spec];
    const written = JSON.parse(readFileSync(file!, 'utf8')) as { runs: RunFigures[] };
    return written.runs.map((r) => (label ? { ...r, label } : r));
  });
  const table = renderReport(runs, isWrite);
  console.log(table);
  if (o.out) writeFileSync(o.out, `${table}\n`);
  return 0;
}

async function main(): Promise<number> {
  const o = options();
  if (o.render) return render(o, o.render);
  const say = (s: string): void => console.log(s);
  const commit = controllerCommit(o.controller);
  say(`awi fleet bench (Node ${process.version}), controller at ${commit}; runs: N = ${o.claims.join(', ')}`);
  const runs: RunFigures[] = [];
  const failures: string[] = [];
  const meta = { date: new Date().toISOString(), commit, node: process.version, argv: process.argv.slice(2) };
  // Written after every run, so that a long last N that is stopped leaves the earlier columns behind.
  const write = (table: string): void => {
    if (!o.out) return;
    writeFileSync(o.out, o.out.endsWith('.json')
      ? JSON.stringify({ ...meta, runs, failures, table }, null, 2) + '\n'
      : `Fleet bench, ${meta.date}, controller at ${meta.commit}, Node ${meta.node}, \`${meta.argv.join(' ')}\`\n\n${table}\n${failures.map((f) => `\nFAIL: ${f}`).join('')}\n`);
  };
  for (const [i, n] of o.claims.entries()) {
    const outcome = o.claims.length === 1 ? await runOnce(o, n, say) : await runInChild(n);
    if (outcome.figures) runs.push(outcome.figures);
    failures.push(...outcome.failures);
    const table = renderReport(runs, isWrite);
    write(table);
    if (i < o.claims.length - 1 && runs.length) say(`\nfigures so far:\n${table}\n`);
  }
  const table = renderReport(runs, isWrite);
  say('');
  say(table);
  for (const f of failures) say(`FAIL: ${f}`);
  if (o.out) say(`written: ${o.out}`);
  return failures.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
