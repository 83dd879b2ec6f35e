// The shared AWS call budget: token bucket arithmetic, AIMD adaptation to
// Throttling, retries owned by the budget, and its SDK middleware on a real
// client against a local HTTP endpoint.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListRolesCommand } from '@aws-sdk/client-iam';
import { AdaptiveBucket, budgetSettings, CallBudget, cutRelievedQuota, type BudgetClock, type BudgetSettings } from '../../src/aws/budget.js';
import { AwsClientFactory } from '../../src/aws/clients.js';
import { awsCallCounter, budgetMetrics, ControllerMetrics } from '../../src/controller/metrics.js';

const settings: BudgetSettings = { ratePerSecond: 10, burst: 5, minRatePerSecond: 1, maxAttempts: 4 };

/** A clock whose sleeps advance virtual time at once, recording each wait. */
function virtualClock(): BudgetClock & { t: number; sleeps: number[] } {
  const c = {
    t: 0,
    sleeps: [] as number[],
    now: () => c.t,
    sleep: async (ms: number) => { c.sleeps.push(ms); c.t += ms; },
    random: () => 1,
  };
  return c;
}

const throttling = () => Object.assign(new Error('Rate exceeded'), { name: 'Throttling' });

describe('AdaptiveBucket', () => {
  it('lets a burst through at once, then spaces reservations at the configured rate, in order', () => {
    const b = new AdaptiveBucket(settings, () => 0);
    const waits = Array.from({ length: 30 }, () => b.reserve());
    expect(waits.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
    // The 6th call waits one interval (100 ms at 10/s), the 30th 25 intervals.
    expect(waits[5]).toBe(100);
    expect(waits[29]).toBe(2500);
    expect([...waits].sort((a, b) => a - b)).toEqual(waits);
  });

  it('refills with time, never beyond the burst', () => {
    let t = 0;
    const b = new AdaptiveBucket(settings, () => t);
    for (let i = 0; i < 5; i++) b.reserve();
    t = 60_000; // a minute idle refills only up to the burst
    expect(Array.from({ length: 6 }, () => b.reserve())).toEqual([0, 0, 0, 0, 0, 100]);
  });

  it('cuts the rate by 30% after a window of mostly throttled answers, not per throttle, down to the floor', () => {
    let t = 0;
    const b = new AdaptiveBucket(settings, () => t);
    // Throttles within one window do not cut on their own: the window is judged when it closes.
    for (let i = 0; i < 19; i++) expect(b.onThrottle()).toBe(false);
    t += 2000;
    expect(b.onThrottle()).toBe(true); // the window closes: 20 of 20 throttled
    expect(b.rate).toBeCloseTo(7);
    // The cut is judged by the next window: throttling that a quota would explain (it stopped) keeps it.
    t += 2000;
    for (let i = 0; i < 20; i++) b.onSuccess();
    expect(b.rate).toBeGreaterThanOrEqual(7);
    expect(b.rate).toBeLessThan(10);
    expect(b.background).toBe(0);
    // Everything throttled again and again: the rate goes down to the floor and stays there.
    for (let w = 0; w < 30; w++) { t += 2000; for (let i = 0; i < 20; i++) b.onThrottle(); }
    expect(b.rate).toBe(1);
  });

  it('undoes a cut that did not relieve the throttling and learns that share as background', () => {
    let t = 0;
    const b = new AdaptiveBucket({ ...settings, ratePerSecond: 20, minRatePerSecond: 1 }, () => t);
    // Answers spread over 2 s, throttled ones spread among them; the window closes at the last one.
    const window = (throttled: number, answers: number, ms = 2000) => {
      const start = t;
      for (let i = 0; i < answers; i++) {
        t = start + Math.round(((i + 1) * ms) / answers);
        if (Math.floor(((i + 1) * throttled) / answers) > Math.floor((i * throttled) / answers)) b.onThrottle();
        else b.onSuccess();
      }
    };
    window(12, 40); // 30% throttled: a cut
    expect(b.rate).toBeCloseTo(14);
    // The judging window (twice the answers) at the lower rate, which held calls back: still 30% throttled,
    // not a quota awi was over.
    window(12, 40, 2858);
    expect(b.rate).toBe(20);
    expect(b.background).toBeCloseTo(0.3, 1);
    window(13, 40); // the same share again: no cut
    expect(b.rate).toBe(20);
    window(0, 40); // the throttling stops: the background decays
    expect(b.background).toBeLessThan(0.2);
  });

  it('wins the rate back window by window without excess throttling: a tenth of the rate per second, at most a quarter per window', () => {
    let t = 0;
    const b = new AdaptiveBucket(settings, () => t);
    for (let w = 0; w < 30; w++) { t += 2000; for (let i = 0; i < 20; i++) b.onThrottle(); }
    expect(b.rate).toBe(1);
    const rates: number[] = [];
    for (let w = 0; w < 14; w++) {
      t += 2000;
      for (let i = 0; i < 20; i++) b.onSuccess();
      rates.push(b.rate);
    }
    // From the floor by a quarter per window (a low quota is not overshot)...
    expect(rates[0]).toBeCloseTo(1.25);
    expect(rates[1]).toBeCloseTo(1.5625);
    // ...then by a tenth of the configured 10/s per second of the window (2 per 2 s window), never above it.
    expect(rates[10]! - rates[9]!).toBeCloseTo(Math.min(2, 10 - rates[9]!));
    expect(Math.max(...rates)).toBe(10);
    expect(rates.at(-1)).toBe(10);
  });

  it('keeps a cut that held nothing back (fewer calls to make than the lower rate allows) without judging it', () => {
    let t = 0;
    const b = new AdaptiveBucket({ ...settings, ratePerSecond: 20, minRatePerSecond: 1 }, () => t);
    for (let i = 0; i < 40; i++) { t += 50; (i % 10 < 3 ? b.onThrottle() : b.onSuccess()); } // 20/s, 30% throttled: a cut
    expect(b.rate).toBeCloseTo(14);
    for (let i = 0; i < 40; i++) { t += 200; (i % 10 < 3 ? b.onThrottle() : b.onSuccess()); } // 5/s to make: nothing held back
    expect(b.rate).toBeCloseTo(14);
    expect(b.background).toBe(0);
  });

  it('judges a cut by the share of throttled answers: a quota if it fell, else throttling whatever the rate', () => {
    // Over a quota of 8/s at 20/s: 60% throttled; at 14/s: 43%. Under the quota: none.
    expect(cutRelievedQuota(0.6, 0.43)).toBe(true);
    expect(cutRelievedQuota(0.1, 0)).toBe(true);
    // 30% throttled whatever the rate: the same share after the cut (within noise).
    expect(cutRelievedQuota(0.3, 0.3)).toBe(false);
    expect(cutRelievedQuota(0.3, 0.2)).toBe(false);
    // Everything throttled before and after: keep backing off.
    expect(cutRelievedQuota(1, 1)).toBe(true);
  });

  it('keeps most of the configured rate when a fixed share of calls is throttled whatever the rate', () => {
    // 30% of calls throttled at random, as on a busy account or the test bed's fault injection: the
    // adaptive rate must not collapse (it used to settle near a third of the configured rate).
    const run = simulate({ configured: 20, seconds: 600, noise: 0.3 });
    expect(run.meanRate).toBeGreaterThan(17);
  });

  it('gets most calls through when there are fewer to make than the rate allows and a fixed share is throttled', () => {
    // 10 calls/s to make, 30% throttled whatever the rate: at best 7/s go through (the old per-throttle cut let 4.8/s through).
    const busy = simulate({ configured: 20, seconds: 600, noise: 0.3, demand: 10 });
    expect(busy.goodput).toBeGreaterThan(5.5);
    const quiet = simulate({ configured: 20, seconds: 600, noise: 0.3, demand: 2 });
    expect(quiet.goodput).toBeGreaterThan(1.1);
  });

  it('settles near a quota that awi\'s rate exceeds, with few throttled calls', () => {
    const run = simulate({ configured: 20, seconds: 600, quota: 8 });
    expect(run.meanRate).toBeLessThan(11);
    expect(run.goodput).toBeGreaterThan(6.5);
    expect(run.throttledShare).toBeLessThan(0.2);
  });

  it('settles near a low quota too, without long windows overshooting it', () => {
    const run = simulate({ configured: 20, seconds: 600, quota: 3 });
    expect(run.meanRate).toBeLessThan(4.5);
    expect(run.throttledShare).toBeLessThan(0.25);
  });

  it('with random throttling on top of a quota, backs off below the configured rate and gets more through than a cut per throttle', () => {
    // Cutting at every throttle let 4.8/s of the quota's 8 (less 30%) through; the noise hides the quota
    // in part, so the rate settles above it (a limit of telling the two apart; docs/aws-budget.md).
    const run = simulate({ configured: 20, seconds: 600, quota: 8, noise: 0.3 });
    expect(run.meanRate).toBeLessThan(16);
    expect(run.goodput).toBeGreaterThan(5.2);
  });

});

/** mulberry32, seeded: the same random throttling at every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Workers that always have calls to make (or `demand` calls/s), paced by the bucket, against an
 * AWS that throttles beyond a quota (a token bucket of `quota` calls/s, one
 * second of burst) and/or a random share of calls whatever the rate.
 */
function simulate(o: { configured: number; seconds: number; quota?: number; noise?: number; demand?: number }) {
  let t = 0;
  const random = seeded(42);
  const b = new AdaptiveBucket({ ratePerSecond: o.configured, burst: o.configured, minRatePerSecond: o.configured / 20, maxAttempts: 5 }, () => t);
  let quotaTokens = o.quota ?? 0;
  let lastT = 0;
  let calls = 0;
  let throttled = 0;
  let rateTime = 0;
  while (t < o.seconds * 1000) {
    // With a demand, calls come that often (and the rate may hold them back further); else as fast as allowed.
    if (o.demand !== undefined) {
      const arrival = t + 1000 / o.demand;
      rateTime += b.rate * (arrival - t);
      t = arrival;
    }
    const wait = b.reserve();
    const next = t + wait;
    rateTime += b.rate * (next - t);
    t = next;
    if (o.quota !== undefined) quotaTokens = Math.min(o.quota, quotaTokens + ((t - lastT) / 1000) * o.quota);
    lastT = t;
    calls += 1;
    let isThrottled = false;
    if (o.quota !== undefined) {
      if (quotaTokens >= 1) quotaTokens -= 1;
      else isThrottled = true;
    }
    if (!isThrottled && o.noise !== undefined && random() < o.noise) isThrottled = true;
    if (isThrottled) {
      throttled += 1;
      b.onThrottle();
    } else b.onSuccess();
  }
  return { meanRate: rateTime / t, goodput: ((calls - throttled) / t) * 1000, throttledShare: throttled / calls };
}

describe('CallBudget.run', () => {
  it('retries a throttled call, paced by the budget', async () => {
    const clock = virtualClock();
    const rates: number[] = [];
    let throttles = 0;
    const budget = new CallBudget({ iam: settings }, { rate: (_a, _s, r) => rates.push(r), throttled: () => throttles++ }, clock);
    let calls = 0;
    const out = await budget.run('111122223333', 'iam', async () => {
      calls += 1;
      if (calls <= 2) throw throttling();
      return 'ok';
    });
    expect(out).toBe('ok');
    expect(calls).toBe(3);
    expect(throttles).toBe(2);
    expect(rates).toEqual([10]); // initial; two throttles are no window of throttling
    expect(clock.sleeps.length).toBeGreaterThanOrEqual(2); // a backoff before each retry
  });

  it('reports the lowered rate after a window of throttled calls', async () => {
    const clock = virtualClock();
    const rates: number[] = [];
    const budget = new CallBudget({ iam: { ...settings, maxAttempts: 1 } }, { rate: (_a, _s, r) => rates.push(r) }, clock);
    for (let i = 0; i < 20; i++) {
      clock.t += 125;
      await expect(budget.run('a', 'iam', async () => { throw throttling(); })).rejects.toThrow('Rate exceeded');
    }
    expect(rates[0]).toBe(10);
    expect(rates.at(-1)).toBeLessThan(10);
  });

  it('gives up after maxAttempts with the last error', async () => {
    const budget = new CallBudget({ iam: settings }, {}, virtualClock());
    let calls = 0;
    await expect(budget.run('a', 'iam', async () => { calls += 1; throw throttling(); })).rejects.toThrow('Rate exceeded');
    expect(calls).toBe(4);
  });

  it('does not retry what retrying cannot fix', async () => {
    const budget = new CallBudget({ iam: settings }, {}, virtualClock());
    let calls = 0;
    const denied = Object.assign(new Error('not authorized'), { name: 'AccessDenied' });
    await expect(budget.run('a', 'iam', async () => { calls += 1; throw denied; })).rejects.toBe(denied);
    expect(calls).toBe(1);
  });

  it('keeps one bucket per account and service, so one busy account does not slow another', async () => {
    const clock = virtualClock();
    const budget = new CallBudget({ iam: settings, eks: settings }, {}, clock);
    for (let i = 0; i < 5; i++) await budget.run('A', 'iam', async () => i);
    // A's IAM bucket is empty; B's IAM and A's EKS buckets are full.
    await budget.run('B', 'iam', async () => 0);
    await budget.run('A', 'eks', async () => 0);
    expect(clock.sleeps).toEqual([]);
    await budget.run('A', 'iam', async () => 0);
    expect(clock.sleeps).toEqual([100]);
  });

  it('maps the platform config to per-service settings', () => {
    const s = budgetSettings({ iamCallsPerSecond: 8, eksCallsPerSecond: 4, stsCallsPerSecond: 2, burst: 3, maxAttempts: 6 });
    expect(s['iam']).toEqual({ ratePerSecond: 8, burst: 3, minRatePerSecond: 0.4, maxAttempts: 6 });
    expect(s['eks']?.ratePerSecond).toBe(4);
    expect(s['sts']?.ratePerSecond).toBe(2);
    expect(s['eks-auth']?.ratePerSecond).toBe(4); // its own bucket, at the EKS rate
  });
});

describe('the budget on a real SDK client', () => {
  let server: Server;
  let endpoint = '';
  /** Answers per request, in order; the last one repeats. */
  let script: Array<'throttle' | 'ok'> = [];
  let requests = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const answer = script[Math.min(requests, script.length - 1)];
        requests += 1;
        res.setHeader('content-type', 'text/xml');
        if (answer === 'throttle') {
          res.statusCode = 400;
          res.end('<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r</RequestId></ErrorResponse>');
        } else {
          res.end('<ListRolesResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ListRolesResult><IsTruncated>false</IsTruncated><Roles/></ListRolesResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ListRolesResponse>');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    for (const [k, v] of Object.entries({ AWS_ENDPOINT_URL: endpoint, AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'secret' })) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
  });
  afterAll(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await new Promise((resolve) => server.close(resolve));
  });
  const saved: Record<string, string | undefined> = {};

  function clients(maxAttempts: number) {
    const metrics = new ControllerMetrics();
    const clock: BudgetClock = { now: () => Date.now(), sleep: async () => {}, random: () => 0 };
    const budget = new CallBudget({ iam: { ...settings, maxAttempts } }, budgetMetrics(metrics), clock);
    const factory = new AwsClientFactory({ region: 'us-east-1', accounts: [{ accountId: '111122223333' }], budget, middleware: awsCallCounter(metrics) });
    const { iam } = factory.forAccount('111122223333');
    return { iam, metrics };
  }

  it('retries Throttling through the budget (the SDK makes one attempt per call) and counts one logical call', async () => {
    script = ['throttle', 'throttle', 'ok'];
    requests = 0;
    const { iam, metrics } = clients(4);
    const out = await iam.send(new ListRolesCommand({}));
    expect(out.Roles).toEqual([]);
    expect(requests).toBe(3);
    const calls = await metrics.awsCalls.get();
    expect(calls.values).toEqual([expect.objectContaining({ labels: { service: 'iam', operation: 'ListRoles', outcome: 'ok' }, value: 1 })]);
    const throttles = await metrics.awsThrottles.get();
    expect(throttles.values[0]?.value).toBe(2);
    // Two throttles are no window of throttling: the rate stays (and is reported).
    const rate = await metrics.awsBudgetRate.get();
    expect(rate.values[0]?.value).toBe(10);
  });

  it('stops at the budget\'s maxAttempts, not the SDK default', async () => {
    script = ['throttle'];
    requests = 0;
    const { iam } = clients(2);
    await expect(iam.send(new ListRolesCommand({}))).rejects.toMatchObject({ name: 'Throttling' });
    expect(requests).toBe(2);
  });
});
