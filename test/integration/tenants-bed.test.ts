// Two tenants on the test bed with the SHIPPED deploy/platform-config.yaml
// (pointed at the bed's cluster and issuer; tenant B is granted its KMS key
// through sharedResources, the way the shipped config documents): each
// namespace's own claims go Ready and their pods' tokens exchange for
// credentials, through IRSA (STS AssumeRoleWithWebIdentity) and Pod Identity
// (EKS Auth); tenant A's claims naming tenant B's folder, secret prefix,
// parameters, queue, topic, table, key or role are refused, with zero AWS
// writes. And owner/environment pinned to a namespace label
// (fromNamespaceLabel): the controller reads the label.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api } from '@kubernetes/client-node';
import { AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { parsePlatformConfig } from '../../src/config/index.js';
import { GROUP, PLURAL, VERSION } from '../../src/kube/claims.js';
import { assumeRoleForPodIdentity } from '../../testbed/awsfake/client.js';
import {
  claimsApi, createClaim, readyCondition, startControllerEnv, waitForClaim, waitForReady, writeCalls, type ControllerEnv,
} from '../harness/controller-env.js';
import { shippedConfigDocument } from '../harness/shipped-config.js';
import { awsClientConfig, awsFake, kubeConfig, testbed } from '../../testbed/harness/testbed.js';

const core = () => kubeConfig().makeApiClient(CoreV1Api);
const sts = () => new STSClient(awsClientConfig());
const run = randomBytes(3).toString('hex');
// Names the shipped guardrail governs (*-prod); unique per run (namespaces outlive a run on the bed).
const A = `team-a-${run}-prod`;
const B = `team-b-${run}-prod`;
const LABELLED = `labelled-${run}`;
const { accountId: ACCOUNT, region: REGION } = testbed();
const B_KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/${randomUUID()}`;

function tenantConfig() {
  const raw = shippedConfigDocument();
  // Keys carry no name: the shipped config's comment shows granting one to a namespace this way.
  raw.guardrails[0].sharedResources = [{ namespaces: [B], resourcePatterns: [B_KEY] }];
  // Not a *-prod namespace, so the shipped guardrail's reach is unchanged: environment taken from a namespace label.
  raw.guardrails.push({
    namespaces: ['labelled-*'],
    allowedAccounts: [ACCOUNT],
    allowedResourcePatterns: raw.guardrails[0].allowedResourcePatterns,
    environment: { fromNamespaceLabel: 'awi.dev/environment' },
  });
  return parsePlatformConfig(raw, 'shipped config on the test bed');
}

/** What a tenant owns under the shipped patterns: its folder, secrets, parameters, queue, topic and table. */
const own = (ns: string) => ({
  s3: [{ bucket: 'company-prod-data', prefix: `${ns}/`, access: ['read', 'write'] }],
  secretsManager: [{ namePrefix: `${ns}/`, access: ['read'] }],
  ssmParameters: [{ path: `/${ns}`, access: ['read'] }],
  sqs: [{ queue: `${ns}_jobs`, access: ['send', 'consume'] }],
  sns: [{ topic: `${ns}_events`, access: ['publish'] }],
  dynamodb: [{ table: `${ns}_orders`, access: ['read'] }],
});

const spec = (sa: string, mechanism: 'IRSA' | 'PodIdentity', permissions: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  serviceAccountName: sa, owner: 'team', environment: 'prod', mechanism, aws: { accountId: ACCOUNT, region: REGION }, permissions, ...extra,
});

async function token(namespace: string, sa: string, audience: string): Promise<string> {
  return (await core().createNamespacedServiceAccountToken({ namespace, name: sa, body: { spec: { audiences: [audience] } } })).status!.token!;
}

const ready = (ns: string, name: string) => waitForReady(ns, name, 60_000);

let env: ControllerEnv;
beforeAll(async () => {
  env = await startControllerEnv({ config: tenantConfig() });
  for (const name of [A, B]) await core().createNamespace({ body: { metadata: { name } } });
  await core().createNamespace({ body: { metadata: { name: LABELLED, labels: { 'awi.dev/environment': 'staging' } } } });
}, 120_000);

afterAll(async () => {
  // Deleting the claims removes what they made (the controller is still running).
  for (const ns of [A, B, LABELLED]) {
    const list = (await claimsApi().listNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: ns })) as { items: { metadata: { name: string } }[] };
    for (const c of list.items) await claimsApi().deleteNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: ns, name: c.metadata.name });
    for (const c of list.items) await waitForClaim(ns, c.metadata.name, (x) => x === undefined).catch(() => undefined);
  }
  await env?.stop();
}, 60_000);

describe('two tenants with the shipped config', () => {
  const roles: Record<string, string> = {};

  it("each tenant's own claims are Ready, and its pods' tokens exchange for credentials (IRSA and Pod Identity)", async () => {
    await createClaim(A, 'irsa', spec('a-irsa-sa', 'IRSA', own(A)));
    await createClaim(A, 'pod', spec('a-pod-sa', 'PodIdentity', own(A)));
    await createClaim(B, 'irsa', spec('b-irsa-sa', 'IRSA', { ...own(B), kms: [{ key: B_KEY, access: ['decrypt'] }] }));
    await createClaim(B, 'pod', spec('b-pod-sa', 'PodIdentity', { kms: [{ key: B_KEY, access: ['decrypt'] }] }));
    for (const [ns, tenant] of [[A, 'a'], [B, 'b']] as const) {
      const irsa = await ready(ns, 'irsa');
      const pod = await ready(ns, 'pod');
      roles[`${tenant}-irsa`] = irsa!.status!.roleArn!;
      roles[`${tenant}-pod`] = pod!.status!.roleArn!;

      const creds = await sts().send(new AssumeRoleWithWebIdentityCommand({
        RoleArn: roles[`${tenant}-irsa`], RoleSessionName: 'pod', WebIdentityToken: await token(ns, `${tenant}-irsa-sa`, 'sts.amazonaws.com'),
      }));
      expect(creds.Credentials?.AccessKeyId).toBeTruthy();
      expect(creds.AssumedRoleUser?.Arn).toContain(roles[`${tenant}-irsa`]!.split('/').pop());

      const podCreds = await assumeRoleForPodIdentity(testbed().awsEndpoint, testbed().clusterName, await token(ns, `${tenant}-pod-sa`, 'pods.eks.amazonaws.com'));
      expect(podCreds.credentials.accessKeyId).toBeTruthy();
      expect(podCreds.assumedRoleUser.arn).toContain(roles[`${tenant}-pod`]!.split('/').pop());
    }
    // Tenant A's pods cannot use tenant B's role directly either: B's trust names B's ServiceAccount only.
    await expect(sts().send(new AssumeRoleWithWebIdentityCommand({
      RoleArn: roles['b-irsa'], RoleSessionName: 'pod', WebIdentityToken: await token(A, 'a-irsa-sa', 'sts.amazonaws.com'),
    }))).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it("tenant A's claims naming tenant B's folder, secret prefix, parameters, queue, topic, table, key or role are refused, with zero AWS writes", async () => {
    expect(roles['b-irsa']).toBeDefined();
    const attacks: { name: string; permissions: Record<string, unknown>; field: string; rule: string }[] = [
      { name: 'b-folder', permissions: { s3: [{ bucket: 'company-prod-data', prefix: `${B}/`, access: ['read'] }] }, field: 'spec.permissions.s3[0]', rule: 'resource-allowed' },
      { name: 'b-secrets', permissions: { secretsManager: [{ namePrefix: `${B}/`, access: ['read'] }] }, field: 'spec.permissions.secretsManager[0]', rule: 'resource-allowed' },
      { name: 'b-parameters', permissions: { ssmParameters: [{ path: `/${B}`, access: ['read'] }] }, field: 'spec.permissions.ssmParameters[0]', rule: 'resource-allowed' },
      { name: 'b-queue', permissions: { sqs: [{ queue: `${B}_jobs`, access: ['consume'] }] }, field: 'spec.permissions.sqs[0]', rule: 'resource-allowed' },
      { name: 'b-topic', permissions: { sns: [{ topic: `${B}_events`, access: ['publish'] }] }, field: 'spec.permissions.sns[0]', rule: 'resource-allowed' },
      { name: 'b-table', permissions: { dynamodb: [{ table: `${B}_orders`, access: ['write'] }] }, field: 'spec.permissions.dynamodb[0]', rule: 'resource-allowed' },
      { name: 'b-key', permissions: { kms: [{ key: B_KEY, access: ['decrypt'] }] }, field: 'spec.permissions.kms[0]', rule: 'resource-allowed' },
      { name: 'b-role', permissions: { assumeRoles: [{ roleArn: roles['b-irsa'] }] }, field: 'spec.permissions.assumeRoles[0].roleArn', rule: 'assume-role-allowed' },
      { name: 'b-pod-role', permissions: { assumeRoles: [{ roleArn: roles['b-pod'] }] }, field: 'spec.permissions.assumeRoles[0].roleArn', rule: 'assume-role-allowed' },
    ];
    await env.controller.queue.idle();
    await awsFake().resetCalls();
    for (const a of attacks) await createClaim(A, a.name, spec(`${a.name}-sa`, 'IRSA', a.permissions));
    for (const a of attacks) {
      const claim = await waitForClaim(A, a.name, (c) => readyCondition(c)?.status === 'False' && c?.status?.observedGeneration === c?.metadata.generation);
      const condition = readyCondition(claim)!;
      expect([a.name, condition.reason]).toEqual([a.name, 'GuardrailViolation']);
      expect([a.name, condition.message.includes(a.field) && condition.message.includes(a.rule)]).toEqual([a.name, true]);
      expect(claim!.status!.roleArn).toBeUndefined();
    }
    await env.controller.queue.idle();
    expect(writeCalls(await awsFake().calls())).toEqual({});
    // None of them got a ServiceAccount: nothing for a pod to use.
    const sas = (await core().listNamespacedServiceAccount({ namespace: A })).items.map((s) => s.metadata!.name!).sort();
    expect(sas.filter((n) => n.startsWith('b-'))).toEqual([]);
  });
});

describe('environment pinned to a namespace label (fromNamespaceLabel)', () => {
  it('a claim whose environment disagrees with the label is refused naming the rule; one that agrees is Ready', async () => {
    await createClaim(LABELLED, 'disagrees', spec('disagrees-sa', 'PodIdentity', { sqs: [{ queue: `${LABELLED}_jobs`, access: ['send'] }] }, { environment: 'prod' }));
    await createClaim(LABELLED, 'agrees', spec('agrees-sa', 'PodIdentity', { sqs: [{ queue: `${LABELLED}_jobs`, access: ['send'] }] }, { environment: 'staging' }));
    const refused = await waitForClaim(LABELLED, 'disagrees', (c) => readyCondition(c)?.status === 'False' && c?.status?.observedGeneration === c?.metadata.generation);
    expect(readyCondition(refused)).toMatchObject({ reason: 'GuardrailViolation' });
    expect(readyCondition(refused)!.message).toContain('spec.environment: environment-pinned: environment must be "staging" (label awi.dev/environment');
    const agreed = await ready(LABELLED, 'agrees');
    expect(agreed!.status!.roleArn).toContain(LABELLED);
  });
});
