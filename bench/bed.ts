// What the benches share: their own test bed (kube-apiserver with embedded
// etcd and the AWS fake, each a child process) and the claims they create.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { CustomObjectsApi, KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { AwsWorkloadIdentityClaim } from '../src/api/types.js';
import { claimKey, GROUP, PLURAL, VERSION } from '../src/kube/claims.js';
import { ResilientWatch } from '../src/runtime/watch.js';
import { startControlPlane, stopChild, type RunningControlPlane } from '../testbed/harness/controlplane.js';
import { projectRoot, runRoot } from '../testbed/harness/paths.js';
import { testAccountId, testBedEnv, testClusterName, testRegion, type TestBedInfo } from '../testbed/harness/testbed-info.js';

// --- the permission shapes of the claims -------------------------------------

const kmsKey = `arn:aws:kms:${testRegion}:${testAccountId}:key/12345678-1234-1234-1234-123456789012`;

/** Eight shapes, from one S3 prefix to five services in one claim. */
export function permissions(i: number): Record<string, unknown> {
  switch (i % 8) {
    case 0: return { s3: [{ bucket: 'bench-data', prefix: `app-${i}/`, access: ['read'] }] };
    case 1: return { s3: [{ bucket: 'bench-data', prefix: `app-${i}/`, access: ['read', 'write', 'list'] }], kms: [{ key: kmsKey, access: ['encrypt', 'decrypt'], viaService: 's3' }] };
    case 2: return { sqs: [{ queue: `events-${i}`, access: ['send'] }], sns: [{ topic: `notify-${i}`, access: ['publish'] }] };
    case 3: return { sqs: [{ queue: `work-${i}`, access: ['consume'] }, { queue: `work-${i}-dlq.fifo`, access: ['send'] }] };
    case 4: return { dynamodb: [{ table: `table-${i}`, access: ['read', 'write'], indexes: true }] };
    case 5: return { secretsManager: [{ name: `app-${i}/db`, access: ['read'] }], ssmParameters: [{ path: `/app-${i}/config`, access: ['read'] }] };
    case 6: return { s3: [{ bucket: 'bench-data', prefix: `in-${i}/`, access: ['read'] }, { bucket: 'bench-out', prefix: `out-${i}/`, access: ['write', 'delete'] }] };
    default: return {
      s3: [{ bucket: 'bench-data', access: ['read'] }],
      sqs: [{ queue: `jobs-${i}`, access: ['send', 'consume'] }],
      dynamodb: [{ table: `state-${i}`, access: ['read'] }],
      kms: [{ key: kmsKey, access: ['generateDataKey'] }],
      secretsManager: [{ namePrefix: `app-${i}/`, access: ['read'] }],
    };
  }
}

// --- the test bed ------------------------------------------------------------

export interface Bed {
  cp: RunningControlPlane;
  fake: ChildProcess;
  endpoint: string;
  runDir: string;
}

async function startFake(runDir: string, cp: RunningControlPlane): Promise<{ child: ChildProcess; endpoint: string }> {
  const optsFile = path.join(runDir, 'awsfake.json');
  writeFileSync(optsFile, JSON.stringify({
    port: 0, accountId: testAccountId, region: testRegion,
    clusters: [{ name: testClusterName, issuer: cp.state.issuer, kubeconfigPath: cp.state.kubeconfig }],
  }));
  const log = createWriteStream(path.join(runDir, 'awsfake.log'));
  const child = spawn(process.execPath, [path.join(projectRoot, 'dist', 'testbed', 'awsfake', 'main.js'), optsFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, AWSFAKE_LOG_LEVEL: 'warn' },
  });
  child.stderr!.pipe(log);
  const first = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the AWS fake exited (code ${code}) before it was ready; see ${path.join(runDir, 'awsfake.log')}`)));
  });
  return { child, endpoint: (JSON.parse(first) as { endpoint: string }).endpoint };
}

export async function startBed(): Promise<Bed> {
  const runDir = path.join(runRoot, `bench-${process.pid}`);
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
  const cp = await startControlPlane(path.join(runDir, 'controlplane'));
  let fake: { child: ChildProcess; endpoint: string };
  try {
    fake = await startFake(runDir, cp);
  } catch (err) {
    await cp.stop();
    throw err;
  }
  // The harness helpers (CRD, prerequisites, platform config) find the bed through this file.
  const info: TestBedInfo = {
    backend: 'local', kubeconfig: cp.state.kubeconfig, server: cp.state.server, issuer: cp.state.issuer,
    clusterName: testClusterName, accountId: testAccountId, region: testRegion, awsEndpoint: fake.endpoint, runDir,
  };
  writeFileSync(path.join(runDir, 'testbed.json'), JSON.stringify(info, null, 2));
  Object.assign(process.env, {
    [testBedEnv]: path.join(runDir, 'testbed.json'),
    AWS_ENDPOINT_URL: fake.endpoint, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: testRegion,
  });
  delete process.env.AWS_PROFILE;
  return { cp, fake: fake.child, endpoint: fake.endpoint, runDir };
}

export async function stopBed(bed: Bed): Promise<void> {
  await stopChild(bed.fake, 10_000).catch(() => undefined);
  await bed.cp.stop().catch(() => undefined);
}

export interface ClaimToCreate {
  namespace: string;
  name: string;
  spec: { serviceAccountName: string; mechanism: 'PodIdentity' | 'IRSA'; [k: string]: unknown };
}

/** N claims alternating Pod Identity and IRSA over the namespaces, eight permission shapes, every fifth Retain. */
export function benchClaims(n: number, namespaces: string[]): ClaimToCreate[] {
  return Array.from({ length: n }, (_, i) => ({
    namespace: namespaces[i % namespaces.length]!,
    name: `claim-${i}`,
    spec: {
      serviceAccountName: `sa-${i}`,
      owner: `team-${i % 7}`,
      environment: 'prod',
      mechanism: i % 2 === 0 ? 'PodIdentity' : 'IRSA',
      aws: { accountId: testAccountId, region: testRegion },
      permissions: permissions(i),
      ...(i % 5 === 0 ? { deletionPolicy: 'Retain' } : {}),
    },
  }));
}

/** Creates the claims with `inFlight` requests at a time, as a burst of applies would. */
export async function createClaims(custom: CustomObjectsApi, claims: readonly ClaimToCreate[], inFlight = 20): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < claims.length) {
      const cl = claims[next++]!;
      await custom.createNamespacedCustomObject({
        group: GROUP, version: VERSION, plural: PLURAL, namespace: cl.namespace,
        body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'AwsWorkloadIdentityClaim', metadata: { name: cl.name, namespace: cl.namespace }, spec: cl.spec },
      });
    }
  }));
}

/** Ready at the claim's current generation, as the API server reports it. */
export const isReady = (c: AwsWorkloadIdentityClaim): boolean =>
  c.status?.observedGeneration === c.metadata.generation && !!c.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True');

/** A watch of the bench's own on the claims: when each was first seen Ready (call `watch.start()`). */
export function watchReadiness(kc: KubeConfig): { readyAt: Map<string, number>; watch: ResilientWatch<KubernetesObject> } {
  const readyAt = new Map<string, number>();
  const watch = new ResilientWatch<KubernetesObject>(kc, {
    path: `/apis/${GROUP}/${VERSION}/${PLURAL}`,
    onObject: (obj) => {
      const claim = obj as AwsWorkloadIdentityClaim;
      const key = claimKey(claim.metadata.namespace ?? '', claim.metadata.name);
      if (!readyAt.has(key) && isReady(claim)) readyAt.set(key, performance.now());
    },
  });
  return { readyAt, watch };
}
