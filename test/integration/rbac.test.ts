// The controller running as a Deployment replica does (leader election on
// the Lease awi-system/awi-controller), as awi-system/awi-controller with
// exactly the RBAC of deploy/rbac.yaml and the admission policy of deploy/ in
// force: IRSA and Pod Identity claims reach Ready and deletion cleans up, so
// the rules are enough; with the same token everything else is refused, so
// they are not more than they say. Also: every manifest of deploy/ passes a
// server-side dry run on a real API server.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  AdmissionregistrationV1Api, AppsV1Api, CoordinationV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, KubernetesObjectApi, PatchStrategy,
  RbacAuthorizationV1Api, type KubernetesObject, type V1ValidatingAdmissionPolicy, type V1ValidatingAdmissionPolicyBinding,
} from '@kubernetes/client-node';
import { pino } from 'pino';
import YAML from 'yaml';
import { runController, type RunningController } from '../../src/controller/run.js';
import { GROUP, PLURAL, VERSION } from '../../src/kube/claims.js';
import { mergePatch } from '../../src/kube/patch.js';
import { claimsApi, crdPath, createClaim, installCrd, platformPrerequisites, removeAllClaims, testClaimSpec, testPlatformConfig, waitForClaim, waitForReady } from '../harness/controller-env.js';
import { projectRoot } from '../../testbed/harness/paths.js';
import { awsFake, ignoreConflict, kubeConfig, kubeConfigWithToken } from '../../testbed/harness/testbed.js';

const deployDir = path.join(projectRoot, 'deploy');
const load = (file: string): KubernetesObject[] =>
  YAML.parseAllDocuments(readFileSync(path.join(deployDir, file), 'utf8')).map((d) => d.toJS() as KubernetesObject).filter(Boolean);
const find = <T>(objects: KubernetesObject[], kind: string): T => objects.find((o) => o.kind === kind) as T;

/** HTTP status of a refused call, 0 when it succeeded. */
async function status(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 0;
  } catch (err) {
    return (err as { code?: number }).code ?? -1;
  }
}

const runId = randomBytes(4).toString('hex');
const admission = () => kubeConfig().makeApiClient(AdmissionregistrationV1Api);
let controllerKc: KubeConfig;
let running: RunningController | undefined;
let lostLeadership = false;
let vap: V1ValidatingAdmissionPolicy;
let vapBinding: V1ValidatingAdmissionPolicyBinding;

async function testNamespace(prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  await kubeConfig().makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name, labels: { 'awi.dev/test': 'true', 'awi.dev/rbac-test': runId, 'awi.dev/owner': 'team-a' } } } });
  return name;
}

beforeAll(async () => {
  const kc = kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);

  // The controller's identity and its RBAC, as deploy/ ships them.
  const namespace = find<{ metadata: { name: string } }>(load('namespace.yaml'), 'Namespace');
  const serviceAccount = find<{ metadata: { name: string; namespace: string } }>(load('serviceaccount.yaml'), 'ServiceAccount');
  await core.createNamespace({ body: { metadata: { name: namespace.metadata.name } } }).catch(ignoreConflict);
  await core.createNamespacedServiceAccount({ namespace: serviceAccount.metadata.namespace, body: { metadata: { name: serviceAccount.metadata.name } } }).catch(ignoreConflict);
  // Server-side apply of every object in rbac.yaml, whatever kinds it holds.
  const objects = KubernetesObjectApi.makeApiClient(kc);
  for (const o of load('rbac.yaml')) await objects.patch(o, undefined, undefined, 'awi-rbac-test', true, PatchStrategy.ServerSideApply);

  // A token with the API server's default audience, as a projected token in the pod would have.
  const token = (await core.createNamespacedServiceAccountToken({
    namespace: serviceAccount.metadata.namespace, name: serviceAccount.metadata.name, body: { spec: { audiences: [], expirationSeconds: 3600 } },
  })).status!.token!;
  controllerKc = kubeConfigWithToken(token, 'awi-controller');

  // The admission policy too, limited to this file's namespaces (the other suites' controller runs as admin).
  const policy = load('admission-policy.yaml');
  vap = find(policy, 'ValidatingAdmissionPolicy');
  vapBinding = find(policy, 'ValidatingAdmissionPolicyBinding');
  await admission().createValidatingAdmissionPolicy({ body: vap });
  await admission().createValidatingAdmissionPolicyBinding({
    body: { ...vapBinding, spec: { ...vapBinding.spec, matchResources: { namespaceSelector: { matchLabels: { 'awi.dev/rbac-test': runId } } } } },
  });

  await awsFake().reset();

  await removeAllClaims(); // a fresh world: no claims left by earlier files
  await installCrd();
  await platformPrerequisites();
  running = await runController({
    // Owner pinned to a namespace label: the controller reads its claims' namespaces (get namespaces).
    config: testPlatformConfig((raw) => {
      raw.guardrails[0].owner = { fromNamespaceLabel: 'awi.dev/owner' };
    }),
    kubeConfig: controllerKc,
    log: pino({ level: process.env.AWI_TEST_LOG ?? 'silent' }),
    leaderElection: { namespace: serviceAccount.metadata.namespace, name: 'awi-controller', leaseDurationSeconds: 5, renewIntervalMs: 1000, retryIntervalMs: 300 },
    onLostLeadership: () => {
      lostLeadership = true;
    },
    propagationRequeueMs: 300,
    resyncMs: 3_600_000,
  });
  const deadline = Date.now() + 20_000;
  while (!(running.isLeader() && running.controller.synced)) {
    if (Date.now() > deadline) throw new Error('the controller did not become leader and sync its caches with the RBAC of deploy/rbac.yaml');
    await new Promise((r) => setTimeout(r, 100));
  }
}, 60_000);

