// The shared AWS call budget: token bucket arithmetic, AIMD adaptation to
// Throttling, retries owned by the budget, and its SDK middleware on a real
// client against a local HTTP endpoint.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListRolesCommand } from '@aws-sdk/client-iam';
import { AdaptiveBucket, budgetSettings, CallBudget, type BudgetClock, type BudgetSettings } from '../../src/aws/budget.js';
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

  it('cuts the rate by 30% on Throttling at most once per second, down to the floor', () => {
    let t = 0;
    const b = new AdaptiveBucket(settings, () => t);
    expect(b.onThrottle()).toBe(true);
    expect(b.rate).toBeCloseTo(7);
    expect(b.onThrottle()).toBe(false); // the same burst of throttles counts once
    expect(b.rate).toBeCloseTo(7);
    for (let i = 0; i < 10; i++) { t += 1000; b.onThrottle(); }
    expect(b.rate).toBe(1); // floor
  });

  it('wins the rate back in proportion to time without throttling: the whole rate in 10 s, never above it', () => {
    let t = 0;
    const b = new AdaptiveBucket(settings, () => t);
    for (let i = 0; i < 10; i++) { t += 1000; b.onThrottle(); }
    expect(b.rate).toBe(1);
    t += 1000;
    expect(b.onSuccess()).toBe(true);
    expect(b.rate).toBeCloseTo(2); // a tenth of the configured 10/s per second
    expect(b.onSuccess()).toBe(false); // no time passed: no gain
    t += 5000;
    b.onSuccess();
    expect(b.rate).toBeCloseTo(7);
    t += 60_000;
    b.onSuccess();
    expect(b.rate).toBe(10);
    expect(b.onSuccess()).toBe(false);
  });

  it('settles at a useful rate when a fixed share of calls is throttled whatever the rate', () => {
    // 30% of calls throttled, as the test bed's fault injection does: the rate must not collapse to the floor.
    let t = 0;
    const b = new AdaptiveBucket({ ...settings, ratePerSecond: 20, minRatePerSecond: 1 }, () => t);
    let n = 0;
    for (let step = 0; step < 20_000; step++) {
      t += 1000 / b.rate;
      n += 1;
      if (n % 10 < 3) b.onThrottle();
      else b.onSuccess();
    }
    expect(b.rate).toBeGreaterThan(4);
  });
});

describe('CallBudget.run', () => {
  it('retries a throttled call, paced by the budget, and reports the lowered rate', async () => {
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
    expect(rates[0]).toBe(10); // initial
    expect(rates.some((r) => Math.abs(r - 7) < 1e-9)).toBe(true); // cut by the first throttle
    expect(clock.sleeps.length).toBeGreaterThanOrEqual(2); // a backoff before each retry
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
    const rate = await metrics.awsBudgetRate.get();
    expect(rate.values[0]?.value).toBeLessThan(10);
  });

  it('stops at the budget\'s maxAttempts, not the SDK default', async () => {
    script = ['throttle'];
    requests = 0;
    const { iam } = clients(2);
    await expect(iam.send(new ListRolesCommand({}))).rejects.toMatchObject({ name: 'Throttling' });
    expect(requests).toBe(2);
  });
});
