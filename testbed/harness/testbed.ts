// Helpers for test files running on the test bed (jest integration project).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { AwsFakeClient, awsClientConfig as fakeClientConfig } from '../awsfake/client.js';
import { loadKubeConfig } from './kube.js';
import { testBedEnv, type TestBedInfo } from './testbed-info.js';

export type { TestBedInfo } from './testbed-info.js';

let cached: TestBedInfo | undefined;

export function testbed(): TestBedInfo {
  if (cached) return cached;
  const file = process.env[testBedEnv];
  if (!file) throw new Error(`${testBedEnv} is not set: run integration tests with test/jest.integration.config.js`);
  cached = JSON.parse(readFileSync(file, 'utf8')) as TestBedInfo;
  return cached;
}

/** An admin KubeConfig for the test bed's control plane. */
export function kubeConfig(): KubeConfig {
  return loadKubeConfig(testbed().kubeconfig);
}

/**
 * Creates a namespace with a unique name. There is no controller-manager on the
 * local backend, so deleted namespaces would stay Terminating: every test gets
 * its own and none is deleted.
 */
export async function freshNamespace(prefix = 't'): Promise<string> {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  await kubeConfig().makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name, labels: { 'awi.dev/test': 'true' } } } });
  return name;
}

/** A KubeConfig for the test bed's API server that authenticates with a bearer token (e.g. a ServiceAccount's). */
export function kubeConfigWithToken(token: string, user = 'token'): KubeConfig {
  const cluster = kubeConfig().getCurrentCluster()!;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'testbed', server: cluster.server, caData: cluster.caData, caFile: cluster.caFile, skipTLSVerify: false }],
    users: [{ name: user, token }],
    contexts: [{ name: user, cluster: 'testbed', user }],
    currentContext: user,
  });
  return kc;
}

/** For creates that may find the object already there (a 409 is fine, anything else is not). */
export const ignoreConflict = (err: { code?: number }): void => {
  if (err.code !== 409) throw err;
};

/** The AWS fake's admin client (reset, fault rules, counters). */
export function awsFake(): AwsFakeClient {
  return new AwsFakeClient(testbed().awsEndpoint);
}

/** Config for a real AWS SDK v3 client that talks to the fake. */
export function awsClientConfig(): ReturnType<typeof fakeClientConfig> {
  return fakeClientConfig(testbed().awsEndpoint);
}
