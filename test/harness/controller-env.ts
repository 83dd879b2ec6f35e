// Runs the real controller in the test process against the test bed, with
// the platform config of the examples pointed at the test bed's cluster.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
// loadYaml (not YAML.parse): the typed client keeps x-kubernetes-* schema keys only
// when the object was deserialized through its own model.
import { ApiextensionsV1Api, AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, loadYaml, type CoreV1Event, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import { CreateOpenIDConnectProviderCommand, CreatePolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import { AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { pino } from 'pino';
import YAML from 'yaml';
import type { AwsWorkloadIdentityClaim } from '../../src/api/types.js';
import { parsePlatformConfig, type PlatformConfig } from '../../src/config/index.js';
import { Controller } from '../../src/controller/controller.js';
import { GROUP, PLURAL, VERSION } from '../../src/kube/claims.js';
import { isKubeConflict } from '../../src/kube/errors.js';
import { mergePatch } from '../../src/kube/patch.js';
import { assumeRoleForPodIdentity } from '../awsfake/client.js';
import { projectRoot } from './paths.js';
import { awsClientConfig, awsFake, kubeConfig, testbed } from './testbed.js';

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

export interface ControllerEnv {
  controller: Controller;
  config: PlatformConfig;
  stop(): Promise<void>;
}

/**
 * Resets the AWS fake, installs the CRD and prerequisites, starts a controller.
 * `reset: false` starts another controller on the world as it is (a restart):
 * no reset, and the prerequisites are assumed to exist already.
 */
export async function startControllerEnv(
  opts: { propagationRequeueMs?: number; resyncMs?: number; observeMs?: number; prerequisiteTtlMs?: number; config?: PlatformConfig; reset?: boolean } = {},
): Promise<ControllerEnv> {
  const reset = opts.reset ?? true;
  if (reset) await awsFake().reset();
  await installCrd();
  if (reset) {
    await platformPrerequisites();
    await removeAllClaims();
  }
  const config = opts.config ?? testPlatformConfig();
  const log = pino({ level: process.env.AWI_TEST_LOG ?? 'silent' });
  const controller = new Controller({
    config,
    kubeConfig: kubeConfig(),
    log,
    propagationRequeueMs: opts.propagationRequeueMs ?? 300,
    resyncMs: opts.resyncMs ?? 3_600_000,
    // 0: a reconcile the test triggers sees AWS as it is at that moment (pages read after it began), as the per-claim reads did.
    observeMs: opts.observeMs ?? 0,
    ...(opts.prerequisiteTtlMs !== undefined ? { prerequisiteTtlMs: opts.prerequisiteTtlMs } : {}),
  });
  await controller.start();
  return { controller, config, stop: () => controller.stop() };
}

/** A small valid claim spec for the test bed's account (read access to one S3 prefix), with overrides. */
export function testClaimSpec(serviceAccountName: string, mechanism: 'IRSA' | 'PodIdentity', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    serviceAccountName,
    owner: 'team-a',
    environment: 'prod',
    mechanism,
    aws: { accountId: testbed().accountId, region: testbed().region },
    permissions: { s3: [{ bucket: 'company-prod-data', prefix: 'app/', access: ['read'] }] },
    ...extra,
  };
}

/**
 * A fresh world has no claims: earlier test files leave theirs behind, and a
 * new controller (it watches every namespace) would otherwise re-create their
 * roles after the AWS reset, in the middle of this file's counts. Finalizers
 * are dropped first: their AWS side was reset already.
 */
export async function removeAllClaims(): Promise<void> {
  const api = claimsApi();
  const gone = (err: { code?: number }) => {
    if (err.code !== 404) throw err;
  };
  // 404 for the list too: the CRD may not be installed yet, then there are no claims;
  // 429 while a just-(re)installed CRD's storage starts.
  let list: { items: AwsWorkloadIdentityClaim[] } | undefined;
  for (let i = 0; ; i++) {
    try {
      list = (await api.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL }).catch(gone)) as typeof list;
      break;
    } catch (err) {
      if ((err as { code?: number }).code !== 429 || i >= 100) throw err;
      await sleep(100);
    }
  }
  for (const c of list?.items ?? []) {
    const ref = { group: GROUP, version: VERSION, plural: PLURAL, namespace: c.metadata.namespace!, name: c.metadata.name };
    await api.patchNamespacedCustomObject({ ...ref, body: { metadata: { finalizers: null } } }, mergePatch).catch(gone);
    await api.deleteNamespacedCustomObject(ref).catch(gone);
  }
}

