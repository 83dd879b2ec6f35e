// awi inventory on the test bed: two claims made Ready by a real controller,
// a role someone made by hand with awi's tags and no claim, drift behind the
// controller's back (binding deleted; inline policy rewritten to sqs:* on *;
// the association's targetRoleArn edited; the IAM OIDC provider deleted) and
// bindings made by hand (an annotated ServiceAccount, an untagged
// association). The inventory lists the claims, flags each drift by content,
// and reports the hand-made role as an orphan and the hand-made bindings as
// outside awi. AWI_PRINT=1 prints the table (for the README).
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api } from '@kubernetes/client-node';
import {
  CreateOpenIDConnectProviderCommand,
  CreateRoleCommand,
  DeleteOpenIDConnectProviderCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListRolePoliciesCommand,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { CreatePodIdentityAssociationCommand, DeletePodIdentityAssociationCommand, EKSClient, UpdatePodIdentityAssociationCommand } from '@aws-sdk/client-eks';
import YAML from 'yaml';
import { runInventory } from '../../src/cli/inventory.js';
import { buildFullProgram } from '../../src/cli/program.js';
import type { Inventory } from '../../src/inventory/index.js';
import { captureIo } from '../fixtures/io.js';
import { createClaim, startControllerEnv, testPlatformConfigDocument, waitForReady, type ControllerEnv } from '../harness/controller-env.js';
import { awsClientConfig, awsFake, freshNamespace, kubeConfig, testbed } from '../../testbed/harness/testbed.js';

const iam = () => new IAMClient(awsClientConfig());

const spec = (sa: string, mechanism: 'IRSA' | 'PodIdentity', owner: string) => ({
  serviceAccountName: sa,
  owner,
  environment: 'prod',
  mechanism,
  aws: { accountId: testbed().accountId, region: testbed().region },
  permissions: { s3: [{ bucket: 'company-prod-data', prefix: `${sa}/`, access: ['read'] }] },
});

let env: ControllerEnv;
let ns: string;
let orphanArn: string;
let configFile: string;

beforeAll(async () => {
  env = await startControllerEnv();
  const tb = testbed();
  ns = await freshNamespace('it-inv');
  await createClaim(ns, 'reports-reader', spec('reports-reader', 'PodIdentity', 'analytics'));
  await createClaim(ns, 'billing-worker', spec('billing-worker', 'IRSA', 'billing'));
  await waitForReady(ns, 'reports-reader');
  await waitForReady(ns, 'billing-worker');
  await env.controller.queue.idle();

  // Left behind by hand: awi's tags, this cluster and namespace, no claim.
  const trust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'pods.eks.amazonaws.com' }, Action: ['sts:AssumeRole', 'sts:TagSession'] }] });
  const tags = (cluster: string) => [
    { Key: 'awi.dev/managed-by', Value: 'awi' }, { Key: 'awi.dev/cluster', Value: cluster }, { Key: 'awi.dev/namespace', Value: ns },
    { Key: 'awi.dev/claim', Value: 'old-exporter' }, { Key: 'awi.dev/owner', Value: 'finance' }, { Key: 'awi.dev/environment', Value: 'prod' },
  ];
  orphanArn = (await iam().send(new CreateRoleCommand({ RoleName: `${tb.clusterName}-${ns}-old-exporter`, Path: '/awi/', AssumeRolePolicyDocument: trust, Tags: tags(`arn:aws:eks:${tb.region}:${tb.accountId}:cluster/${tb.clusterName}`) }))).Role!.Arn!;
  // Not orphans of this cluster: another cluster's role, and a role without awi's tags.
  await iam().send(new CreateRoleCommand({ RoleName: `other-cluster-${ns}-x`, Path: '/awi/', AssumeRolePolicyDocument: trust, Tags: tags('other-cluster') }));
  await iam().send(new CreateRoleCommand({ RoleName: `${tb.clusterName}-${ns}-hand-made`, Path: '/awi/', AssumeRolePolicyDocument: trust }));

  configFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'awi-inv-')), 'config.yaml');
  writeFileSync(configFile, YAML.stringify(testPlatformConfigDocument()));
}, 60_000);

afterAll(async () => {
  await env?.stop();
});

async function inventory(args: { aws?: boolean; output?: 'json' | 'csv' | 'table'; namespace?: string } = {}): Promise<{ code: number; lines: string[]; errors: string[] }> {
  const io = captureIo();
  const code = await runInventory({ config: env.config, output: args.output ?? 'json', ...args }, io, { kubeConfig: kubeConfig() });
  return { code, lines: io.stdout, errors: io.stderr };
}

