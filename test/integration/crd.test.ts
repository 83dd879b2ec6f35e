// The CRD from crds/ on a real API server: it is accepted (structural, CEL
// rules within cost), claims round-trip and are seen by a watch, the status
// subresource and printer columns work, and the structural invalid examples
// and every CEL rule are refused with a message naming the field and rule.

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiextensionsV1Api, CustomObjectsApi, loadYaml, Watch, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import { CRD_FILE } from '../../src/api/crd.js';
import { GROUP, PLURAL, VERSION, CRD_NAME } from '../../src/api/schema.js';
import type { AwsWorkloadIdentityClaim } from '../../src/api/types.js';
import { CEL_CASES } from '../fixtures/cel-cases.js';
import { claimWith, loadExample, VALID_EXAMPLES } from '../fixtures/claims.js';
import { freshNamespace, kubeConfig } from '../../testbed/harness/testbed.js';

const kc = () => kubeConfig();
const objects = () => kc().makeApiClient(CustomObjectsApi);
const path = (ns: string) => `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}`;

function inNamespace(claim: AwsWorkloadIdentityClaim, namespace: string): AwsWorkloadIdentityClaim {
  return { ...claim, metadata: { ...claim.metadata, namespace } };
}

async function create(claim: AwsWorkloadIdentityClaim, fieldValidation = 'Strict'): Promise<AwsWorkloadIdentityClaim> {
  return (await objects().createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    plural: PLURAL,
    namespace: claim.metadata.namespace!,
    body: claim,
    fieldValidation,
  })) as AwsWorkloadIdentityClaim;
}

/** The API server's refusal: HTTP status and message. */
async function refusal(claim: AwsWorkloadIdentityClaim): Promise<{ code: number; message: string }> {
  try {
    await create(claim);
  } catch (err) {
    const e = err as { code?: number; body?: unknown };
    const body = typeof e.body === 'string' ? (JSON.parse(e.body) as { message?: string }) : (e.body as { message?: string });
    return { code: e.code ?? 0, message: body?.message ?? String(err) };
  }
  throw new Error(`the API server accepted ${claim.metadata.name}`);
}

async function installCrd(): Promise<V1CustomResourceDefinition> {
  const api = kc().makeApiClient(ApiextensionsV1Api);
  // loadYaml, not YAML.parse: the typed client serializes from its model, and would drop the
  // x-kubernetes-* keys of a plain object (outside `items`), CEL rules included.
  const crd = loadYaml<V1CustomResourceDefinition>(readFileSync(CRD_FILE, 'utf8'));
  try {
    await api.createCustomResourceDefinition({ body: crd });
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
    // Installed by an earlier suite of this run: make sure it is this file's version.
    const existing = await api.readCustomResourceDefinition({ name: CRD_NAME });
    await api.replaceCustomResourceDefinition({ name: CRD_NAME, body: { ...crd, metadata: { ...crd.metadata, resourceVersion: existing.metadata!.resourceVersion! } } });
  }
  for (let i = 0; i < 200; i++) {
    const got = await api.readCustomResourceDefinition({ name: CRD_NAME });
    const established = got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    // Established can come a moment before the resource is served: wait for a list to work too.
    if (established && (await objects().listNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: 'default' }).then(() => true, () => false))) {
      return got;
    }
    await sleep(50);
  }
  throw new Error('CRD not established');
}

/** GET with the Table representation kubectl uses for `kubectl get`. */
async function getTable(apiPath: string): Promise<{ columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] }> {
  const cluster = kc().getCurrentCluster()!;
  const opts: https.RequestOptions = { method: 'GET', headers: { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' } };
  await kc().applyToHTTPSOptions(opts);
  return new Promise((resolve, reject) => {
    const req = https.request(new URL(apiPath, cluster.server), opts, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => ((res.statusCode ?? 0) >= 300 ? reject(new Error(body)) : resolve(JSON.parse(body))));
    });
    req.on('error', reject);
    req.end();
  });
}

let crd: V1CustomResourceDefinition;
beforeAll(async () => {
  crd = await installCrd();
});

describe('the CRD on the API server', () => {
  it('is accepted as structural and established', () => {
    const conditions = crd.status?.conditions ?? [];
    expect(conditions).toContainEqual(expect.objectContaining({ type: 'Established', status: 'True' }));
    expect(conditions.find((c) => c.type === 'NonStructuralSchema')).toBeUndefined();
    expect(crd.status?.acceptedNames?.shortNames).toEqual(expect.arrayContaining(['awic', 'wic']));
  });
});

