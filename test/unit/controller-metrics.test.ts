import { describe, expect, it } from '@jest/globals';
import { ControllerMetrics } from '../../src/controller/metrics.js';

async function claimsGauge(m: ControllerMetrics): Promise<Record<string, number>> {
  const metric = await m.claims.get();
  return Object.fromEntries(metric.values.map((v) => [String(v.labels.ready), v.value]));
}

describe('ControllerMetrics: awi_claims', () => {
  it('counts claims by their latest Ready status and forgets a claim that is gone', async () => {
    const m = new ControllerMetrics();
    expect(await claimsGauge(m)).toEqual({ True: 0, False: 0, Unknown: 0 });
    m.setClaimReady('team/a', 'False');
    m.setClaimReady('team/b', 'False');
    m.setClaimReady('team/a', 'True');
    m.setClaimReady('team/a', 'True'); // a resync of a Ready claim changes nothing
    expect(await claimsGauge(m)).toEqual({ True: 1, False: 1, Unknown: 0 });
    m.setClaimReady('team/a', undefined);
    m.setClaimReady('team/b', undefined);
    m.setClaimReady('team/never-seen', undefined);
    expect(await claimsGauge(m)).toEqual({ True: 0, False: 0, Unknown: 0 });
    expect(m.claimsTracked).toBe(0);
  });
});
