// Two `awi controller` processes against the test bed: only the lease holder
// reconciles, and killing it (SIGKILL: no release) hands over within the
// lease duration; claims keep converging.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoordinationV1Api } from '@kubernetes/client-node';
import YAML from 'yaml';
import { createClaim, installCrd, platformPrerequisites, removeAllClaims, testPlatformConfigDocument, waitForReady } from '../harness/controller-env.js';
import { projectRoot } from '../../testbed/harness/paths.js';
import { awsFake, freshNamespace, kubeConfig, testbed } from '../../testbed/harness/testbed.js';

interface Replica { child: ChildProcess; output: string[] }

function startReplica(configFile: string, leaseNamespace: string): Replica {
  const child = spawn(process.execPath, [
    path.join(projectRoot, 'dist', 'src', 'cli', 'main.js'), 'controller',
    '--config', configFile, '--kubeconfig', testbed().kubeconfig,
    '--probe-port', '0', '--lease-namespace', leaseNamespace, '--log-level', 'info',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  const replica: Replica = { child, output: [] };
  const collect = (b: Buffer) => replica.output.push(...b.toString().split('\n').filter(Boolean));
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  return replica;
}

const said = (r: Replica, msg: string): boolean => r.output.some((l) => l.includes(`"msg":"${msg}"`));

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(200);
  }
  throw new Error(`timed out waiting for: ${what}`);
}

describe('leader election', () => {
  const replicas: Replica[] = [];
  let leaseNamespace: string;
  let configFile: string;

  beforeAll(async () => {
    await awsFake().reset();
    await removeAllClaims(); // a fresh world: no claims left by earlier files
    await installCrd();
    await platformPrerequisites();
    leaseNamespace = await freshNamespace('it-lease');
    configFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'awi-le-')), 'config.yaml');
    writeFileSync(configFile, YAML.stringify(testPlatformConfigDocument()));
  });
  afterAll(async () => {
    for (const r of replicas) if (r.child.exitCode === null) r.child.kill('SIGKILL');
  });

  it('only the leader reconciles; killing it hands over and claims still converge', async () => {
    replicas.push(startReplica(configFile, leaseNamespace), startReplica(configFile, leaseNamespace));
    await until('one replica to become leader', () => replicas.some((r) => said(r, 'became leader')), 30_000);
    const leader = replicas.find((r) => said(r, 'became leader'))!;
    const standby = replicas.find((r) => r !== leader)!;

    const ns = await freshNamespace('it-le');
    await createClaim(ns, 'first', {
      serviceAccountName: 'first-sa', owner: 'team-a', environment: 'prod', mechanism: 'PodIdentity',
      aws: { accountId: testbed().accountId, region: testbed().region },
      permissions: { s3: [{ bucket: 'company-prod-data', prefix: 'a/', access: ['read'] }] },
    });
    await waitForReady(ns, 'first', 60_000);
    expect(said(leader, 'applied')).toBe(true);
    expect(said(standby, 'applied')).toBe(false);
    expect(said(standby, 'became leader')).toBe(false);

    const lease = await kubeConfig().makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: leaseNamespace, name: 'awi-controller' });
    const killedAt = Date.now();
    leader.child.kill('SIGKILL');
    const leaseSeconds = lease.spec!.leaseDurationSeconds!;
    // Handover: the lease expires (its duration) and the standby's next retry takes it.
    await until('the standby to take over', () => said(standby, 'became leader'), (leaseSeconds + 10) * 1000);
    console.log(`leader killed; standby took over after ${((Date.now() - killedAt) / 1000).toFixed(1)} s (lease duration ${leaseSeconds} s)`);

    await createClaim(ns, 'second', {
      serviceAccountName: 'second-sa', owner: 'team-a', environment: 'prod', mechanism: 'IRSA',
      aws: { accountId: testbed().accountId, region: testbed().region },
      permissions: { sqs: [{ queue: 'orders', access: ['send'] }] },
    });
    await waitForReady(ns, 'second', 60_000);
    const after = await kubeConfig().makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: leaseNamespace, name: 'awi-controller' });
    expect(after.spec!.holderIdentity).not.toBe(lease.spec!.holderIdentity);
    expect(after.spec!.leaseTransitions).toBe((lease.spec!.leaseTransitions ?? 0) + 1);
  }, 120_000);
});
