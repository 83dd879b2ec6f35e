// `npm run local`: the operator's main job on the embedded local default.
// Starts a real kube-apiserver (embedded etcd) and the AWS fake, does the
// platform team's one-time AWS set-up (OIDC provider, permissions boundary),
// installs the CRD, runs the controller, applies the example claims, and
// prints them kubectl-style once they converge (the invalid ones refused),
// then what a user needs to poke at it (kubeconfig, config, AWS settings).
import { readFileSync, readdirSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { IAMClient } from '@aws-sdk/client-iam';
import { AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { pino } from 'pino';
import YAML from 'yaml';
import { parsePlatformConfig } from '../../src/config/index.js';
import { Controller } from '../../src/controller/controller.js';
import { GROUP, PLURAL, VERSION } from '../../src/kube/claims.js';
import { printClaimTable } from '../../src/cli/table.js';
import type { AwsWorkloadIdentityClaim } from '../../src/api/types.js';
import { startAwsFake } from '../awsfake/server.js';
import { assumeRoleForPodIdentity, awsClientConfig } from '../awsfake/client.js';
import { startControlPlane } from '../harness/controlplane.js';
import { installCrd, platformPrerequisites } from '../harness/controller-env.js';
import { loadKubeConfig } from '../harness/kube.js';
import { projectRoot, runRoot } from '../harness/paths.js';

const examplesDir = path.join(projectRoot, 'deploy', 'examples');
const keepRunning = process.argv.includes('--keep');

async function main(): Promise<void> {
  const runDir = path.join(runRoot, 'local');
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
  const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' }, pino.destination(path.join(runDir, 'controller.log')));
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

    say('▶ running the controller');
    const controller = new Controller({ config, kubeConfig: kc, log, propagationRequeueMs: 2000 });
    await controller.start();
    stops.push(() => controller.stop());

    const claims = loadExampleClaims();
    say(`▶ applying ${claims.length} example claims from deploy/examples/ (${claims.filter((c) => c.invalid).length} of them invalid on purpose)`);
    const core = kc.makeApiClient(CoreV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
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
    say(keepRunning
      ? '▶ poke at it (in another shell; the control plane, the AWS fake and the controller run until Ctrl-C):'
      : '▶ poke at it: everything above stops when this run ends; `npm run local -- --keep` keeps it running, then in another shell:');
    say(`  export KUBECONFIG=${cp.state.kubeconfig}`);
    say(`  export ${Object.entries(awsEnv).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    say('  kubectl get awic -A');
    say(`  npm run awi -- inventory --config ${configFile} --aws`);
    say(`  controller log: ${path.join(runDir, 'controller.log')}`);
    if (keepRunning) {
      say('--keep: running until Ctrl-C');
      await new Promise(() => undefined);
    }
  } finally {
    if (!keepRunning) await stopAll();
  }
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


main().catch((err) => {
  console.error(`local run failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
