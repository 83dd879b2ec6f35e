// Runs the real controller in the test process against the test bed, with
// the platform config of the examples pointed at the test bed's cluster.
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, CustomObjectsApi, type CoreV1Event } from '@kubernetes/client-node';
import { AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { pino } from 'pino';
import type { AwsWorkloadIdentityClaim } from '../../src/api/types.js';
import type { PlatformConfig } from '../../src/config/index.js';
import { Controller } from '../../src/controller/controller.js';
import { GROUP, PLURAL, VERSION } from '../../src/kube/claims.js';
import { mergePatch } from '../../src/kube/patch.js';
import { assumeRoleForPodIdentity } from '../../testbed/awsfake/client.js';
import { installCrd, platformPrerequisites, testPlatformConfig } from '../../testbed/harness/platform.js';
import { awsClientConfig, awsFake, kubeConfig, testbed } from '../../testbed/harness/testbed.js';

// The bed's platform setup and the fake's write filter live in testbed/; the
// test files have always found them here.
export {
  AGENT, crdPath, installCrd, installPodIdentityAgent, platformPrerequisites, removePodIdentityAgent, testPlatformConfig, testPlatformConfigDocument,
} from '../../testbed/harness/platform.js';
export { writeCalls } from '../../testbed/awsfake/client.js';

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
  opts: { propagationRequeueMs?: number; resyncMs?: number; observeMs?: number; associationRecheckMs?: number; prerequisiteTtlMs?: number; config?: PlatformConfig; reset?: boolean } = {},
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
    // 0: every association a reconcile uses is described during it (the list pages lack its fields).
    associationRecheckMs: opts.associationRecheckMs ?? 0,
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