describe('valid claims', () => {
  const stops: Array<() => void> = [];
  afterAll(() => stops.forEach((stop) => stop()));

  it.each([...VALID_EXAMPLES])('%s is created, read back unchanged and seen by a watch', async (name) => {
    const ns = await freshNamespace('crd');
    const seen: string[] = [];
    const request = await new Watch(kc()).watch(path(ns), {}, (type, obj: { metadata?: { name?: string } }) => seen.push(`${type} ${obj.metadata?.name}`), () => {});
    stops.push(() => request.abort());

    const claim = inNamespace(loadExample(name), ns);
    const created = await create(claim);
    expect(created.metadata.uid).toBeTruthy();
    const read = (await objects().getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: ns, name: claim.metadata.name })) as AwsWorkloadIdentityClaim;
    expect(read.spec).toEqual(claim.spec);

    for (let i = 0; i < 200 && !seen.includes(`ADDED ${claim.metadata.name}`); i++) await sleep(50);
    expect(seen).toContain(`ADDED ${claim.metadata.name}`);
  });

  it('account-not-allowed.yaml is accepted: that rule is a guardrail of the compiler, not of the schema', async () => {
    const ns = await freshNamespace('crd');
    await expect(create(inNamespace(loadExample('account-not-allowed'), ns))).resolves.toBeTruthy();
  });

  it('status is written through the status subresource only, and prints in kubectl get', async () => {
    const ns = await freshNamespace('crd');
    const created = await create(inNamespace(loadExample('checkout-api-s3-read'), ns));
    const status = {
      observedGeneration: 1,
      mechanism: 'PodIdentity',
      roleArn: 'arn:aws:iam::111122223333:role/awi/example',
      policyDigest: `sha256:${'0'.repeat(64)}`,
      trustPolicyDigest: `sha256:${'1'.repeat(64)}`,
      associationId: 'a-0123456789abcdef0',
      lastSyncTime: '2025-01-01T00:00:00Z',
      lastDriftCheckTime: '2025-01-01T00:05:00Z',
      conditions: [{ type: 'Ready', status: 'True', observedGeneration: 1, lastTransitionTime: '2025-01-01T00:00:00Z', reason: 'Reconciled', message: 'The role is ready.' }],
    };
    const base = { group: GROUP, version: VERSION, plural: PLURAL, namespace: ns, name: created.metadata.name };
    // Through the main resource, status is ignored...
    await objects().replaceNamespacedCustomObject({ ...base, body: { ...created, status } });
    const afterMain = (await objects().getNamespacedCustomObject(base)) as AwsWorkloadIdentityClaim;
    expect(afterMain.status).toBeUndefined();
    // ...through /status it is stored.
    await objects().replaceNamespacedCustomObjectStatus({ ...base, body: { ...afterMain, status } });
    const afterStatus = (await objects().getNamespacedCustomObject(base)) as AwsWorkloadIdentityClaim;
    expect(afterStatus.status).toEqual(status);

    const table = await getTable(path(ns));
    const columns = table.columnDefinitions.map((c) => c.name);
    expect(columns).toEqual(expect.arrayContaining(['Name', 'ServiceAccount', 'Mechanism', 'Role', 'Ready', 'Age']));
    const row = Object.fromEntries(columns.map((c, i) => [c, table.rows[0]!.cells[i]]));
    expect(row).toMatchObject({ ServiceAccount: 'checkout-api-aws-sa', Mechanism: 'PodIdentity', Role: status.roleArn, Ready: 'True' });
  });

  it('refuses a condition with an invalid status', async () => {
    const ns = await freshNamespace('crd');
    const created = await create(inNamespace(loadExample('checkout-api-s3-read'), ns));
    const base = { group: GROUP, version: VERSION, plural: PLURAL, namespace: ns, name: created.metadata.name };
    const bad = { conditions: [{ type: 'Ready', status: 'Maybe', lastTransitionTime: '2025-01-01T00:00:00Z', reason: 'X', message: '' }] };
    await expect(objects().replaceNamespacedCustomObjectStatus({ ...base, body: { ...created, status: bad } })).rejects.toMatchObject({ code: 422 });
  });
});

describe('invalid claims are refused by the API server, naming the field', () => {
  it('default-service-account.yaml: the ServiceAccount "default" is never bound', async () => {
    const { code, message } = await refusal(inNamespace(loadExample('default-service-account'), await freshNamespace('crd')));
    expect(code).toBe(422);
    expect(message).toContain('spec.serviceAccountName');
    expect(message).toContain('(rule: sa-not-default)');
  });

  it('wildcard-bucket.yaml: a bucket name must be a concrete bucket, not a pattern', async () => {
    const { code, message } = await refusal(inNamespace(loadExample('wildcard-bucket'), await freshNamespace('crd')));
    expect(code).toBe(422);
    expect(message).toContain('spec.permissions.s3[0].bucket');
    expect(message).toContain('(rule: bucket-not-pattern)');
  });

  it('unknown-access.yaml: "admin" is not a valid access level for SQS', async () => {
    const { code, message } = await refusal(inNamespace(loadExample('unknown-access'), await freshNamespace('crd')));
    expect(code).toBe(422);
    expect(message).toContain('spec.permissions.sqs[0].access[0]');
    expect(message).toContain('Unsupported value: "admin"');
  });

  it('an unknown field is refused with strict field validation (as kubectl apply does)', async () => {
    const claim = claimWith((c) => ((c.spec.permissions.s3![0] as unknown as Record<string, unknown>).acess = ['read']));
    const { message } = await refusal(inNamespace(claim, await freshNamespace('crd')));
    expect(message).toContain('unknown field "spec.permissions.s3[0].acess"');
  });

  it.each(CEL_CASES.map((c) => [c.rule, c] as const))('CEL rule %s refuses what its TypeScript twin refuses', async (rule, c) => {
    const { code, message } = await refusal(inNamespace(c.claim, await freshNamespace('crd')));
    expect(code).toBe(422);
    expect(message).toContain(`(rule: ${rule})`);
    if (!c.field.startsWith('metadata.')) expect(message).toContain(c.field);
  });
});
