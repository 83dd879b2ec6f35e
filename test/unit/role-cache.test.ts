// The shared IAM observation: page merge, staleness, invalidation after
// awi's own writes, single flight. IAM is a scripted fake client here (the
// integration tests run it against the AWS fake).
import { describe, expect, it } from '@jest/globals';
import type { IAMClient } from '@aws-sdk/client-iam';
import { RoleCache } from '../../src/controller/observation/role-cache.js';
import { statusUnchanged } from '../../src/controller/reconciler.js';
import { lookupRole, mergeRolePages, type ListedRole, type RoleDetailPage, type RoleSnapshot } from '../../src/controller/observation/role-pages.js';

const trust = (svc: string) => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: svc }, Action: 'sts:AssumeRole' }] });
const doc = (action: string) => encodeURIComponent(JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: action, Resource: '*' }] }));

function detail(name: string, over: Partial<RoleDetailPage> = {}): RoleDetailPage {
  return {
    RoleName: name, Path: '/awi/', Arn: `arn:aws:iam::111122223333:role/awi/${name}`, AssumeRolePolicyDocument: encodeURIComponent(trust('pods.eks.amazonaws.com')),
    RolePolicyList: [{ PolicyName: 'awi-permissions', PolicyDocument: doc('s3:GetObject') }],
    AttachedManagedPolicies: [{ PolicyArn: 'arn:aws:iam::aws:policy/B' }, { PolicyArn: 'arn:aws:iam::aws:policy/A' }],
    PermissionsBoundary: { PermissionsBoundaryArn: 'arn:aws:iam::111122223333:policy/boundary' },
    Tags: [{ Key: 'awi.dev/managed-by', Value: 'awi' }],
    ...over,
  };
}
function listed(name: string, over: Partial<ListedRole> = {}): ListedRole {
  return { RoleName: name, Path: '/awi/', Arn: `arn:aws:iam::111122223333:role/awi/${name}`, AssumeRolePolicyDocument: encodeURIComponent(trust('pods.eks.amazonaws.com')), Description: 'd', MaxSessionDuration: 7200, ...over };
}

describe('mergeRolePages', () => {
  it('joins both streams into every field the plan compares', () => {
    const { roles, uncertain } = mergeRolePages([detail('a')], [listed('a')], '/awi/');
    expect(uncertain.size).toBe(0);
    expect(roles.get('a')).toEqual({
      role: {
        name: 'a', path: '/awi/', arn: 'arn:aws:iam::111122223333:role/awi/a',
        trustPolicy: JSON.parse(trust('pods.eks.amazonaws.com')),
        tags: { 'awi.dev/managed-by': 'awi' },
        permissionsBoundaryArn: 'arn:aws:iam::111122223333:policy/boundary',
        maxSessionDurationSeconds: 7200, description: 'd',
      },
      inlinePolicies: { 'awi-permissions': { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] } },
      attachedPolicyArns: ['arn:aws:iam::aws:policy/A', 'arn:aws:iam::aws:policy/B'],
    });
  });

  it('leaves out roles outside the path, and marks uncertain what changed between the two reads', () => {
    const { roles, uncertain } = mergeRolePages(
      [detail('a'), detail('other', { Path: '/' }), detail('changed', { AssumeRolePolicyDocument: trust('ec2.amazonaws.com') }), detail('deleted-later')],
      [listed('a'), listed('changed'), listed('created-later')],
      '/awi/',
    );
    expect([...roles.keys()]).toEqual(['a']);
    expect([...uncertain].sort()).toEqual(['changed', 'created-later', 'deleted-later']);
  });
});

