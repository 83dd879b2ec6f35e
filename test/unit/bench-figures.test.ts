// The fleet bench's pure pieces: the floor of the configured rates, the call
// arithmetic, the crash-loop progress and the table (bench/figures.ts).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import YAML from 'yaml';
import { compileClaim } from '../../src/compiler/compile.js';
import type { DesiredSourceRole, DesiredState } from '../../src/compiler/types.js';
import { parsePlatformConfig } from '../../src/config/index.js';
import {
  acceptance, callsSince, creationFloor, figureRows, killProgress, markdownTable, neededForCreation, renderReport, splitCalls, type FloorRates, type RunFigures,
} from '../../bench/figures.js';

const examples = path.join(process.cwd(), 'deploy', 'examples');
const config = parsePlatformConfig(YAML.parse(readFileSync(path.join(examples, 'platform-config.yaml'), 'utf8')));

function desiredFor(file: string): DesiredState {
  const r = compileClaim(YAML.parse(readFileSync(path.join(examples, file), 'utf8')), config);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.desired;
}

const isWrite = (op: string): boolean => /^(iam|eks):(Create|Put|Update|Tag|Untag|Delete|Attach|Detach)/.test(op);

const rates = (over: Partial<FloorRates> = {}): FloorRates => ({
  rateLimitPerSecond: 10, rateLimitBurst: 20,
  awsBudget: { iamCallsPerSecond: 20, eksCallsPerSecond: 20, stsCallsPerSecond: 20, burst: 40, maxAttempts: 5 },
  ...over,
});

describe('neededForCreation', () => {
  const podIdentity = desiredFor('checkout-api-s3-read.yaml');
  const irsa = desiredFor('billing-worker-sqs.yaml');

  it('counts one reconcile per claim, CreateRole + PutRolePolicy per role and an association per Pod Identity claim, no read', () => {
    expect(podIdentity.binding.kind).toBe('PodIdentityAssociation');
    expect(irsa.binding.kind).toBe('IRSAAnnotation');
    expect(neededForCreation([podIdentity, irsa, irsa], { verification: false })).toEqual({ reconciles: 3, calls: { iam: 6, eks: 1, sts: 0 } });
  });

  it('adds one token exchange per claim with verification: EKS Auth (EKS budget) for Pod Identity, STS for IRSA', () => {
    expect(neededForCreation([podIdentity, irsa, irsa], { verification: true })).toEqual({ reconciles: 3, calls: { iam: 6, eks: 2, sts: 2 } });
  });

  it('adds an AttachRolePolicy per managed policy and the source role of a cross-account Pod Identity claim', () => {
    const crossAccount: DesiredState = {
      ...podIdentity,
      managedPolicyArns: ['arn:aws:iam::aws:policy/A', 'arn:aws:iam::aws:policy/B'],
      sourceRole: { ...podIdentity.role, accountId: '444455556666', permissionPolicy: podIdentity.permissionPolicy } as DesiredSourceRole,
    };
    expect(neededForCreation([crossAccount], { verification: false })).toEqual({ reconciles: 1, calls: { iam: 6, eks: 1, sts: 0 } });
  });

  it('is empty for no claim', () => {
    expect(neededForCreation([], { verification: true })).toEqual({ reconciles: 0, calls: { iam: 0, eks: 0, sts: 0 } });
  });
});