export function claimsApi(): CustomObjectsApi {
  return kubeConfig().makeApiClient(CustomObjectsApi);
}

export async function createClaim(namespace: string, name: string, spec: Record<string, unknown>): Promise<AwsWorkloadIdentityClaim> {
  return (await claimsApi().createNamespacedCustomObject({
    group: GROUP, version: VERSION, plural: PLURAL, namespace,
    body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'AwsWorkloadIdentityClaim', metadata: { name, namespace }, spec },
  })) as AwsWorkloadIdentityClaim;
}

export async function getClaim(namespace: string, name: string): Promise<AwsWorkloadIdentityClaim | undefined> {
  try {
    return (await claimsApi().getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name })) as AwsWorkloadIdentityClaim;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

export const readyCondition = (c: AwsWorkloadIdentityClaim | undefined) => c?.status?.conditions?.find((x) => x.type === 'Ready');

/** Polls the claim until `done` holds; fails with the last status seen. */
export async function waitForClaim(
  namespace: string,
  name: string,
  done: (c: AwsWorkloadIdentityClaim | undefined) => boolean,
  timeoutMs = 30_000,
): Promise<AwsWorkloadIdentityClaim | undefined> {
  const deadline = Date.now() + timeoutMs;
  let last: AwsWorkloadIdentityClaim | undefined;
  while (Date.now() < deadline) {
    last = await getClaim(namespace, name);
    if (done(last)) return last;
    await sleep(200);
  }
  throw new Error(`claim ${namespace}/${name} did not reach the expected state in ${timeoutMs} ms; last status: ${JSON.stringify(last?.status)}`);
}

export const waitForReady = (namespace: string, name: string, timeoutMs?: number) =>
  waitForClaim(namespace, name, (c) => readyCondition(c)?.status === 'True' && c?.status?.observedGeneration === c?.metadata.generation, timeoutMs);

/** AWS calls that change something, from the fake's counters. */
export function writeCalls(calls: Record<string, number>): Record<string, number> {
  const write = /^(iam|eks):(Create|Put|Update|Tag|Untag|Delete|Attach|Detach)/;
  return Object.fromEntries(Object.entries(calls).filter(([api, n]) => write.test(api) && n > 0));
}

// --- probes the controller integration tests share ---------------------------

/** Polls `probe` every 200 ms until it returns a value, or fails naming `what`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/** The Events recorded about one claim (read through core/v1, as kubectl describe does). */
export async function claimEvents(namespace: string, claim: string): Promise<CoreV1Event[]> {
  return (await kubeConfig().makeApiClient(CoreV1Api).listNamespacedEvent({ namespace })).items.filter((e) => e.involvedObject.name === claim);
}

/** The fake's Pod Identity association for one ServiceAccount, if any. */
export const fakeAssociation = async (namespace: string, serviceAccount: string) =>
  (await awsFake().associations()).find((a) => a.namespace === namespace && a.serviceAccount === serviceAccount);

/** Exchanges a ServiceAccount token the way a pod of that mechanism does: 'ok', or the error's name and message. */
export async function exchangeAsPod(mechanism: 'IRSA' | 'PodIdentity', token: string, roleArn: string): Promise<string> {
  try {
    if (mechanism === 'IRSA') {
      await new STSClient(awsClientConfig()).send(new AssumeRoleWithWebIdentityCommand({ RoleArn: roleArn, RoleSessionName: 'pod', WebIdentityToken: token }));
    } else {
      await assumeRoleForPodIdentity(testbed().awsEndpoint, testbed().clusterName, token);
    }
    return 'ok';
  } catch (err) {
    return `${(err as Error).name}: ${(err as Error).message}`;
  }
}
