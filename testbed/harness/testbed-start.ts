// Starts one control plane and one AWS fake for the whole jest run; test
// files find them through the file named by $AWI_TESTBED (see testbed.ts).
// Loaded from dist/ by global-setup.js: jest loads global setup files outside
// its ESM module mapping, so they cannot import TypeScript sources directly.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startAwsFake } from '../awsfake/server.js';
import { startControlPlane } from './controlplane.js';
import { runRoot } from './paths.js';
import { testAccountId, testBedEnv, testClusterName, testRegion, type TestBedInfo } from './testbed-info.js';

type Stoppable = { stop(): Promise<void> };

export async function startTestBed(): Promise<void> {
  const backend = process.env.AWI_BACKEND === 'container' ? 'container' : 'local';
  const runDir = path.join(runRoot, `${backend}-${process.pid}`);
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });

  const started: Stoppable[] = [];
  (globalThis as { __awiTestBed?: Stoppable[] }).__awiTestBed = started;

  let cluster: { server: string; issuer: string; kubeconfig: string };
  if (backend === 'container') {
    // Loaded only here: testcontainers is needed only where a container runtime is.
    const { startContainerCluster } = await import('./container-cluster.js');
    const containerCluster = await startContainerCluster(path.join(runDir, 'controlplane'));
    started.push(containerCluster);
    cluster = containerCluster;
  } else {
    const cp = await startControlPlane(path.join(runDir, 'controlplane'));
    started.push(cp);
    cluster = { server: cp.state.server, issuer: cp.state.issuer, kubeconfig: cp.state.kubeconfig };
  }

  const fake = await startAwsFake({
    port: 0,
    accountId: testAccountId,
    region: testRegion,
    clusters: [{ name: testClusterName, issuer: cluster.issuer, kubeconfigPath: cluster.kubeconfig }],
  });
  started.push({ stop: () => fake.close() });

  const info: TestBedInfo = {
    backend,
    kubeconfig: cluster.kubeconfig,
    server: cluster.server,
    issuer: cluster.issuer,
    clusterName: testClusterName,
    accountId: testAccountId,
    region: testRegion,
    awsEndpoint: fake.endpoint,
    runDir,
  };
  const infoPath = path.join(runDir, 'testbed.json');
  writeFileSync(infoPath, JSON.stringify(info, null, 2));

  // Workers inherit this environment: the SDK clients under test find the fake
  // through AWS_ENDPOINT_URL exactly as they would find a real endpoint override.
  process.env[testBedEnv] = infoPath;
  process.env.AWS_ENDPOINT_URL = fake.endpoint;
  process.env.AWS_ACCESS_KEY_ID = 'testing';
  process.env.AWS_SECRET_ACCESS_KEY = 'testing';
  process.env.AWS_REGION = testRegion;
  delete process.env.AWS_PROFILE;
}

export async function stopTestBed(): Promise<void> {
  const started = (globalThis as { __awiTestBed?: Stoppable[] }).__awiTestBed ?? [];
  // Stop in reverse order: the fake reads the control plane's JWKS.
  for (const s of started.reverse()) await s.stop();
}