describe('awi inventory', () => {
  it('lists the claims with their role, owner and readiness', async () => {
    const { code, lines } = await inventory({ namespace: ns });
    expect(code).toBe(0);
    const inv = JSON.parse(lines.join('\n')) as Inventory;
    expect(inv.orphans).toBeUndefined();
    expect(inv.claims.map((r) => [r.cluster, r.namespace, r.name, r.serviceAccount, r.mechanism, r.owner, r.environment, r.ready, r.reason])).toEqual([
      [testbed().clusterName, ns, 'billing-worker', 'billing-worker', 'IRSA', 'billing', 'prod', 'True', 'Reconciled'],
      [testbed().clusterName, ns, 'reports-reader', 'reports-reader', 'PodIdentity', 'analytics', 'prod', 'True', 'Reconciled'],
    ]);
    for (const r of inv.claims) {
      expect(r.roleArn).toBe(`arn:aws:iam::${testbed().accountId}:role/awi/${testbed().clusterName}-${ns}-${r.serviceAccount}`);
      expect(Date.parse(r.lastChange)).toBeGreaterThan(Date.now() - 120_000);
    }
  });

  it('--aws: both claims check out against AWS by content, and the hand-made role is an orphan', async () => {
    const { lines } = await inventory({ aws: true });
    const inv = JSON.parse(lines.join('\n')) as Inventory;
    const mine = inv.claims.filter((r) => r.namespace === ns);
    const verifiedOrNone = expect.stringMatching(/^(True|-)$/); // CredentialsVerified, when the controller records it
    expect(mine.map((r) => [r.name, r.aws])).toEqual([
      ['billing-worker', { role: 'ok', tags: 'ok', policy: 'ok', trust: 'ok', binding: 'ok', provider: 'ok', verified: verifiedOrNone, ok: true, digests: expect.any(Object) }],
      ['reports-reader', { role: 'ok', tags: 'ok', policy: 'ok', trust: 'ok', binding: 'ok', provider: '-', verified: verifiedOrNone, ok: true, digests: expect.any(Object) }],
    ]);
    for (const r of mine) {
      expect(r.aws!.digests!.policy!.live).toBe(r.aws!.digests!.policy!.desired);
      expect(r.aws!.digests!.trust!.live).toBe(r.aws!.digests!.trust!.desired);
    }
    expect(inv.bindings!.filter((b) => b.namespace === ns)).toEqual([]);
    expect(inv.orphans).toEqual([{
      accountId: testbed().accountId, roleArn: orphanArn, namespace: ns, claim: 'old-exporter', owner: 'finance', environment: 'prod',
      created: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), status: 'no claim',
    }]);
  });

  it('--aws flags a binding removed behind the controller\'s back', async () => {
    const association = (await awsFake().associations()).find((a) => a.namespace === ns && a.serviceAccount === 'reports-reader')!;
    await new EKSClient(awsClientConfig()).send(new DeletePodIdentityAssociationCommand({ clusterName: testbed().clusterName, associationId: association.associationId }));
    const inv = JSON.parse((await inventory({ aws: true, namespace: ns })).lines.join('\n')) as Inventory;
    expect(inv.claims.find((r) => r.name === 'reports-reader')!.aws).toMatchObject({ role: 'ok', tags: 'ok', policy: 'ok', trust: 'ok', binding: 'missing', ok: false });
    // Put it back the way the controller would (a resync), for the table below.
    env.controller.queue.add(`${ns}/reports-reader`);
    await env.controller.queue.idle();
    await waitForReady(ns, 'reports-reader'); // after IAMPropagating
    const again = JSON.parse((await inventory({ aws: true, namespace: ns })).lines.join('\n')) as Inventory;
    expect(again.claims.every((r) => r.aws!.ok)).toBe(true);
  });

  it('--aws flags content drift: policy rewritten to sqs:* on *, targetRoleArn edited, OIDC provider deleted; and bindings made by hand', async () => {
    const tb = testbed();
    const eks = new EKSClient(awsClientConfig());
    const reader = (await inventory({ aws: true, namespace: ns })).lines;
    const before = JSON.parse(reader.join('\n')) as Inventory;
    const readerRow = before.claims.find((r) => r.name === 'reports-reader')!;
    const roleName = readerRow.roleArn.split('/').pop()!;
    const [policyName] = (await iam().send(new ListRolePoliciesCommand({ RoleName: roleName }))).PolicyNames!;
    const original = (await iam().send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: policyName! }))).PolicyDocument!;
    const association = (await awsFake().associations()).find((a) => a.namespace === ns && a.serviceAccount === 'reports-reader')!;
    const providerArn = `arn:aws:iam::${tb.accountId}:oidc-provider/${tb.issuer.replace(/^https:\/\//, '')}`;
    const broad = `arn:aws:iam::${tb.accountId}:role/broad-${ns}`;

    // The drifts, behind the controller's back.
    await iam().send(new PutRolePolicyCommand({ RoleName: roleName, PolicyName: policyName!, PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sqs:*', Resource: '*' }] }) }));
    await eks.send(new UpdatePodIdentityAssociationCommand({ clusterName: tb.clusterName, associationId: association.associationId, targetRoleArn: broad }));
    await iam().send(new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: providerArn }));
    // Bindings by hand: a ServiceAccount annotated with a role, an association without awi's tags.
    await kubeConfig().makeApiClient(CoreV1Api).createNamespacedServiceAccount({
      namespace: ns,
      body: { metadata: { name: 'hand-annotated', annotations: { 'eks.amazonaws.com/role-arn': broad } } },
    });
    const foreign = await eks.send(new CreatePodIdentityAssociationCommand({ clusterName: tb.clusterName, namespace: ns, serviceAccount: 'hand-bound', roleArn: broad }));

    try {
      const inv = JSON.parse((await inventory({ aws: true, namespace: ns })).lines.join('\n')) as Inventory;
      const reports = inv.claims.find((r) => r.name === 'reports-reader')!.aws!;
      const billing = inv.claims.find((r) => r.name === 'billing-worker')!.aws!;
      expect(reports).toMatchObject({ role: 'ok', tags: 'ok', policy: 'differs', trust: 'ok', binding: `differs: targetRoleArn=${broad}`, ok: false });
      expect(reports.digests!.policy!.live).not.toBe(reports.digests!.policy!.desired);
      expect(billing).toMatchObject({ policy: 'ok', binding: 'ok', provider: `missing: ${providerArn}`, ok: false });
      expect(inv.bindings!.map((b) => [b.kind, b.serviceAccount, b.roleArn, b.associationId ?? '-'])).toEqual([
        ['foreign ServiceAccount', 'hand-annotated', broad, '-'],
        ['foreign association', 'hand-bound', broad, foreign.association!.associationId],
      ]);
    } finally {
      // Put AWS back as awi made it (the hand-made bindings stay, for the table below).
      await iam().send(new PutRolePolicyCommand({ RoleName: roleName, PolicyName: policyName!, PolicyDocument: decodeURIComponent(original) }));
      await eks.send(new UpdatePodIdentityAssociationCommand({ clusterName: tb.clusterName, associationId: association.associationId, targetRoleArn: '' }));
      await iam().send(new CreateOpenIDConnectProviderCommand({ Url: tb.issuer, ClientIDList: ['sts.amazonaws.com'], ThumbprintList: ['0'.repeat(40)] }));
    }
    const after = JSON.parse((await inventory({ aws: true, namespace: ns })).lines.join('\n')) as Inventory;
    expect(after.claims.map((r) => [r.name, r.aws!.ok])).toEqual([['billing-worker', true], ['reports-reader', true]]);
  });

  it('the command line: a table with the audit columns, the orphan and binding sections; CSV with the orphan and binding rows', async () => {
    const io = captureIo();
    await (await buildFullProgram(io)).parseAsync(['node', 'awi', 'inventory', '--config', configFile, '--kubeconfig', testbed().kubeconfig, '-n', ns, '--aws']);
    expect(io.stderr).toEqual([]);
    const table = io.stdout;
    expect(table[0]).toMatch(/^CLUSTER\s+NAMESPACE\s+NAME\s+SERVICEACCOUNT\s+MECHANISM\s+ROLE\s+OWNER\s+ENVIRONMENT\s+READY\s+REASON\s+LAST-CHANGE\s+AWS-ROLE\s+AWS-TAGS\s+AWS-POLICY\s+AWS-TRUST\s+AWS-BINDING\s+AWS-PROVIDER\s+VERIFIED$/);
    const verified = expect.stringMatching(/^(True|-)$/);
    expect(table.slice(1, 3).map((l) => l.split(/\s{3,}/))).toEqual([
      [testbed().clusterName, ns, 'billing-worker', 'billing-worker', 'IRSA', expect.stringContaining(':role/awi/'), 'billing', 'prod', 'True', 'Reconciled', expect.any(String), 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', verified],
      [testbed().clusterName, ns, 'reports-reader', 'reports-reader', 'PodIdentity', expect.stringContaining(':role/awi/'), 'analytics', 'prod', 'True', 'Reconciled', expect.any(String), 'ok', 'ok', 'ok', 'ok', 'ok', '-', verified],
    ]);
    expect(table[4]).toBe(`Roles tagged awi.dev/managed-by=awi for cluster ${testbed().clusterName} that no claim accounts for:`);
    expect(table[6]).toContain(orphanArn);
    expect(table[8]).toBe(`Bindings in cluster ${testbed().clusterName} that no claim accounts for (made outside awi, or awi's without their claim):`);
    expect(table[10]).toMatch(/^foreign ServiceAccount\s+/);
    expect(table[11]).toMatch(/^foreign association\s+/);
    expect(table).toHaveLength(12);
    if (process.env.AWI_PRINT) process.stdout.write(`\n$ awi inventory --config platform-config.yaml -n ${ns} --aws\n${table.join('\n')}\n\n`);

    const csv = (await inventory({ aws: true, namespace: ns, output: 'csv' })).lines;
    expect(csv).toHaveLength(6);
    expect(csv[3]).toBe(`orphan-role,${testbed().clusterName},${ns},old-exporter,,,${orphanArn},finance,prod,,,,no claim,,,,,,`);
    expect(csv[4]).toMatch(new RegExp(`^binding,${testbed().clusterName},${ns},,hand-annotated,,arn:aws:iam::\\d{12}:role/broad-${ns},,,,foreign ServiceAccount,`));
  });

  it('a config that cannot be read is a usage error, before any cluster call', async () => {
    const io = captureIo();
    expect(await runInventory({ config: '/nonexistent/config.yaml' }, io)).toBe(2);
    expect(io.stderr.join('\n')).toContain('/nonexistent/config.yaml');
  });
});
