// awi inventory on the test bed: two claims made Ready by a real controller,
// a role someone made by hand with awi's tags and no claim, drift on one
// binding. The inventory lists the claims, flags the drift, and reports the
// hand-made role as an orphan. AWI_PRINT=1 prints the table (for the README).
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { DeletePodIdentityAssociationCommand, EKSClient } from '@aws-sdk/client-eks';
import YAML from 'yaml';
import { runInventory } from '../../src/cli/inventory.js';
import { buildProgram } from '../../src/cli/program.js';
import type { Inventory } from '../../src/inventory/index.js';
import { captureIo } from '../fixtures/io.js';
import { createClaim, startControllerEnv, testPlatformConfigDocument, waitForReady, type ControllerEnv } from '../harness/controller-env.js';
import { awsClientConfig, awsFake, freshNamespace, kubeConfig, testbed } from '../harness/testbed.js';

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

  it('--aws: both claims check out against AWS, and the hand-made role is an orphan', async () => {
    const { lines } = await inventory({ aws: true });
    const inv = JSON.parse(lines.join('\n')) as Inventory;
    const mine = inv.claims.filter((r) => r.namespace === ns);
    expect(mine.map((r) => [r.name, r.aws])).toEqual([
      ['billing-worker', { role: 'ok', tags: 'ok', binding: 'ok', ok: true }],
      ['reports-reader', { role: 'ok', tags: 'ok', binding: 'ok', ok: true }],
    ]);
    expect(inv.orphans).toEqual([{
      accountId: testbed().accountId, roleArn: orphanArn, namespace: ns, claim: 'old-exporter', owner: 'finance', environment: 'prod',
      created: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), status: 'no claim',
    }]);
  });

  it('--aws flags a binding removed behind the controller\'s back', async () => {
    const association = (await awsFake().associations()).find((a) => a.namespace === ns && a.serviceAccount === 'reports-reader')!;
    await new EKSClient(awsClientConfig()).send(new DeletePodIdentityAssociationCommand({ clusterName: testbed().clusterName, associationId: association.associationId }));
    const inv = JSON.parse((await inventory({ aws: true, namespace: ns })).lines.join('\n')) as Inventory;
    expect(inv.claims.find((r) => r.name === 'reports-reader')!.aws).toEqual({ role: 'ok', tags: 'ok', binding: 'missing', ok: false });
    // Put it back the way the controller would (a resync), for the table below.
    env.controller.queue.add(`${ns}/reports-reader`);
    await env.controller.queue.idle();
    await waitForReady(ns, 'reports-reader'); // after IAMPropagating
    const again = JSON.parse((await inventory({ aws: true, namespace: ns })).lines.join('\n')) as Inventory;
    expect(again.claims.every((r) => r.aws!.ok)).toBe(true);
  });

  it('the command line: a table with the AWS columns and the orphan section; CSV with the orphan row', async () => {
    const io = captureIo();
    await buildProgram(io).parseAsync(['node', 'awi', 'inventory', '--config', configFile, '--kubeconfig', testbed().kubeconfig, '-n', ns, '--aws']);
    expect(io.stderr).toEqual([]);
    const table = io.stdout;
    expect(table[0]).toMatch(/^CLUSTER\s+NAMESPACE\s+NAME\s+SERVICEACCOUNT\s+MECHANISM\s+ROLE\s+OWNER\s+ENVIRONMENT\s+READY\s+REASON\s+LAST-CHANGE\s+AWS-ROLE\s+AWS-TAGS\s+AWS-BINDING$/);
    expect(table.slice(1, 3).map((l) => l.split(/\s{3,}/))).toEqual([
      [testbed().clusterName, ns, 'billing-worker', 'billing-worker', 'IRSA', expect.stringContaining(':role/awi/'), 'billing', 'prod', 'True', 'Reconciled', expect.any(String), 'ok', 'ok', 'ok'],
      [testbed().clusterName, ns, 'reports-reader', 'reports-reader', 'PodIdentity', expect.stringContaining(':role/awi/'), 'analytics', 'prod', 'True', 'Reconciled', expect.any(String), 'ok', 'ok', 'ok'],
    ]);
    expect(table[4]).toBe(`Roles tagged awi.dev/managed-by=awi for cluster ${testbed().clusterName} that no claim accounts for:`);
    expect(table[6]).toContain(orphanArn);
    expect(table).toHaveLength(7);
    if (process.env.AWI_PRINT) process.stdout.write(`\n$ awi inventory --config platform-config.yaml -n ${ns} --aws\n${table.join('\n')}\n\n`);

    const csv = (await inventory({ aws: true, namespace: ns, output: 'csv' })).lines;
    expect(csv).toHaveLength(4);
    expect(csv[3]).toBe(`orphan-role,${testbed().clusterName},${ns},old-exporter,,,${orphanArn},finance,prod,,,,no claim,,`);
  });

  it('a config that cannot be read is a usage error, before any cluster call', async () => {
    const io = captureIo();
    expect(await runInventory({ config: '/nonexistent/config.yaml' }, io)).toBe(2);
    expect(io.stderr.join('\n')).toContain('/nonexistent/config.yaml');
  });
});
