// The image built from the Dockerfile (testbed/scripts/containers.sh builds it with
// podman) runs `awi controller` against the test bed: it answers its probes,
// reconciles claims of both mechanisms to Ready, and does so locked down the
// way deploy/deployment.yaml runs it (its own UID, read-only root filesystem,
// only /tmp writable, no capabilities). Skips, saying why, where podman does
// not work.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api } from '@kubernetes/client-node';
import { GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { ListPodIdentityAssociationsCommand, EKSClient } from '@aws-sdk/client-eks';
import YAML from 'yaml';
import { CONTROLLER_ENTRY, CONTROLLER_NODE_FLAGS } from '../../src/cli/node-flags.js';
import { createClaim, installCrd, platformPrerequisites, removeAllClaims, testClaimSpec, testPlatformConfigDocument, waitForReady, getClaim } from '../harness/controller-env.js';
import { containerSettings, podman, type ContainerSettings } from '../../testbed/harness/podman.js';
import { projectRoot } from '../../testbed/harness/paths.js';
import { awsClientConfig, awsFake, freshNamespace, kubeConfig, testbed } from '../../testbed/harness/testbed.js';

const settings = containerSettings();
const problem = 'problem' in settings ? settings.problem : undefined;
if (problem) console.log(`SKIPPED test/integration/image.test.ts (the image built from the Dockerfile): ${problem}`);
const describeIfPodman = problem ? describe.skip : describe;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function status(url: string): Promise<number | undefined> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2000) })).status;
  } catch {
    return undefined;
  }
}

const name = `awi-image-test-${randomBytes(4).toString('hex')}`;
let s: ContainerSettings;
let probePort: number;
let leaseNamespace: string;
const probe = (p: string) => `http://127.0.0.1:${probePort}${p}`;