describe('lookupRole', () => {
  const snapshot = (startedAt: number, names: string[] = ['a']): RoleSnapshot => ({
    startedAt, roles: mergeRolePages(names.map((n) => detail(n)), names.map((n) => listed(n)), '/awi/').roles, uncertain: new Set(),
  });

  it('answers from a recent enough snapshot, including "does not exist"', () => {
    expect(lookupRole('a', snapshot(100), undefined, undefined, 50)).toMatchObject({ observedAt: 100, value: { role: { name: 'a' } } });
    expect(lookupRole('b', snapshot(100), undefined, undefined, 50)).toEqual({ observedAt: 100, value: undefined });
  });

  it('is stale when no observation began after notBefore', () => {
    expect(lookupRole('a', snapshot(100), undefined, undefined, 101)).toBe('stale');
    expect(lookupRole('a', undefined, undefined, undefined, 0)).toBe('stale');
  });

  it('is unknown after awi wrote the role (a direct read confirms a write, never the pages)', () => {
    expect(lookupRole('a', snapshot(100), undefined, 120, 50)).toBe('unknown');
    expect(lookupRole('a', snapshot(130), undefined, 120, 50)).toBe('unknown');
    expect(lookupRole('a', snapshot(130), { observedAt: 125, value: undefined }, 120, 50)).toBe('unknown');
  });

  it('prefers a direct read newer than the pages', () => {
    const direct = { observedAt: 150, value: undefined };
    expect(lookupRole('a', snapshot(100), direct, undefined, 50)).toBe(direct);
    expect(lookupRole('a', snapshot(200), direct, undefined, 50)).toMatchObject({ observedAt: 200 });
  });

  it('is unknown for a role the pages disagreed about', () => {
    const s = { ...snapshot(100), uncertain: new Set(['a']) };
    expect(lookupRole('a', s, undefined, undefined, 50)).toBe('unknown');
  });
});

/** A fake IAM client: the roles as they are at each call, paged `pageSize` at a time. */
function fakeIam(state: { details: RoleDetailPage[]; listed: ListedRole[] }, pageSize = 2, onCall?: (op: string, n: number) => void) {
  const calls: string[] = [];
  const page = <T>(items: T[], marker?: string) => {
    const start = Number(marker ?? 0);
    const more = start + pageSize < items.length;
    return { items: items.slice(start, start + pageSize), IsTruncated: more, ...(more ? { Marker: String(start + pageSize) } : {}) };
  };
  const client = {
    async send(cmd: { constructor: { name: string }; input: { Marker?: string; PathPrefix?: string } }) {
      const op = cmd.constructor.name.replace(/Command$/, '');
      calls.push(op);
      onCall?.(op, calls.length);
      await Promise.resolve();
      if (op === 'GetAccountAuthorizationDetails') {
        const p = page(state.details, cmd.input.Marker);
        return { RoleDetailList: structuredClone(p.items), IsTruncated: p.IsTruncated, Marker: p.Marker };
      }
      const p = page(state.listed.filter((r) => (r.Path ?? '/').startsWith(cmd.input.PathPrefix ?? '/')), cmd.input.Marker);
      return { Roles: structuredClone(p.items), IsTruncated: p.IsTruncated, Marker: p.Marker };
    },
  };
  return { client: client as unknown as IAMClient, calls };
}