describe('creationFloor', () => {
  it('is (needed − burst) / rate of the slowest bucket, named', () => {
    // 1,000 claims, half Pod Identity: 980 reconciles at 10/s = 98 s; IAM (2,000 − 40) / 20 = 98 s; EKS (500 − 40) / 20 = 23 s.
    const f = creationFloor({ reconciles: 1000, calls: { iam: 2000, eks: 500, sts: 0 } }, rates());
    expect(f.ms).toBe(98_000);
    expect(f.binding).toBe('reconciles'); // a tie goes to the reconcile rate
    expect(f.parts.map((p) => [p.name, p.ms])).toEqual([['reconciles', 98_000], ['iam', 98_000], ['eks', 23_000], ['sts', 0]]);
  });

  it('names the AWS budget when it binds', () => {
    const f = creationFloor({ reconciles: 1000, calls: { iam: 3000, eks: 500, sts: 0 } }, rates({ rateLimitPerSecond: 20 }));
    expect(f.binding).toBe('iam');
    expect(f.ms).toBe(148_000);
    const e = creationFloor({ reconciles: 100, calls: { iam: 200, eks: 100, sts: 0 } }, rates({ awsBudget: { ...rates().awsBudget, eksCallsPerSecond: 1 } }));
    expect([e.binding, e.ms]).toEqual(['eks', 60_000]);
  });

  it('is zero when everything fits in the bursts', () => {
    expect(creationFloor({ reconciles: 20, calls: { iam: 40, eks: 10, sts: 0 } }, rates()).ms).toBe(0);
  });
});

describe('call arithmetic', () => {
  it('splits reads and writes', () => {
    expect(splitCalls({ 'iam:CreateRole': 10, 'iam:GetRole': 5, 'eks:ListPodIdentityAssociations': 3, 'sts:GetCallerIdentity': 1 }, isWrite))
      .toEqual({ total: 19, reads: 9, writes: 10 });
  });

  it('subtracts counters and drops operations that did not move', () => {
    expect(callsSince({ 'iam:GetRole': 7, 'iam:CreateRole': 3, 'eks:X': 1 }, { 'iam:GetRole': 4, 'iam:CreateRole': 3 })).toEqual({ 'iam:GetRole': 3, 'eks:X': 1 });
  });
});

describe('killProgress', () => {
  it('gives the Ready count at each kill, the gains between kills and the intervals without progress', () => {
    const p = killProgress([{ t: 10, ready: 5 }, { t: 20, ready: 30 }, { t: 30, ready: 30 }, { t: 40, ready: 80 }]);
    expect(p).toEqual({ readyAtKills: [5, 30, 30, 80], gains: [5, 25, 0, 50], stalls: 1 });
  });
});

function run(over: Partial<RunFigures> = {}): RunFigures {
  return {
    claims: 1000,
    podIdentity: 500,
    floor: creationFloor({ reconciles: 1000, calls: { iam: 2000, eks: 500, sts: 0 } }, rates()),
    readyMs: 156_800,
    readyP50Ms: 100_000,
    readyP99Ms: 150_000,
    creation: { calls: { 'iam:CreateRole': 1000, 'iam:GetRole': 2500, 'eks:ListPodIdentityAssociations': 500 }, reconciles: 2000, reconcilesByResult: { success: 2000 } },
    afterReady: { idle: true, ms: 6000, calls: {}, reconciles: 0 },
    resync: { ms: 330_000, reconciles: 1000, calls: { 'iam:GetRole': 1000 } },
    restart: { fromSpawnMs: 103_000, fromSyncMs: 100_000, reconciles: 1000, calls: { 'iam:GetRole': 1000, 'sts:GetCallerIdentity': 1 }, memory: { peak: 150, rss: 140 } },
    memory: { idle: { peak: 144, rss: 140 }, creation: { peak: 190, rss: 170 }, steady: { peak: 175, rss: 170 } },
    watchRestarts: {},
    audit: { roles: 1000, associations: 500, duplicates: 0, orphans: 0, missing: 0 },
    loadAverage: { start: 11.2, end: 9.8 },
    ...over,
  };
}