describeIfPodman('the awi image (Dockerfile, built with podman)', () => {
  beforeAll(async () => {
    s = settings as ContainerSettings;
    await awsFake().reset();
    await removeAllClaims();
    await installCrd();
    await platformPrerequisites();
    leaseNamespace = await freshNamespace('it-image-lease');

    // What the Deployment mounts: the config at /etc/awi, plus (outside a
    // cluster) a kubeconfig. Readable by the image's UID, which is not ours.
    const dir = path.join(testbed().runDir, name);
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o755);
    writeFileSync(path.join(dir, 'config.yaml'), YAML.stringify(testPlatformConfigDocument()), { mode: 0o644 });
    writeFileSync(path.join(dir, 'kubeconfig'), readFileSync(testbed().kubeconfig), { mode: 0o644 });

    probePort = await freePort();
    await podman(s, [
      'run', '--detach', '--name', name, '--label', `awi.dev/test-pid=${process.pid}`, // see testbed/scripts/containers.sh
      '--network=host', // the test bed listens on loopback
      '--read-only', '--tmpfs', '/tmp', '--cap-drop=ALL', '--security-opt', 'no-new-privileges',
      '--volume', `${dir}:/etc/awi:ro`,
      '--env', `AWS_ENDPOINT_URL=${testbed().awsEndpoint}`, '--env', 'AWS_ACCESS_KEY_ID=testing', '--env', 'AWS_SECRET_ACCESS_KEY=testing',
      '--env', `AWS_REGION=${testbed().region}`, '--env', `POD_NAMESPACE=${leaseNamespace}`,
      s.awiImage,
      // The Deployment's arguments, with a kubeconfig instead of the in-cluster identity.
      'controller', '--config', '/etc/awi/config.yaml', '--kubeconfig', '/etc/awi/kubeconfig',
      '--log-level', 'info', '--probe-port', String(probePort), '--lease-name', 'awi-controller',
    ]);
    // Ready means: leader, caches synced.
    for (let i = 0; (await status(probe('/readyz'))) !== 200; i++) {
      const state = (await podman(s, ['inspect', name, '--format', '{{.State.Status}}'])).trim();
      if (state !== 'running' || i > 300) {
        throw new Error(`the controller container is ${state}, not ready after ${i} tries; its log:\n${await podman(s, ['logs', name]).catch((e: Error) => e.message)}`);
      }
      await sleep(200);
    }
  }, 180_000);

  afterAll(async () => {
    if (!s) return;
    const log = await podman(s, ['logs', name]).catch((e: Error) => e.message);
    writeFileSync(path.join(testbed().runDir, `${name}.log`), log);
    await podman(s, ['rm', '--force', '--time', '10', name]).catch(() => undefined);
  }, 60_000);

  it('runs as the Dockerfile says: numeric non-root user, the controller command', async () => {
    const config = JSON.parse(await podman(s, ['image', 'inspect', s.awiImage, '--format', '{{json .Config}}'])) as { User: string; Entrypoint: string[]; Env: string[] };
    // The build's CA for npm (a build argument of the build stages) stays out of the image.
    expect(config.Env.filter((e) => e.startsWith('NODE_EXTRA_CA_CERTS='))).toEqual([]);
    expect(config.Env).toContain('NODE_ENV=production');
    const dockerfile = readFileSync(path.join(projectRoot, 'Dockerfile'), 'utf8');
    expect(config.User).toBe(/^USER\s+(\S+)/m.exec(dockerfile)![1]);
    expect(config.Entrypoint).toEqual(['node', ...CONTROLLER_NODE_FLAGS, CONTROLLER_ENTRY]);
    expect((await podman(s, ['exec', name, 'node', '-p', 'process.getuid() + " " + process.version'])).trim()).toMatch(/^65532 v24\./);
  });

  it('answers its probes and serves metrics', async () => {
    expect(await status(probe('/healthz'))).toBe(200);
    expect(await status(probe('/readyz'))).toBe(200);
    const metrics = await (await fetch(probe('/metrics'))).text();
    expect(metrics).toContain('awi_reconciles_total');
  });

  it('holds the leader Lease in its namespace', async () => {
    const lease = await kubeConfig().makeApiClient((await import('@kubernetes/client-node')).CoordinationV1Api).readNamespacedLease({ namespace: leaseNamespace, name: 'awi-controller' });
    expect(lease.spec?.holderIdentity).toBeTruthy();
  });

  it('reconciles an IRSA claim and a Pod Identity claim to Ready', async () => {
    const ns = await freshNamespace('it-image');
    await createClaim(ns, 'irsa', testClaimSpec('irsa-sa', 'IRSA'));
    await createClaim(ns, 'podid', testClaimSpec('podid-sa', 'PodIdentity'));
    await waitForReady(ns, 'irsa', 60_000);
    await waitForReady(ns, 'podid', 60_000);

    const irsaRole = (await getClaim(ns, 'irsa'))!.status!.roleArn!;
    const podIdRole = (await getClaim(ns, 'podid'))!.status!.roleArn!;
    const iam = new IAMClient(awsClientConfig());
    for (const arn of [irsaRole, podIdRole]) {
      const role = await iam.send(new GetRoleCommand({ RoleName: arn.split('/').pop()! }));
      expect(role.Role!.Arn).toBe(arn);
    }
    const sa = await kubeConfig().makeApiClient(CoreV1Api).readNamespacedServiceAccount({ namespace: ns, name: 'irsa-sa' });
    expect(sa.metadata?.annotations?.['eks.amazonaws.com/role-arn']).toBe(irsaRole);
    const associations = await new EKSClient(awsClientConfig()).send(new ListPodIdentityAssociationsCommand({ clusterName: testbed().clusterName, namespace: ns }));
    expect(associations.associations?.map((a) => a.serviceAccount)).toEqual(['podid-sa']);
  }, 150_000);

  it('read-only root filesystem: only /tmp is writable', async () => {
    await expect(podman(s, ['exec', name, 'node', '-e', 'require("fs").writeFileSync("/app/x", "")'])).rejects.toThrow(/read-only file system/);
    await podman(s, ['exec', name, 'node', '-e', 'require("fs").writeFileSync("/tmp/x", "")']);
  });
});