describe('RoleCache', () => {
  const names = ['r1', 'r2', 'r3', 'r4', 'r5'];
  const world = () => ({ details: names.map((n) => detail(n)), listed: names.map((n) => listed(n)) });

  it('serves many lookups from one paged read, and concurrent lookups share it', async () => {
    let t = 1000;
    const { client, calls } = fakeIam(world());
    const cache = new RoleCache({ iamFor: () => client, pathPrefix: '/awi/', maxAgeMs: 60_000, now: () => t });
    const found = await Promise.all(names.map((n) => cache.lookup('111122223333', n)));
    expect(found.every((f) => f !== 'unknown' && f.value?.role.name)).toBe(true);
    // 5 roles, 2 per page: 3 pages of each stream, once for all five lookups.
    expect(calls).toEqual([...Array(3).fill('GetAccountAuthorizationDetails'), ...Array(3).fill('ListRoles')]);
    t += 30_000;
    await cache.lookup('111122223333', 'r1');
    expect(calls).toHaveLength(6);
    t += 31_000; // older than maxAge: the next lookup reads the pages again
    await cache.lookup('111122223333', 'r1');
    expect(calls).toHaveLength(12);
  });

  it('answers unknown for a role awi wrote until a direct read that began after the write', async () => {
    let t = 1000;
    const { client } = fakeIam(world());
    const cache = new RoleCache({ iamFor: () => client, pathPrefix: '/awi/', maxAgeMs: 60_000, now: () => t });
    await cache.lookup('111122223333', 'r1');
    t = 2000;
    cache.wrote('111122223333', 'r1');
    expect(await cache.lookup('111122223333', 'r1')).toBe('unknown');
    expect(await cache.lookup('111122223333', 'r2')).not.toBe('unknown');
    // Pages read after the write do not confirm it (IAM reads are eventually consistent).
    t = 3000;
    await cache.refresh('111122223333');
    expect(await cache.lookup('111122223333', 'r1')).toBe('unknown');
    cache.observed('111122223333', 'r1', undefined, 1500); // began before the write: ignored
    expect(await cache.lookup('111122223333', 'r1')).toBe('unknown');
    cache.observed('111122223333', 'r1', undefined, 3100);
    expect(await cache.lookup('111122223333', 'r1')).toEqual({ observedAt: 3100, value: undefined });
    // Newer pages replace the direct read.
    t = 4000;
    await cache.refresh('111122223333');
    expect(await cache.lookup('111122223333', 'r1')).toMatchObject({ observedAt: 4000, value: { role: { name: 'r1' } } });
  });

  it('lets pages that began the settle time after awi\'s write confirm it (no direct read after a creation)', async () => {
    let t = 1000;
    const { client, calls } = fakeIam(world());
    const cache = new RoleCache({ iamFor: () => client, pathPrefix: '/awi/', maxAgeMs: 60_000, writeSettleMs: 60_000, now: () => t });
    cache.wrote('111122223333', 'r1');
    t += 59_999;
    await cache.refresh('111122223333');
    expect(await cache.lookup('111122223333', 'r1')).toBe('unknown');
    t += 1;
    await cache.refresh('111122223333');
    expect(await cache.lookup('111122223333', 'r1')).toMatchObject({ observedAt: t, value: { role: { name: 'r1' } } });
    expect(calls.every((op) => op === 'GetAccountAuthorizationDetails' || op === 'ListRoles')).toBe(true);
    expect(lookupRole('a', { startedAt: 200, roles: new Map(), uncertain: new Set() }, undefined, 120, 50, 80)).toEqual({ observedAt: 200, value: undefined });
    expect(lookupRole('a', { startedAt: 199, roles: new Map(), uncertain: new Set() }, undefined, 120, 50, 80)).toBe('unknown');
  });

  it('absent(): true only when pages show no role of that name under the path; false for a known, written, uncertain or outside-the-path role', async () => {
    let t = 1000;
    const state = world();
    state.details.push(detail('elsewhere', { Path: '/' }), detail('changing'));
    const { client, calls } = fakeIam(state, 10);
    const cache = new RoleCache({ iamFor: () => client, pathPrefix: '/awi/', maxAgeMs: 60_000, now: () => t });
    expect(await cache.absent('111122223333', 'new-role')).toBe(true);
    expect(await cache.absent('111122223333', 'r1')).toBe(false);
    expect(await cache.absent('111122223333', 'changing')).toBe(false); // listed by one stream only: uncertain
    // A role outside awi's path is not kept: the cache answers absent, and CreateRole's EntityAlreadyExists catches it.
    expect(await cache.absent('111122223333', 'elsewhere')).toBe(true);
    // One page read served every answer.
    expect(calls).toEqual(['GetAccountAuthorizationDetails', 'ListRoles']);
    t = 2000;
    cache.wrote('111122223333', 'new-role');
    expect(await cache.absent('111122223333', 'new-role')).toBe(false);
    expect(calls).toHaveLength(2);
  });

  it('absent() with maxAge 0 reads no pages and answers false (the role is read directly)', async () => {
    const { client, calls } = fakeIam(world());
    const cache = new RoleCache({ iamFor: () => client, pathPrefix: '/awi/', maxAgeMs: 0 });
    expect(await cache.absent('111122223333', 'new-role')).toBe(false);
    expect(calls).toEqual([]);
  });

  it('asks IAM for its largest pages (1,000 items; the default is 100)', async () => {
    const inputs: Array<{ op: string; MaxItems?: number }> = [];
    const client = {
      async send(cmd: { constructor: { name: string }; input: { MaxItems?: number } }) {
        inputs.push({ op: cmd.constructor.name.replace(/Command$/, ''), MaxItems: cmd.input.MaxItems });
        return cmd.constructor.name.startsWith('GetAccount') ? { RoleDetailList: [], IsTruncated: false } : { Roles: [], IsTruncated: false };
      },
    } as unknown as IAMClient;
    await new RoleCache({ iamFor: () => client, pathPrefix: '/awi/', maxAgeMs: 0 }).refresh('111122223333');
    expect(inputs).toEqual([{ op: 'GetAccountAuthorizationDetails', MaxItems: 1000 }, { op: 'ListRoles', MaxItems: 1000 }]);
  });

  it('forgets a write no direct read confirmed after 15 minutes of page reads', async () => {
    let t = 1000;
    const { client } = fakeIam(world());
    const cache = new RoleCache({ iamFor: () => client, pathPrefix: '/awi/', maxAgeMs: 60_000, now: () => t });
    cache.wrote('111122223333', 'r1');
    t += 16 * 60_000;
    await cache.refresh('111122223333');
    expect(await cache.lookup('111122223333', 'r1')).toMatchObject({ value: { role: { name: 'r1' } } });
  });

  it('a change made between two page reads is caught by the next refresh, never lost', async () => {
    let t = 1000;
    const state = world();
    // After the first details page (r1, r2) was read, someone adds s3:* to r1's inline policy.
    const { client, calls } = fakeIam(state, 2, (op, n) => {
      if (op === 'GetAccountAuthorizationDetails' && n === 2) state.details[0]!.RolePolicyList = [{ PolicyName: 'awi-permissions', PolicyDocument: doc('s3:*') }];
    });
    const cache = new RoleCache({ iamFor: () => client, pathPrefix: '/awi/', maxAgeMs: 0, now: () => t });
    const first = await cache.lookup('111122223333', 'r1');
    // That read began before the change: it may show the old policy (what was true when it began).
    expect(first).toMatchObject({ observedAt: 1000 });
    expect(JSON.stringify(first)).toContain('s3:GetObject');
    t = 2000;
    const second = await cache.lookup('111122223333', 'r1');
    expect(calls.length).toBe(12);
    expect(JSON.stringify(second)).toContain('"s3:*"');
  });

  it('with maxAge 0 a lookup waits for pages read after it began, not for a read already under way', async () => {
    let t = 1000;
    const { client, calls } = fakeIam(world(), 10);
    const cache = new RoleCache({ iamFor: () => client, pathPrefix: '/awi/', maxAgeMs: 0, now: () => t });
    const a = cache.lookup('111122223333', 'r1');
    t = 1001; // a lookup that begins after the first read started must not use it
    const b = cache.lookup('111122223333', 'r1');
    const c = cache.lookup('111122223333', 'r2'); // but one beginning at the same time shares the second
    await Promise.all([a, b, c]);
    expect(calls).toEqual(['GetAccountAuthorizationDetails', 'GetAccountAuthorizationDetails', 'ListRoles', 'ListRoles']);
    expect(await b).toMatchObject({ observedAt: 1001 });
  });
});

