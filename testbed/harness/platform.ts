// What a platform team sets up once on a cluster and an account, done on the
// test bed: the CRD, the IRSA OIDC provider, the permissions boundary and the
// Pod Identity agent; and the examples' platform config pointed at the bed.
// Used by the integration tests (through test/harness/controller-env.ts), the
// bench and the local run.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
// loadYaml (not YAML.parse): the typed client keeps x-kubernetes-* schema keys only
// when the object was deserialized through its own model.
import { ApiextensionsV1Api, AppsV1Api, CustomObjectsApi, KubeConfig, loadYaml, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import { CreateOpenIDConnectProviderCommand, CreatePolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import YAML from 'yaml';
import { parsePlatformConfig, type PlatformConfig } from '../../src/config/index.js';
import { GROUP, PLURAL, VERSION } from '../../src/kube/claims.js';
import { isKubeConflict } from '../../src/kube/errors.js';
import { projectRoot } from './paths.js';
import { awsClientConfig, kubeConfig, testbed } from './testbed.js';

export const crdPath = path.join(projectRoot, 'crds', 'awi.dev_awsworkloadidentityclaims.yaml');

/** Applies the CRD from crds/ (once per test bed) and waits until it is served. */
export async function installCrd(kc: KubeConfig = kubeConfig()): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const crd = loadYaml<V1CustomResourceDefinition>(readFileSync(crdPath, 'utf8'));
  try {
    await api.createCustomResourceDefinition({ body: crd });
  } catch (err) {
    if (!isKubeConflict(err)) throw err;
    // Installed by an earlier suite: make sure it is this file's version.
    const existing = await api.readCustomResourceDefinition({ name: `${PLURAL}.${GROUP}` });
    await api.replaceCustomResourceDefinition({
      name: `${PLURAL}.${GROUP}`,
      body: { ...crd, metadata: { ...crd.metadata, resourceVersion: existing.metadata!.resourceVersion! } },
    });
  }
  for (let i = 0; i < 200; i++) {
    const got = await api.readCustomResourceDefinition({ name: `${PLURAL}.${GROUP}` });
    if (got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
    if (i === 199) throw new Error('CRD not established');
    await sleep(50);
  }
  // Established is not yet served: until its storage (watch cache) is up, lists answer 429.
  const objects = kc.makeApiClient(CustomObjectsApi);
  for (let i = 0; ; i++) {
    try {
      await objects.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, limit: 1 });
      return;
    } catch (err) {
      if ((err as { code?: number }).code !== 429 || i >= 100) throw err;
      await sleep(100);
    }
  }
}

/** The examples' platform config, for the test bed's cluster and issuer; guardrails open to test namespaces. */
export function testPlatformConfig(overrides: (raw: Record<string, any>) => void = () => undefined): PlatformConfig {
  return parsePlatformConfig(testPlatformConfigDocument(overrides), 'test platform config');
}

/** The same configuration as a plain document, e.g. to write a file for `awi controller --config`. */
export function testPlatformConfigDocument(overrides: (raw: Record<string, any>) => void = () => undefined): Record<string, any> {
  const tb = testbed();
  const raw = YAML.parse(readFileSync(path.join(projectRoot, 'deploy', 'examples', 'platform-config.yaml'), 'utf8')) as Record<string, any>;
  raw.cluster = { ...raw.cluster, name: tb.clusterName, accountId: tb.accountId, region: tb.region, oidcIssuer: tb.issuer };
  // Test namespaces (it-*) reach any resource: the tests name buckets and queues freely. First in
  // the list, so that suites copying guardrails[0] for their own namespaces get the open one.
  raw.guardrails = [{ ...raw.guardrails[0], namespaces: ['it-*'], allowedResourcePatterns: ['arn:*'], sharedResources: [] }, ...raw.guardrails];
  overrides(raw);
  return raw;
}

/**
 * What the platform team sets up once: the IRSA OIDC provider and the
 * permissions boundary per account, and the Pod Identity agent (its DaemonSet
 * in kube-system) per cluster.
 */
export async function platformPrerequisites(iam: IAMClient = new IAMClient(awsClientConfig()), issuer: string = testbed().issuer, kc: KubeConfig = kubeConfig()): Promise<void> {
  await installPodIdentityAgent(kc);
  await iam.send(new CreateOpenIDConnectProviderCommand({ Url: issuer, ClientIDList: ['sts.amazonaws.com'], ThumbprintList: ['0'.repeat(40)] }));
  await iam.send(new CreatePolicyCommand({
    PolicyName: 'awi-workload-boundary',
    PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:*', 'sqs:*', 'sns:*', 'kms:*', 'dynamodb:*', 'secretsmanager:*', 'ssm:*'], Resource: '*' }] }),
  }));
}

export const AGENT = { namespace: 'kube-system', name: 'eks-pod-identity-agent' };

/** The Pod Identity agent's DaemonSet as the EKS add-on installs it (the API object only: nothing runs it here). */
export async function installPodIdentityAgent(kc: KubeConfig = kubeConfig()): Promise<void> {
  const apps = kc.makeApiClient(AppsV1Api);
  const labels = { 'app.kubernetes.io/name': AGENT.name };
  try {
    await apps.createNamespacedDaemonSet({
      namespace: AGENT.namespace,
      body: {
        metadata: { name: AGENT.name, namespace: AGENT.namespace, labels },
        spec: {
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { hostNetwork: true, containers: [{ name: AGENT.name, image: 'public.ecr.aws/eks/eks-pod-identity-agent:latest' }] } },
        },
      },
    });
  } catch (err) {
    if (!isKubeConflict(err)) throw err;
  }
}

/** Removes the agent's DaemonSet (tests of PodIdentityAgentMissing). */
export async function removePodIdentityAgent(kc: KubeConfig = kubeConfig()): Promise<void> {
  try {
    await kc.makeApiClient(AppsV1Api).deleteNamespacedDaemonSet({ namespace: AGENT.namespace, name: AGENT.name });
  } catch (err) {
    if ((err as { code?: number }).code !== 404) throw err;
  }
}