afterAll(async () => {
  await running?.stop();
  await admission().deleteValidatingAdmissionPolicyBinding({ name: vapBinding.metadata!.name! }).catch(() => undefined);
  await admission().deleteValidatingAdmissionPolicy({ name: vap.metadata!.name! }).catch(() => undefined);
});

const spec = testClaimSpec;

describe('the controller with the RBAC of deploy/rbac.yaml', () => {
  it('reconciles an IRSA claim and a Pod Identity claim to Ready, records Events, and cleans up on deletion', async () => {
    const ns = await testNamespace('it-rbac');
    await createClaim(ns, 'irsa', spec('irsa-sa', 'IRSA'));
    await createClaim(ns, 'pod', spec('pod-sa', 'PodIdentity'));
    const irsa = await waitForReady(ns, 'irsa');
    expect(lostLeadership).toBe(false);
    const pod = await waitForReady(ns, 'pod');
    // Verified with a token the controller minted itself (serviceaccounts/token), through both mechanisms;
    // the Pod Identity agent was found through the kube-system Role (daemonsets get).
    for (const c of [irsa, pod]) expect(c!.status!.conditions!.find((x) => x.type === 'CredentialsVerified')).toMatchObject({ status: 'True', reason: 'Verified' });

    const core = kubeConfig().makeApiClient(CoreV1Api);
    const sa = await core.readNamespacedServiceAccount({ namespace: ns, name: 'irsa-sa' });
    expect(sa.metadata?.annotations?.['eks.amazonaws.com/role-arn']).toBe(irsa!.status!.roleArn);
    expect((await awsFake().associations()).filter((a) => a.namespace === ns).map((a) => a.serviceAccount)).toEqual(['pod-sa']);
    const events = await core.listNamespacedEvent({ namespace: ns });
    expect(events.items.filter((e) => e.reportingComponent === 'awi-controller').length).toBeGreaterThan(0);

    await claimsApi().deleteNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: ns, name: 'pod' });
    await waitForClaim(ns, 'pod', (c) => c === undefined);
    expect(await status(core.readNamespacedServiceAccount({ namespace: ns, name: 'pod-sa' }))).toBe(404);
    expect((await awsFake().associations()).filter((a) => a.namespace === ns)).toEqual([]);

    // It has been renewing its Lease all along (get + update), not just created it once.
    await new Promise((r) => setTimeout(r, 2500));
    const lease = await kubeConfig().makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: 'awi-system', name: 'awi-controller' });
    expect(Date.now() - new Date(lease.spec!.renewTime!).getTime()).toBeLessThan(2000);
    expect(running!.isLeader()).toBe(true);
    expect(lostLeadership).toBe(false);
  });

  it('refuses the same identity everything else', async () => {
    const ns = await testNamespace('it-rbac-deny');
    const admin = kubeConfig().makeApiClient(CoreV1Api);
    await admin.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'db' }, stringData: { password: 'x' } } });
    await admin.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'app' } } });
    await createClaim(ns, 'claim', spec('claim-sa', 'IRSA'));

    const core = controllerKc.makeApiClient(CoreV1Api);
    const rbac = controllerKc.makeApiClient(RbacAuthorizationV1Api);
    const custom = controllerKc.makeApiClient(CustomObjectsApi);
    const leases = controllerKc.makeApiClient(CoordinationV1Api);
    const apps = controllerKc.makeApiClient(AppsV1Api);
    const refused = {
      'get secret': await status(core.readNamespacedSecret({ namespace: ns, name: 'db' })),
      'list secrets (cluster)': await status(core.listSecretForAllNamespaces()),
      // Pods are listed and watched, never read one by one or changed.
      'get a pod': await status(core.readNamespacedPod({ namespace: ns, name: 'p' })),
      'create a pod': await status(core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'p' }, spec: { serviceAccountName: 'app', containers: [{ name: 'c', image: 'x' }] } } })),
      'delete pods': await status(core.deleteCollectionNamespacedPod({ namespace: ns })),
      // In kube-system, only the agent's DaemonSet, only get.
      'list daemonsets in kube-system': await status(apps.listNamespacedDaemonSet({ namespace: 'kube-system' })),
      'get another daemonset': await status(apps.readNamespacedDaemonSet({ namespace: 'kube-system', name: 'kube-proxy' })),
      'delete the agent daemonset': await status(apps.deleteNamespacedDaemonSet({ namespace: 'kube-system', name: 'eks-pod-identity-agent' })),
      'get configmaps': await status(core.listNamespacedConfigMap({ namespace: ns })),
      // Namespaces: get by name only (their labels), never listed or changed.
      'list namespaces': await status(core.listNamespace()),
      'label a namespace': await status(core.patchNamespace({ name: ns, body: { metadata: { labels: { 'awi.dev/owner': 'platform' } } } }, mergePatch)),
      'create a namespace': await status(core.createNamespace({ body: { metadata: { name: `awi-escalate-${runId}` } } })),
      'create clusterrole': await status(rbac.createClusterRole({ body: { metadata: { name: `awi-escalate-${runId}` }, rules: [] } })),
      'create rolebinding': await status(rbac.createNamespacedRoleBinding({
        namespace: ns,
        body: { metadata: { name: 'x' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' }, subjects: [{ kind: 'User', name: 'x' }] },
      })),
      'create a lease in another namespace': await status(leases.createNamespacedLease({ namespace: ns, body: { metadata: { name: 'awi-controller' }, spec: {} } })),
      'get another lease': await status(leases.readNamespacedLease({ namespace: 'awi-system', name: 'someone-else' })),
      'list leases': await status(leases.listNamespacedLease({ namespace: 'awi-system' })),
      'update a claim (PUT)': await status((async () => {
        const c = await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: ns, name: 'claim' });
        await custom.replaceNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: ns, name: 'claim', body: c });
      })()),
      'delete a claim': await status(custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: ns, name: 'claim' })),
      'create a claim': await status(custom.createNamespacedCustomObject({
        group: GROUP, version: VERSION, plural: PLURAL, namespace: ns,
        body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'AwsWorkloadIdentityClaim', metadata: { name: 'sneaky' }, spec: spec('sneaky-sa', 'IRSA') },
      })),
    };
    expect(refused).toEqual(Object.fromEntries(Object.keys(refused).map((k) => [k, 403])));
  });
});

