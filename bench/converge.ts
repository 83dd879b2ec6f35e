// Convergence benchmark: how long N claims take to become Ready, what they
// cost in AWS calls, what one steady-state resync of all of them costs, and
// how much memory the controller needs for it.
//
//   npx tsc -p tsconfig.json && node dist/bench/converge.js --claims 200 [--throttle 0.3] [--lag-ms 5000]
//
// It starts its own test bed (a real kube-apiserver with embedded etcd and the
// AWS fake, each in a child process, so that the peak RSS printed is the
// controller's and the bench's own), runs the real controller in this process
// with the production settings of the platform config (concurrency, rate
// limit; IAM propagation requeue 2 s), creates the claims, and stops
// everything it started. Exit code 0 when every claim converged and the
// steady-state resync wrote nothing; 1 otherwise; 2 on bad arguments.
import { randomBytes } from 'node:crypto';
import { createWriteStream, rmSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { CoreV1Api, CustomObjectsApi, type KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import type { AwsWorkloadIdentityClaim } from '../src/api/types.js';
import { Controller } from '../src/controller/controller.js';
import { shareConnections } from '../src/runtime/connections.js';
import { claimKey, GROUP, PLURAL, VERSION } from '../src/kube/claims.js';
import { ResilientWatch } from '../src/runtime/watch.js';
import { AwsFakeClient, writeCalls } from '../testbed/awsfake/client.js';
import { installCrd, platformPrerequisites, testPlatformConfig } from '../testbed/harness/platform.js';
import { loadKubeConfig } from '../testbed/harness/kube.js';
import { benchClaims, startBed, stopBed } from './bed.js';

interface Options {
  claims: number;
  namespaces: number;
  throttle: number;
  lagMs: number;
  propagationRequeueMs: number;
  concurrency?: number;
  qps?: number;
  timeoutS: number;
  keep: boolean;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      claims: { type: 'string', default: '200' },
      namespaces: { type: 'string', default: '10' },
      throttle: { type: 'string', default: '0' },
      'lag-ms': { type: 'string', default: '0' },
      'propagation-requeue-ms': { type: 'string', default: '2000' },
      concurrency: { type: 'string' },
      qps: { type: 'string' },
      'timeout-s': { type: 'string', default: '900' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(`usage: node dist/bench/converge.js [--claims 200] [--namespaces 10] [--throttle 0.3] [--lag-ms 5000]
       [--propagation-requeue-ms 2000] [--concurrency N] [--qps N] [--timeout-s 900] [--keep]
  --throttle R   throttle that fraction of every IAM and EKS call (deterministic, evenly spread)
  --lag-ms L     IAM propagation lag of the fake
  --concurrency, --qps   override the platform config's controller.concurrency / rateLimitPerSecond
  --keep         keep the run directory (controller log, control plane and fake logs)`);
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
    claims: num('claims', values.claims, 1, 5000),
    namespaces: num('namespaces', values.namespaces, 1, 1000),
    throttle: num('throttle', values.throttle, 0, 0.95),
    lagMs: num('lag-ms', values['lag-ms'], 0, 600_000),
    propagationRequeueMs: num('propagation-requeue-ms', values['propagation-requeue-ms'], 1),
    ...(values.concurrency !== undefined ? { concurrency: num('concurrency', values.concurrency, 1, 64) } : {}),
    ...(values.qps !== undefined ? { qps: num('qps', values.qps, 0.1, 1000) } : {}),
    timeoutS: num('timeout-s', values['timeout-s'], 1),
    keep: values.keep ?? false,
  };
}

// --- measuring ---------------------------------------------------------------

const isReady = (c: AwsWorkloadIdentityClaim): boolean =>
  c.status?.observedGeneration === c.metadata.generation && !!c.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True');

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/** Counts reconciles from the controller's log lines (and keeps the log in the run dir with --keep). */
function controllerLog(file: WriteStream | undefined) {
  const counts = { reconciles: 0, failed: 0 };
  const sink = {
    write(line: string): void {
      if (line.includes('"msg":"reconciled"') || line.includes('"msg":"reconcile threw"')) counts.reconciles++;
      if (line.includes('"msg":"reconcile failed"') || line.includes('"msg":"reconcile threw"')) counts.failed++;
      file?.write(line);
    },
  };
  return { counts, log: pino({ level: 'debug' }, sink) };
}

const fmt = (ms: number): string => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);

function callTable(title: string, calls: Record<string, number>, n: number): string[] {
  const rows = Object.entries(calls).filter(([, v]) => v > 0).sort(([a], [b]) => a.localeCompare(b));
  const total = rows.reduce((s, [, v]) => s + v, 0);
  const width = Math.max(30, ...rows.map(([k]) => k.length));
  return [
    `${title} (calls per claim; total ${total} = ${(total / n).toFixed(2)} per claim)`,
    ...rows.map(([api, v]) => `  ${api.padEnd(width)} ${(v / n).toFixed(2).padStart(7)}`),
  ];
}

// --- main --------------------------------------------------------------------

async function main(): Promise<number> {
  const o = options();
  const say = (s: string): void => console.log(s);
  const started = performance.now();

  say(`awi convergence bench (Node ${process.version}): ${o.claims} claims in ${o.namespaces} namespaces` +
    `${o.throttle ? `, ${o.throttle * 100}% of IAM and EKS calls throttled` : ''}${o.lagMs ? `, IAM propagation lag ${o.lagMs} ms` : ''}`);
  const bed = await startBed();
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
    const config = testPlatformConfig((raw) => {
      raw.guardrails = [...raw.guardrails, { ...raw.guardrails[0], namespaces: ['bench-*'] }];
      raw.controller = {
        ...(raw.controller ?? {}),
        ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}),
        ...(o.qps !== undefined ? { rateLimitPerSecond: o.qps } : {}),
      };
    });
    const c = config.controller;
    say(`bed ready in ${fmt(performance.now() - started)}; controller: concurrency ${c.concurrency}, ${c.rateLimitPerSecond} reconciles/s (burst ${c.rateLimitBurst}), ` +
      `propagation requeue ${o.propagationRequeueMs} ms, backoff ${c.backoffBaseSeconds}-${c.backoffMaxSeconds} s`);

    const logFile = o.keep ? createWriteStream(path.join(bed.runDir, 'controller.log')) : undefined;
    const { counts, log } = controllerLog(logFile);
    const controller = new Controller({ config, kubeConfig: kc, log, propagationRequeueMs: o.propagationRequeueMs, resyncMs: 24 * 3600 * 1000 });
    await controller.start();
    cleanups.push(() => controller.stop());

    // Ready times, as a watch sees them.
    const createdAt = new Map<string, number>();
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
    // The bench's own clients (creating claims, namespaces) on their own connections.
    const benchKc = shareConnections(loadKubeConfig(bed.cp.state.kubeconfig));
    const core = benchKc.makeApiClient(CoreV1Api);
    const custom = benchKc.makeApiClient(CustomObjectsApi);
    await Promise.all(namespaces.map((name) => core.createNamespace({ body: { metadata: { name } } })));
    const claims = benchClaims(o.claims, namespaces);

    if (o.throttle > 0) {
      await fake.setFaults([{ api: 'iam:*', fault: 'throttle', rate: o.throttle }, { api: 'eks:*', fault: 'throttle', rate: o.throttle }]);
    }
    if (o.lagMs > 0) await fake.setPropagationLag(o.lagMs);
    await fake.resetCalls();

    // Create every claim (20 requests in flight), as a burst of applies would.
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    let next = 0;
    await Promise.all(Array.from({ length: 20 }, async () => {
      while (next < claims.length) {
        const cl = claims[next++]!;
        await custom.createNamespacedCustomObject({
          group: GROUP, version: VERSION, plural: PLURAL, namespace: cl.namespace,
          body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'AwsWorkloadIdentityClaim', metadata: { name: cl.name, namespace: cl.namespace }, spec: cl.spec },
        });
        createdAt.set(claimKey(cl.namespace, cl.name), performance.now());
      }
    }));
    say(`created ${claims.length} claims in ${fmt(performance.now() - t0)}`);

    const deadline = t0 + o.timeoutS * 1000;
    let lastReport = performance.now();
    while (readyAt.size < claims.length && performance.now() < deadline) {
      await sleep(200);
      if (performance.now() - lastReport >= 15_000) {
        lastReport = performance.now();
        say(`  ${readyAt.size}/${claims.length} Ready after ${fmt(lastReport - t0)} (queue: ${controller.queue.depth} waiting, ${controller.queue.inFlight} in flight, ${controller.queue.delayedCount} delayed)`);
      }
    }
    const missing = claims.filter((cl) => !readyAt.has(claimKey(cl.namespace, cl.name)));
    const converged = missing.length === 0;
    const cpu = process.cpuUsage(cpu0);
    const wall = Math.max(...readyAt.values()) - t0;
    await controller.queue.idle();
    const creationCalls = await fake.calls();
    const injected = o.throttle > 0 ? (await fake.faults()).reduce((s, f) => s + f.injected, 0) : 0;
    const reconcilesToReady = counts.reconciles;
    const failedToReady = counts.failed;
    if (o.throttle > 0) await fake.clearFaults();
    if (o.lagMs > 0) await fake.setPropagationLag(0);

    if (!converged) {
      say(`NOT CONVERGED: ${missing.length} of ${claims.length} claims not Ready after ${o.timeoutS} s, e.g. ${missing.slice(0, 5).map((m) => `${m.namespace}/${m.name}`).join(', ')}`);
      return 1;
    }

    // One steady-state resync of every claim: reads only.
    await fake.resetCalls();
    const before = counts.reconciles;
    const r0 = performance.now();
    for (const cl of claims) controller.queue.add(claimKey(cl.namespace, cl.name));
    await controller.queue.idle();
    const resyncMs = performance.now() - r0;
    const steadyCalls = await fake.calls();
    const steadyWrites = writeCalls(steadyCalls);

    const latencies = claims.map((cl) => readyAt.get(claimKey(cl.namespace, cl.name))! - createdAt.get(claimKey(cl.namespace, cl.name))!).sort((a, b) => a - b);
    const n = claims.length;
    const pi = claims.filter((cl) => cl.spec.mechanism === 'PodIdentity').length;
    say('');
    say(`claims                         ${n} (${pi} Pod Identity, ${n - pi} IRSA; 8 permission shapes)`);
    say(`wall time to all Ready         ${fmt(wall)} (${(n / (wall / 1000)).toFixed(1)} claims/s)`);
    say(`claim-to-Ready                 p50 ${fmt(percentile(latencies, 0.5))}, p99 ${fmt(percentile(latencies, 0.99))}, max ${fmt(latencies.at(-1)!)}`);
    say(`reconciles to converge         ${reconcilesToReady} (${(reconcilesToReady / n).toFixed(2)} per claim; ${failedToReady} failed and retried)`);
    say(`CPU of this process            ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s to converge (${((cpu.user + cpu.system) / 1e3 / reconcilesToReady).toFixed(1)} ms per reconcile)`);
    if (o.throttle > 0) say(`throttled calls injected       ${injected}`);
    say(`steady-state resync            ${fmt(resyncMs)} for ${counts.reconciles - before} reconciles; AWS writes: ${Object.keys(steadyWrites).length ? JSON.stringify(steadyWrites) : '0'}`);
    const rss = process.resourceUsage().maxRSS / 1024;
    say(`peak RSS                       ${rss.toFixed(0)} MiB (controller and bench in one process; control plane and AWS fake are child processes)`);
    (globalThis as { gc?: () => void }).gc?.();
    const mem = process.memoryUsage();
    say(`memory at the end              RSS ${(mem.rss / 2 ** 20).toFixed(0)} MiB, heap used ${(mem.heapUsed / 2 ** 20).toFixed(0)} MiB${(globalThis as { gc?: unknown }).gc ? ' (after a full GC)' : ''}`);
    say('');
    for (const line of callTable('AWS calls to create (faulted calls included)', creationCalls, n)) say(line);
    say('');
    for (const line of callTable('AWS calls for one steady-state resync', steadyCalls, n)) say(line);
    if (Object.keys(steadyWrites).length) {
      say('FAIL: the steady-state resync wrote to AWS');
      return 1;
    }
    return 0;
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
