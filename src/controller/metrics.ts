// Prometheus metrics of the controller. One registry per controller so tests
// (and two controllers in one process) do not collide.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BudgetObserver } from '../aws/budget.js';

export class ControllerMetrics {
  readonly registry = new Registry();
  readonly reconciles = new Counter({
    name: 'awi_reconciles_total', help: 'Reconciles by result (done, retry, conflict, terminal, error).',
    labelNames: ['result'] as const, registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: 'awi_reconcile_duration_seconds', help: 'Time one reconcile took.',
    labelNames: ['result'] as const, buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [this.registry],
  });
  readonly awsCalls = new Counter({
    name: 'awi_aws_api_calls_total', help: 'AWS API calls by service, operation and outcome (ok or the error code).',
    labelNames: ['service', 'operation', 'outcome'] as const, registers: [this.registry],
  });
  readonly queueDepth = new Gauge({ name: 'awi_workqueue_depth', help: 'Keys waiting to be reconciled.', registers: [this.registry] });
  readonly queueLatency = new Histogram({
    name: 'awi_workqueue_latency_seconds', help: 'How long a key waited in the queue before its reconcile started.',
    buckets: [0.001, 0.01, 0.1, 0.5, 1, 5, 10, 60], registers: [this.registry],
  });
  readonly claims = new Gauge({ name: 'awi_claims', help: 'Claims by Ready status, as of their last reconcile.', labelNames: ['ready'] as const, registers: [this.registry] });
  readonly watchRestarts = new Counter({
    name: 'awi_watch_restarts_total', help: 'Watch restarts by resource and reason (timeout, gone, error, silent).',
    labelNames: ['resource', 'reason'] as const, registers: [this.registry],
  });
  readonly leader = new Gauge({ name: 'awi_leader', help: '1 while this replica holds the leader lease.', registers: [this.registry] });
  readonly awsBudgetRate = new Gauge({
    name: 'awi_aws_budget_rate', help: 'Current adaptive AWS call budget in calls per second, by account and service.',
    labelNames: ['account', 'service'] as const, registers: [this.registry],
  });
  readonly awsThrottles = new Counter({
    name: 'awi_aws_throttles_total', help: 'Throttling answers from AWS, by account and service (each halves the budget, at most once a second).',
    labelNames: ['account', 'service'] as const, registers: [this.registry],
  });
  readonly awsBudgetWait = new Histogram({
    name: 'awi_aws_budget_wait_seconds', help: 'How long a call waited for the AWS call budget.',
    labelNames: ['account', 'service'] as const, buckets: [0.01, 0.1, 0.5, 1, 5, 10, 30], registers: [this.registry],
  });

  /** Ready status per claim key, to keep the awi_claims gauge exact; a claim that is gone is dropped. */
  private readonly readyByClaim = new Map<string, string>();
  private readonly readyCounts: Record<string, number> = { True: 0, False: 0, Unknown: 0 };

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry });
    for (const ready of Object.keys(this.readyCounts)) this.claims.set({ ready }, 0);
  }

  /** Records a claim's Ready status (undefined: the claim is gone). Constant time: called after every reconcile. */
  setClaimReady(key: string, ready: 'True' | 'False' | 'Unknown' | undefined): void {
    const before = this.readyByClaim.get(key);
    if (before === ready) return;
    if (before !== undefined) this.count(before, -1);
    if (ready === undefined) this.readyByClaim.delete(key);
    else {
      this.readyByClaim.set(key, ready);
      this.count(ready, +1);
    }
  }

  /** Claims whose Ready status is recorded (for tests: none stays once its claim is gone). */
  get claimsTracked(): number {
    return this.readyByClaim.size;
  }

  private count(ready: string, delta: number): void {
    this.readyCounts[ready] = (this.readyCounts[ready] ?? 0) + delta;
    this.claims.set({ ready }, this.readyCounts[ready]!);
  }
}

/** SDK middleware that counts AWS calls (after the SDK's own retries) by outcome. */
export function awsCallCounter(metrics: ControllerMetrics) {
  return {
    middleware: (next: (args: unknown) => Promise<unknown>, context: { clientName?: string; commandName?: string }) => async (args: unknown) => {
      const service = (context.clientName ?? 'unknown').replace(/Client$/, '').toLowerCase();
      const operation = (context.commandName ?? 'unknown').replace(/Command$/, '');
      try {
        const out = await next(args);
        metrics.awsCalls.inc({ service, operation, outcome: 'ok' });
        return out;
      } catch (err) {
        const code = (err as { name?: string }).name ?? 'error';
        metrics.awsCalls.inc({ service, operation, outcome: code });
        throw err;
      }
    },
    options: { step: 'initialize' as const, name: 'awiCallCounter' },
  };
}

/** Feeds the AWS call budget's rate, throttles and waits into the metrics. */
export function budgetMetrics(metrics: ControllerMetrics): BudgetObserver {
  return {
    rate: (account, service, rate) => metrics.awsBudgetRate.set({ account, service }, rate),
    throttled: (account, service) => metrics.awsThrottles.inc({ account, service }),
    waited: (account, service, ms) => metrics.awsBudgetWait.observe({ account, service }, ms / 1000),
  };
}