describe('the table', () => {
  const cell = (rows: Array<[string, ...string[]]>, label: string): string[] => {
    const r = rows.find(([l]) => l === label);
    if (!r) throw new Error(`no row ${label}: ${rows.map(([l]) => l).join(' | ')}`);
    return r.slice(1);
  };

  it('has one column per run with the ratio to the floor and the binding limit', () => {
    const rows = figureRows([run(), run({ claims: 5000, podIdentity: 2500, readyMs: 980_000, floor: creationFloor({ reconciles: 5000, calls: { iam: 10_000, eks: 2500, sts: 0 } }, rates()) })], isWrite);
    expect(cell(rows, 'time to all Ready')).toEqual(['156.8 s', '980.0 s']);
    expect(cell(rows, 'floor (binding limit)')).toEqual(['98.0 s (reconcile rate)', '498.0 s (reconcile rate)']);
    expect(cell(rows, 'time to all Ready / floor')).toEqual(['1.60×', '1.97×']);
  });

  it('gives AWS calls per claim at creation, reads and writes, and per operation', () => {
    const rows = figureRows([run()], isWrite);
    expect(cell(rows, 'AWS calls per claim at creation')).toEqual(['4.00']);
    expect(cell(rows, '  reads / writes per claim')).toEqual(['3.00 / 1.00']);
    expect(cell(rows, 'creation: iam:CreateRole (write) per claim')).toEqual(['1.00']);
    expect(cell(rows, 'creation: eks:ListPodIdentityAssociations per claim')).toEqual(['0.50']);
    expect(cell(rows, 'reconciles per claim at creation')).toEqual(['2.00']);
  });

  it('gives the resync, the restart pass and the RSS figures, and "-" where a run did not measure them', () => {
    const rows = figureRows([run(), run({ resync: undefined, restart: undefined, memory: { idle: { peak: 60, rss: 58 }, creation: { peak: 90, rss: 80 } } })], isWrite);
    expect(cell(rows, 'one full resync: AWS calls total')).toEqual(['1000', '-']);
    expect(cell(rows, '  per claim (reads / writes)')).toEqual(['1.00 (1.00 / 0)', '-']);
    expect(cell(rows, '  reconciles in the window (calls per reconcile)')).toEqual(['1000 (1.00)', '-']);
    expect(cell(rows, 'first no-op pass after restart: AWS calls')).toEqual(['1001 (0 writes)', '-']);
    expect(cell(rows, '  duration from start (from watches synced)')).toEqual(['103.0 s (100.0 s)', '-']);
    expect(cell(rows, 'peak RSS, creation')).toEqual(['190 MiB', '90 MiB']);
    expect(cell(rows, 'peak RSS, steady state (resync window)')).toEqual(['175 MiB', '-']);
    expect(cell(rows, 'idle RSS (no claim)')).toEqual(['140 MiB (peak 144 MiB)', '58 MiB (peak 60 MiB)']);
  });

  it('says the floor is the fault-free one in a fault run, and shows the Ready count at each kill', () => {
    const rows = figureRows([run({
      faults: { throttle: 0.3, serverErrors: 0.05, lagMs: 10_000, injected: 900 },
      kills: { count: 3, everyS: 10, atKills: [{ t: 10_000, ready: 4 }, { t: 20_000, ready: 40 }, { t: 30_000, ready: 90 }] },
    })], isWrite);
    expect(cell(rows, 'floor (fault-free; binding limit)')).toEqual(['98.0 s (reconcile rate)']);
    expect(cell(rows, 'Ready at each kill')).toEqual(['4, 40, 90']);
    expect(cell(rows, '  kill intervals without progress')).toEqual(['0']);
  });

  it('renders markdown with a header per run, right-aligned figures', () => {
    const md = renderReport([run(), run({ claims: 5000 })], isWrite).split('\n');
    expect(md[0]).toMatch(/^\| figure +\| +N = 1000 \| +N = 5000 \|$/);
    expect(md[1]).toMatch(/^\|-+\|-+:\|-+:\|$/);
    expect(new Set(md.map((l) => l.length)).size).toBe(1);
  });

  it('markdownTable pads every cell to its column', () => {
    expect(markdownTable(['a', 'bb'], [['xyz', '1'], ['q', '22']])).toBe(['| a   | bb |', '|-----|---:|', '| xyz |  1 |', '| q   | 22 |'].join('\n'));
  });
});

