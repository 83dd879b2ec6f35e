// deploy/admission-policy.yaml on a real API server: only the awi controller
// (system:serviceaccount:awi-system:awi-controller) may bind ServiceAccounts
// to awi roles through eks.amazonaws.com/role-arn or touch awi's ownership
// labels; other IRSA users keep working. Identities are real service-account
// tokens (TokenRequest) with RBAC that lets them edit ServiceAccounts, so
// every refusal below comes from the policy, not from RBAC.
//
// The binding is applied as shipped except for a namespaceSelector limited
// to this test's namespace, so that a failed cleanup cannot block the other
// suites sharing the test bed (their controller runs as the admin user).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  AdmissionregistrationV1Api, CoreV1Api, RbacAuthorizationV1Api,
  type V1ValidatingAdmissionPolicy, type V1ValidatingAdmissionPolicyBinding,
} from '@kubernetes/client-node';
import YAML from 'yaml';
import { projectRoot } from '../../testbed/harness/paths.js';
import { ignoreConflict, kubeConfig, kubeConfigWithToken } from '../../testbed/harness/testbed.js';
import { mergePatch } from '../../src/kube/patch.js';

const ROLE_ARN = 'eks.amazonaws.com/role-arn';
const AWI_LABELS = { 'app.kubernetes.io/managed-by': 'awi', 'awi.dev/claim': 'app', 'awi.dev/claim-namespace': '' };
const ACCOUNT = '111122223333';
const awiRole = (name: string) => `arn:aws:iam::${ACCOUNT}:role/awi/${name}`;
const otherRole = `arn:aws:iam::${ACCOUNT}:role/platform/external-dns`;

const manifests = YAML.parseAllDocuments(readFileSync(path.join(projectRoot, 'deploy', 'admission-policy.yaml'), 'utf8')).map((d) => d.toJS());
const policyManifest = manifests.find((m) => m.kind === 'ValidatingAdmissionPolicy') as V1ValidatingAdmissionPolicy;
const bindingManifest = manifests.find((m) => m.kind === 'ValidatingAdmissionPolicyBinding') as V1ValidatingAdmissionPolicyBinding;
const messages = policyManifest.spec!.validations!.map((v) => v.message!.replace(/\s+/g, ' ').trim());
const [ANNOTATION_ON_AWI_SA, AWI_ROLE_ELSEWHERE, OWNERSHIP_LABELS] = messages as [string, string, string];

async function serviceAccountToken(namespace: string, name: string): Promise<string> {
  const core = kubeConfig().makeApiClient(CoreV1Api);
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } }).catch(ignoreConflict);
  // No audiences: the API server's own, so the token authenticates to it.
  return (await core.createNamespacedServiceAccountToken({ namespace, name, body: { spec: { audiences: [], expirationSeconds: 3600 } } })).status!.token!;
}

/** The API server's message for a failed call ("" when it succeeded). */
async function refusal(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return '';
  } catch (err) {
    const e = err as { code?: number; body?: unknown; message?: string };
    const body = typeof e.body === 'string' ? e.body : JSON.stringify(e.body ?? {});
    let message = e.message ?? String(err);
    try {
      message = (JSON.parse(body) as { message?: string }).message ?? message;
    } catch {
      // not JSON
    }
    return `${e.code ?? ''} ${message}`;
  }
}

let namespace: string;
let someone: CoreV1Api;
let controller: CoreV1Api;
let admin: CoreV1Api;
const admission = () => kubeConfig().makeApiClient(AdmissionregistrationV1Api);

const patchMetadata = (api: CoreV1Api, name: string, metadata: Record<string, unknown>) =>
  api.patchNamespacedServiceAccount({ namespace, name, body: { metadata } }, mergePatch);
const createSa = (api: CoreV1Api, name: string, metadata: Record<string, unknown> = {}) =>
  api.createNamespacedServiceAccount({ namespace, body: { metadata: { name, ...metadata } } });
