// /healthz, /readyz and /metrics of a running controller on the test bed.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { runController, type RunningController } from '../../src/controller/run.js';
import { createClaim, installCrd, platformPrerequisites, removeAllClaims, testPlatformConfig, waitForReady } from '../harness/controller-env.js';
import { awsFake, freshNamespace, kubeConfig, testbed } from '../../testbed/harness/testbed.js';

let running: RunningController;
const url = (p: string) => `http://127.0.0.1:${running.probePort}${p}`;

beforeAll(async () => {
  await awsFake().reset();
  await removeAllClaims(); // a fresh world: no claims left by earlier files
  await installCrd();
  await platformPrerequisites();
  running = await runController({
    config: testPlatformConfig(), kubeConfig: kubeConfig(), log: pino({ level: 'silent' }),
    probePort: 0, propagationRequeueMs: 300, resyncMs: 3_600_000,
  });
});
afterAll(async () => {
  await running?.stop();
});

describe('probes and metrics', () => {
  it('is healthy, and ready once its caches have synced', async () => {
    expect((await fetch(url('/healthz'))).status).toBe(200);
    expect(running.controller.synced).toBe(true);
    expect((await fetch(url('/readyz'))).status).toBe(200);
  });

  it('counts reconciles, AWS calls by service/operation/outcome, and claims by Ready status', async () => {
    const ns = await freshNamespace('it-metrics');
    await createClaim(ns, 'm', {
      serviceAccountName: 'm-sa', owner: 'team-a', environment: 'prod', mechanism: 'PodIdentity',
      aws: { accountId: testbed().accountId, region: testbed().region },
      permissions: { s3: [{ bucket: 'company-prod-data', prefix: 'm/', access: ['read'] }] },
    });
    await waitForReady(ns, 'm');
    const text = await (await fetch(url('/metrics'))).text();
    expect(text).toMatch(/awi_aws_api_calls_total\{service="sts",operation="GetCallerIdentity",outcome="ok"\} 1/);
    expect(text).toMatch(/awi_aws_api_calls_total\{service="iam",operation="CreateRole",outcome="ok"\} [1-9]/);
    expect(text).toMatch(/awi_aws_api_calls_total\{service="eks",operation="CreatePodIdentityAssociation",outcome="ok"\} [1-9]/);
    expect(text).toMatch(/awi_reconciles_total\{result="done"\} [1-9]/);
    expect(text).toMatch(/awi_claims\{ready="True"\} [1-9]/);
    expect(text).toContain('awi_workqueue_latency_seconds_bucket');
    expect(text).toContain('awi_watch_restarts_total');
  });
});