describe('acceptance (issue 10)', () => {
  const verdicts = (r: RunFigures): Record<string, string> => Object.fromEntries(acceptance(r, isWrite).map((v) => [v.criterion, v.verdict]));

  it('judges each measured figure against its target', () => {
    const v = verdicts(run());
    expect(v['creation: writes per claim ≤ 3']).toBe('PASS 1.00 ≤ 3.00');
    expect(v['creation: reads per claim ≤ 3']).toBe('PASS 3.00 ≤ 3.00');
    expect(v['creation: reconciles per claim = 1']).toBe('FAIL 2.00 ≤ 1.00');
    expect(v['time to all Ready ≤ 1.2× floor']).toBe('FAIL 1.60× ≤ 1.20×');
    expect(v['resync: AWS calls ≤ 50 per 1,000 claims']).toBe('FAIL 1000 ≤ 50');
    expect(v['resync: writes = 0']).toBe('PASS 0 ≤ 0');
    expect(v['restart pass: AWS calls ≤ 100 (stated for 5,000)']).toBe('FAIL 1001 ≤ 100');
    expect(v['restart pass: ≤ 60 s (stated for 5,000)']).toBe('FAIL 103.0 s ≤ 60.0 s');
    expect(v['peak RSS ≤ 100 MiB (stated for 5,000)']).toBe('FAIL 190 MiB ≤ 100 MiB');
    expect(v['idle RSS ≤ 60 MiB']).toBe('FAIL 140 MiB ≤ 60 MiB');
    expect(v['duplicates + orphans + missing = 0']).toBe('PASS 0 ≤ 0');
  });

  it('scales the resync target with N and passes a controller at the targets', () => {
    const v = verdicts(run({
      claims: 5000,
      readyMs: 500_000,
      floor: creationFloor({ reconciles: 5000, calls: { iam: 10_000, eks: 2500, sts: 0 } }, rates()),
      creation: { calls: { 'iam:CreateRole': 5000, 'iam:PutRolePolicy': 5000, 'eks:CreatePodIdentityAssociation': 2500, 'iam:ListRoles': 5 }, reconciles: 5000, reconcilesByResult: {} },
      resync: { ms: 330_000, reconciles: 5000, calls: { 'iam:ListRoles': 5, 'eks:ListPodIdentityAssociations': 25, 'eks:DescribePodIdentityAssociation': 200 } },
      restart: { fromSpawnMs: 40_000, fromSyncMs: 35_000, reconciles: 5000, calls: { 'iam:ListRoles': 5, 'eks:ListPodIdentityAssociations': 25 }, memory: { peak: 95, rss: 90 } },
      memory: { idle: { peak: 50, rss: 48 }, creation: { peak: 98, rss: 90 }, steady: { peak: 96, rss: 90 } },
    }));
    expect(Object.values(v).every((x) => x.startsWith('PASS'))).toBe(true);
    expect(v['resync: AWS calls ≤ 50 per 1,000 claims']).toBe('PASS 230 ≤ 250');
  });

  it('judges a fault run against 3× the fault-free floor, and a kill run by its progress, not by creation cost', () => {
    const faults = verdicts(run({ faults: { throttle: 0.3, serverErrors: 0.05, lagMs: 10_000, injected: 1 }, readyMs: 290_000 }));
    expect(faults['with faults: time to all Ready ≤ 3× fault-free floor']).toBe('PASS 2.96× ≤ 3.00×');
    expect(faults['creation: writes per claim ≤ 3']).toBeUndefined();
    const kills = verdicts(run({ resync: undefined, restart: undefined, kills: { count: 3, everyS: 10, atKills: [{ t: 1, ready: 5 }, { t: 2, ready: 5 }, { t: 3, ready: 9 }] } }));
    expect(kills['kills: intervals in which Ready did not rise = 0']).toBe('FAIL 1 ≤ 0');
    expect(kills['creation: reconciles per claim = 1']).toBeUndefined();
  });

  it('shows the verdicts as rows of the table', () => {
    const rows = figureRows([run()], isWrite);
    expect(rows.find(([l]) => l === 'issue 10: resync: writes = 0')?.[1]).toBe('PASS 0 ≤ 0');
  });
});