const awiLabels = () => ({ ...AWI_LABELS, 'awi.dev/claim-namespace': namespace });

beforeAll(async () => {
  const runId = randomBytes(4).toString('hex');
  namespace = `vap-${runId}`;
  const kc = kubeConfig();
  admin = kc.makeApiClient(CoreV1Api);
  await admin.createNamespace({ body: { metadata: { name: namespace, labels: { 'awi.dev/test': 'true', 'awi.dev/vap-test': runId } } } });
  await admin.createNamespace({ body: { metadata: { name: 'awi-system' } } }).catch(ignoreConflict);

  // Both identities may edit ServiceAccounts in the test namespace: RBAC is not what stops them.
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  await rbac.createNamespacedRole({
    namespace,
    body: { metadata: { name: 'edit-serviceaccounts' }, rules: [{ apiGroups: [''], resources: ['serviceaccounts'], verbs: ['get', 'list', 'create', 'update', 'patch', 'delete'] }] },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: 'edit-serviceaccounts' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'edit-serviceaccounts' },
      subjects: [
        { kind: 'ServiceAccount', name: 'someone', namespace },
        { kind: 'ServiceAccount', name: 'awi-controller', namespace: 'awi-system' },
      ],
    },
  });
  someone = kubeConfigWithToken(await serviceAccountToken(namespace, 'someone')).makeApiClient(CoreV1Api);
  controller = kubeConfigWithToken(await serviceAccountToken('awi-system', 'awi-controller')).makeApiClient(CoreV1Api);

  await admission().createValidatingAdmissionPolicy({ body: policyManifest });
  await admission().createValidatingAdmissionPolicyBinding({
    body: {
      ...bindingManifest,
      spec: { ...bindingManifest.spec, matchResources: { namespaceSelector: { matchLabels: { 'awi.dev/vap-test': runId } } } },
    },
  });

  // The policy takes effect once the API server has loaded and type-checked
  // it: probe with a refused change until it is refused.
  const deadline = Date.now() + 20_000;
  for (;;) {
    const probe = `probe-${randomBytes(3).toString('hex')}`;
    const message = await refusal(createSa(someone, probe, { labels: awiLabels() }));
    if (message.includes(OWNERSHIP_LABELS)) break;
    if (!message) await admin.deleteNamespacedServiceAccount({ namespace, name: probe });
    if (Date.now() > deadline) throw new Error(`the admission policy did not take effect: ${message || 'change allowed'}`);
    await sleep(250);
  }
}, 60_000);

afterAll(async () => {
  await admission().deleteValidatingAdmissionPolicyBinding({ name: bindingManifest.metadata!.name! }).catch(() => undefined);
  await admission().deleteValidatingAdmissionPolicy({ name: policyManifest.metadata!.name! }).catch(() => undefined);
});