describe('deploy/ manifests', () => {
  it('all pass a server-side dry run on a real API server', async () => {
    const kc = kubeConfig();
    const api = KubernetesObjectApi.makeApiClient(kc);
    const kustomization = YAML.parse(readFileSync(path.join(deployDir, 'kustomization.yaml'), 'utf8')) as {
      resources: string[];
      configMapGenerator: { name: string; namespace: string; files: string[] }[];
    };
    const objects: KubernetesObject[] = kustomization.resources.flatMap((file) =>
      // deploy/crds/ holds a copy of crds/ (the unit test checks they are equal): apply the source.
      file.startsWith('crds/') ? [YAML.parse(readFileSync(crdPath, 'utf8')) as KubernetesObject] : load(file));
    for (const g of kustomization.configMapGenerator) {
      const data = Object.fromEntries(g.files.map((f) => {
        const [key, file] = f.includes('=') ? (f.split('=') as [string, string]) : [path.basename(f), f];
        return [key, readFileSync(path.join(deployDir, file), 'utf8')];
      }));
      objects.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: g.name, namespace: g.namespace }, data } as KubernetesObject);
    }
    const failures: string[] = [];
    for (const o of objects) {
      try {
        await api.patch(o, undefined, 'All', 'awi-deploy-test', true, PatchStrategy.ServerSideApply);
      } catch (err) {
        failures.push(`${o.kind}/${o.metadata?.name}: ${(err as { body?: unknown }).body ?? err}`);
      }
    }
    expect(failures).toEqual([]);
  });
});
