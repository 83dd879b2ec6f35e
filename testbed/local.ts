// `npm run local` (= `awi dev`, src/cli/dev.ts): the operator's main job on
// the embedded local default. Starts a real kube-apiserver (embedded etcd)
// and the AWS fake, does the platform team's one-time AWS set-up (OIDC
// provider, permissions boundary), installs the CRD, runs `awi controller`
// as a Deployment does (a child process: the production entry point with its
// probes, metrics and leader election), applies the example claims, and
// prints them kubectl-style once they converge (the invalid ones refused),
// what the probes and metrics answered, then what a user needs to poke at it
// (kubeconfig, config, AWS settings).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { IAMClient } from '@aws-sdk/client-iam';
import { AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import YAML from 'yaml';
import { parsePlatformConfig } from '../src/config/index.js';
import { GROUP, PLURAL, VERSION } from '../src/kube/claims.js';
import { printClaimTable } from '../src/cli/table.js';
import type { AwsWorkloadIdentityClaim } from '../src/api/types.js';
import { startAwsFake } from './awsfake/server.js';
import { assumeRoleForPodIdentity, awsClientConfig } from './awsfake/client.js';
import { startControlPlane } from './harness/controlplane.js';
import { installCrd, platformPrerequisites } from './harness/platform.js';
import { loadKubeConfig } from './harness/kube.js';
import { projectRoot, runRoot } from './harness/paths.js';

const examplesDir = path.join(projectRoot, 'deploy', 'examples');
/** The leader Lease's namespace, as in deploy/ (the Deployment's own namespace). */
const LEASE_NAMESPACE = 'awi-system';

/**
 * Runs the local bed; `awi` is the command line of the awi binary (node and
 * main.js). Resolves to the exit status: 0 once the run printed its summary.
 */
export async function runLocal(o: { keep: boolean; awi: string[] }): Promise<number> {
  try {
    await run(o.keep, o.awi);
    return 0;
  } catch (err) {
    console.error(`local run failed: ${err instanceof Error ? err.stack : String(err)}`);
    return 1;
  }
}

async function run(keepRunning: boolean, awi: string[]): Promise<void> {
  const runDir = path.join(runRoot, 'local');
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
  const controllerLog = path.join(runDir, 'controller.log');
  const say = (s: string): void => console.log(s);

  say(`awi local run on Node ${process.version} (${process.execPath})`);
  say('▶ starting the local control plane (kube-apiserver v1.34 + embedded etcd)');
  const cp = await startControlPlane(path.join(runDir, 'controlplane'));
  const stops: Array<() => Promise<void>> = [() => cp.stop()];
  const stopAll = async (): Promise<void> => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
  process.once('SIGTERM', () => void stopAll().then(() => process.exit(143)));

  try {
    // The platform config of the examples, pointed at this control plane's issuer.
    const raw = YAML.parse(readFileSync(path.join(examplesDir, 'platform-config.yaml'), 'utf8')) as { cluster: Record<string, unknown> };
    raw.cluster.oidcIssuer = cp.state.issuer;
    const config = parsePlatformConfig(raw, 'deploy/examples/platform-config.yaml (issuer set to the local control plane)');
    const configFile = path.join(runDir, 'platform-config.yaml');
    writeFileSync(configFile, YAML.stringify(raw));

    say('▶ starting the AWS fake (moto for IAM/STS, plus EKS and EKS Auth)');
    const fake = await startAwsFake({
      port: 0,
      accountId: config.cluster.accountId,
      region: config.cluster.region,
      clusters: [{ name: config.cluster.name, issuer: cp.state.issuer, kubeconfigPath: cp.state.kubeconfig }],
    });
    stops.push(() => fake.close());
    // The fake accepts any credentials; the SDK's chain still needs some.
    const awsEnv = {
      AWS_ENDPOINT_URL: fake.endpoint, AWS_REGION: config.cluster.region, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing',
    };
    Object.assign(process.env, awsEnv);

    const kc = loadKubeConfig(cp.state.kubeconfig);
    say('▶ platform prerequisites: IAM OIDC provider for the issuer, permissions boundary policy, Pod Identity agent DaemonSet');
    await platformPrerequisites(new IAMClient(awsClientConfig(fake.endpoint, config.cluster.region)), cp.state.issuer, kc);

    say('▶ installing the CRD from crds/');
    await installCrd(kc);

    const core = kc.makeApiClient(CoreV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    await core.createNamespace({ body: { metadata: { name: LEASE_NAMESPACE } } });
    const probePort = await freePort();
    const args = ['controller', '--config', configFile, '--kubeconfig', cp.state.kubeconfig, '--probe-port', String(probePort), '--lease-namespace', LEASE_NAMESPACE, '--log-level', process.env.LOG_LEVEL ?? 'info'];
    say(`▶ running the controller as a Deployment does: awi ${args.join(' ')}`);
    const controller = startController(awi, args, controllerLog);
    stops.push(() => stopController(controller));
    const probes = `http://127.0.0.1:${probePort}`;
    await waitForReady(`${probes}/readyz`, controller, controllerLog);
    say(`  pid ${controller.pid}, leader election on Lease ${LEASE_NAMESPACE}/awi-controller; probes and metrics: ${probes}/healthz ${probes}/readyz ${probes}/metrics`);

    const claims = loadExampleClaims();
    say(`▶ applying ${claims.length} example claims from deploy/examples/ (${claims.filter((c) => c.invalid).length} of them invalid on purpose)`);
    for (const ns of new Set(claims.map((c) => c.claim.metadata.namespace!))) {
      await core.createNamespace({ body: { metadata: { name: ns } } });
    }
    let refusedByApi = 0;
    for (const { claim, file } of claims) {
      try {
        await custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: claim.metadata.namespace!, body: claim });
      } catch (err) {
        const body = (err as { body?: string }).body;
        const message = body ? (JSON.parse(body) as { message?: string }).message : String(err);
        say(`  ✗ ${file}: refused by the API server: ${message}`);
        refusedByApi += 1;
      }
    }

    say('▶ waiting for the claims to converge (IAM propagation is a state: Ready=False/IAMPropagating, then Ready)');
    const deadline = Date.now() + 120_000;
    let items: AwsWorkloadIdentityClaim[] = [];
    while (Date.now() < deadline) {
      items = ((await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })) as { items: AwsWorkloadIdentityClaim[] }).items;
      const settled = items.every((c) => {
        const ready = c.status?.conditions?.find((x) => x.type === 'Ready');
        return ready && (ready.status === 'True' || ['InvalidSpec', 'GuardrailViolation', 'LimitExceeded'].includes(ready.reason));
      });
      if (settled) break;
      await sleep(1000);
    }
    say('');
    printClaimTable(items, { wide: true, now: new Date() }).forEach((line) => say(line));
    say('');
    for (const c of items) {
      const ready = c.status?.conditions?.find((x) => x.type === 'Ready');
      if (ready?.status !== 'True') say(`${c.metadata.namespace}/${c.metadata.name}: ${ready?.reason ?? 'Unknown'}: ${ready?.message ?? 'no status yet'}`);
    }
    say('');
    say('▶ what a pod of each Ready claim gets (a real ServiceAccount token exchanged with the AWS fake):');
    for (const c of items.filter((c) => c.status?.conditions?.find((x) => x.type === 'Ready')?.status === 'True')) {
      const ns = c.metadata.namespace!;
      const sa = c.spec.serviceAccountName;
      try {
        if (c.status?.mechanism === 'IRSA') {
          const t = await core.createNamespacedServiceAccountToken({ namespace: ns, name: sa, body: { spec: { audiences: ['sts.amazonaws.com'] } } });
          const out = await new STSClient(awsClientConfig(fake.endpoint, config.cluster.region)).send(
            new AssumeRoleWithWebIdentityCommand({ RoleArn: c.status.roleArn!, RoleSessionName: 'demo', WebIdentityToken: t.status!.token! }),
          );
          say(`  ✓ ${ns}/${sa}: AssumeRoleWithWebIdentity -> ${out.AssumedRoleUser?.Arn}`);
        } else {
          const t = await core.createNamespacedServiceAccountToken({ namespace: ns, name: sa, body: { spec: { audiences: ['pods.eks.amazonaws.com'] } } });
          const out = await assumeRoleForPodIdentity(fake.endpoint, config.cluster.name, t.status!.token!, { region: config.cluster.region });
          say(`  ✓ ${ns}/${sa}: AssumeRoleForPodIdentity -> ${out.assumedRoleUser.arn}`);
        }
      } catch (err) {
        say(`  ✗ ${ns}/${sa}: ${(err as Error).name}: ${(err as Error).message}`);
      }
    }
    say('');
    const ok = items.filter((c) => c.status?.conditions?.find((x) => x.type === 'Ready')?.status === 'True').length;
    say(`${ok} of ${items.length} claims Ready, ${items.length - ok} refused by awi, ${refusedByApi} refused by the API server.`);
    // Ready includes CredentialsVerified: awi exchanged a token itself, as a pod would.
    const verified = items.filter((c) => c.status?.conditions?.find((x) => x.type === 'Ready')?.status === 'True' && c.status?.conditions?.find((x) => x.type === 'CredentialsVerified')?.status === 'True').length;
    say(`CredentialsVerified=True on ${verified} of ${ok} Ready claims.`);
    say('');
    say('▶ the controller\'s probes and metrics, asked during the run:');
    for (const line of await probeLines(probes)) say(`  ${line}`);
    say('');
    say(keepRunning
      ? '▶ poke at it (in another shell; the control plane, the AWS fake and the controller run until Ctrl-C):'
      : '▶ poke at it: everything above stops when this run ends; `npm run local -- --keep` keeps it running, then in another shell:');
    say(`  export KUBECONFIG=${cp.state.kubeconfig}`);
    say(`  export ${Object.entries(awsEnv).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    say('  kubectl get awic -A');
    say(`  npm run awi -- inventory --config ${configFile} --aws`);
    say(`  curl ${probes}/metrics`);
    say(`  controller log: ${controllerLog}`);
    if (keepRunning) {
      say('--keep: running until Ctrl-C');
      await new Promise(() => undefined);
    }
  } finally {
    if (!keepRunning) await stopAll();
  }
}

/** `awi controller`, its output (pino JSON) appended to the log file. */
function startController(awi: string[], args: string[], logFile: string): ChildProcess {
  const fd = openSync(logFile, 'a');
  const child = spawn(awi[0]!, [...awi.slice(1), ...args], { stdio: ['ignore', fd, fd], env: process.env });
  closeSync(fd);
  return child;
}

/** SIGTERM, as the kubelet sends: the controller finishes in-flight reconciles and releases its Lease. */
async function stopController(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

async function waitForReady(url: string, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      const tail = readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join('\n');
      throw new Error(`awi controller exited with status ${child.exitCode} before it was ready; last lines of ${logFile}:\n${tail}`);
    }
    const status = await fetch(url).then((r) => r.status, () => 0);
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`awi controller not ready after 60 s (${url} answered ${status || 'nothing'}); see ${logFile}`);
    await sleep(250);
  }
}

/** One line per endpoint: status and a short body (the claim and reconcile counts from /metrics). */
async function probeLines(base: string): Promise<string[]> {
  const lines: string[] = [];
  for (const p of ['/healthz', '/readyz', '/metrics']) {
    try {
      const r = await fetch(`${base}${p}`);
      const body = await r.text();
      const shown = p === '/metrics'
        ? body.split('\n').filter((l) => /^awi_(claims|reconciles_total|leader)\b/.test(l)).join(', ')
        : body.trim();
      lines.push(`GET ${p} -> ${r.status} ${r.statusText}: ${shown}`);
    } catch (err) {
      lines.push(`GET ${p} -> no answer: ${(err as Error).message}`);
    }
  }
  return lines;
}

/** A port free right now on the loopback, for the probe server. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function loadExampleClaims(): { file: string; claim: AwsWorkloadIdentityClaim; invalid: boolean }[] {
  const out: { file: string; claim: AwsWorkloadIdentityClaim; invalid: boolean }[] = [];
  for (const [dir, invalid] of [[examplesDir, false], [path.join(examplesDir, 'invalid'), true]] as const) {
    for (const f of readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'platform-config.yaml').sort()) {
      for (const doc of YAML.parseAllDocuments(readFileSync(path.join(dir, f), 'utf8'))) {
        const claim = doc.toJS() as AwsWorkloadIdentityClaim;
        if (claim?.kind === 'AwsWorkloadIdentityClaim') out.push({ file: path.relative(projectRoot, path.join(dir, f)), claim, invalid });
      }
    }
  }
  return out;
}