describe('on a ServiceAccount awi manages', () => {
  it('only the controller may set, change or remove eks.amazonaws.com/role-arn', async () => {
    await createSa(controller, 'app', { labels: awiLabels() });

    expect(await refusal(patchMetadata(someone, 'app', { annotations: { [ROLE_ARN]: awiRole('stolen') } }))).toBe(
      `403 serviceaccounts "app" is forbidden: ValidatingAdmissionPolicy '${policyManifest.metadata!.name}' with binding '${bindingManifest.metadata!.name}' denied request: ${ANNOTATION_ON_AWI_SA}`,
    );
    expect(await refusal(patchMetadata(someone, 'app', { annotations: { [ROLE_ARN]: otherRole } }))).toContain(ANNOTATION_ON_AWI_SA);

    expect(await refusal(patchMetadata(controller, 'app', { annotations: { [ROLE_ARN]: awiRole('app') } }))).toBe('');
    expect(await refusal(patchMetadata(someone, 'app', { annotations: { [ROLE_ARN]: awiRole('other') } }))).toContain(ANNOTATION_ON_AWI_SA);
    expect(await refusal(patchMetadata(someone, 'app', { annotations: { [ROLE_ARN]: null } }))).toContain(ANNOTATION_ON_AWI_SA);
    // Cluster admins too: the break glass is deleting the binding, on purpose.
    expect(await refusal(patchMetadata(admin, 'app', { annotations: { [ROLE_ARN]: null } }))).toContain(ANNOTATION_ON_AWI_SA);

    expect(await refusal(patchMetadata(controller, 'app', { annotations: { [ROLE_ARN]: awiRole('app-2') } }))).toBe('');
    expect(await refusal(patchMetadata(controller, 'app', { annotations: { [ROLE_ARN]: null } }))).toBe('');
    const sa = await admin.readNamespacedServiceAccount({ namespace, name: 'app' });
    expect(sa.metadata?.annotations?.[ROLE_ARN]).toBeUndefined();
  });

  it('other edits stay open to anyone RBAC allows', async () => {
    await createSa(controller, 'app-edits', { labels: awiLabels(), annotations: { [ROLE_ARN]: awiRole('app-edits') } });
    expect(await refusal(patchMetadata(someone, 'app-edits', { annotations: { 'team.example.com/contact': 'ops' } }))).toBe('');
    expect(await refusal(someone.deleteNamespacedServiceAccount({ namespace, name: 'app-edits' }))).toBe('');
  });

  it("only the controller may add, change or remove awi's ownership labels", async () => {
    await createSa(controller, 'owned', { labels: awiLabels() });
    expect(await refusal(patchMetadata(someone, 'owned', { labels: { 'app.kubernetes.io/managed-by': null } }))).toContain(OWNERSHIP_LABELS);
    expect(await refusal(patchMetadata(someone, 'owned', { labels: { 'awi.dev/claim': 'another-claim' } }))).toContain(OWNERSHIP_LABELS);
    // Handing a ServiceAccount to awi is refused as well, at creation or later.
    expect(await refusal(createSa(someone, 'fake-owned', { labels: awiLabels() }))).toContain(OWNERSHIP_LABELS);
    await createSa(someone, 'plain');
    expect(await refusal(patchMetadata(someone, 'plain', { labels: awiLabels() }))).toContain(OWNERSHIP_LABELS);
    expect(await refusal(patchMetadata(controller, 'owned', { labels: { 'awi.dev/claim': 'renamed' } }))).toBe('');
  });
});

describe('on other ServiceAccounts', () => {
  it('anyone may still use IRSA with roles outside /awi/', async () => {
    await createSa(someone, 'external-dns', { annotations: { [ROLE_ARN]: otherRole } });
    expect(await refusal(patchMetadata(someone, 'external-dns', { annotations: { [ROLE_ARN]: `${otherRole}-v2` } }))).toBe('');
    expect(await refusal(patchMetadata(someone, 'external-dns', { annotations: { [ROLE_ARN]: null } }))).toBe('');
  });

  it('only the controller may point one at a role under /awi/', async () => {
    await createSa(someone, 'borrower');
    expect(await refusal(patchMetadata(someone, 'borrower', { annotations: { [ROLE_ARN]: awiRole('checkout-api') } }))).toContain(AWI_ROLE_ELSEWHERE);
    expect(await refusal(createSa(someone, 'borrower-2', { annotations: { [ROLE_ARN]: 'arn:aws-us-gov:iam::111122223333:role/awi/x' } }))).toContain(AWI_ROLE_ELSEWHERE);
    // A path that merely starts like awi's is not awi's.
    expect(await refusal(patchMetadata(someone, 'borrower', { annotations: { [ROLE_ARN]: `arn:aws:iam::${ACCOUNT}:role/awizard/x` } }))).toBe('');
    expect(await refusal(patchMetadata(controller, 'borrower', { annotations: { [ROLE_ARN]: awiRole('checkout-api') } }))).toBe('');
  });
});