describe('statusUnchanged (quiet writes)', () => {
  const current = { roleArn: 'arn:x', applied: { generation: 2, roleArn: 'arn:x' }, conditions: [{ type: 'Ready', status: 'True' }], observedGeneration: 2 };
  it('finds nothing to write when every field is the same, whatever the key order, and null matches absent', () => {
    expect(statusUnchanged(current, { observedGeneration: 2, conditions: [{ status: 'True', type: 'Ready' }], applied: { roleArn: 'arn:x', generation: 2 }, roleArn: 'arn:x', associationId: null })).toBe(true);
  });
  it('writes when any field differs, or when there is no status yet', () => {
    expect(statusUnchanged(current, { roleArn: 'arn:y' })).toBe(false);
    expect(statusUnchanged(current, { conditions: [{ type: 'Ready', status: 'False' }] })).toBe(false);
    expect(statusUnchanged(current, { lastDriftCheckTime: '2026-01-01T00:00:00Z' })).toBe(false);
    expect(statusUnchanged(undefined, { roleArn: 'arn:x' })).toBe(false);
  });
});

describe('RoleCache without the page permissions', () => {
  it('answers unknown (per-claim reads) on AccessDenied, and passes other errors on', async () => {
    let error: Error = Object.assign(new Error('not authorized'), { name: 'AccessDenied' });
    const client = { send: async () => { throw error; } } as unknown as IAMClient;
    const cache = new RoleCache({ iamFor: () => client, pathPrefix: '/awi/', maxAgeMs: 0 });
    expect(await cache.lookup('111122223333', 'r1')).toBe('unknown');
    error = Object.assign(new Error('busy'), { name: 'ServiceUnavailable' });
    await expect(cache.lookup('111122223333', 'r1')).rejects.toThrow('busy');
  });
});
