// awi inventory without servers: rows from claims, the checks against AWS,
// orphan detection, the output formats, and the gathering logic over fake
// sources (including ListRoles/ListRoleTags pagination).
import { describe, expect, it } from '@jest/globals';
import { ListRolesCommand, ListRoleTagsCommand } from '@aws-sdk/client-iam';
import type { AwsWorkloadIdentityClaim } from '../../src/api/types.js';
import { collectInventory, formatInventory, listRolesWithTags, type AwsRole, type InventorySources } from '../../src/inventory/index.js';
import { checkClaim, claimRow, findOrphans, type InventoryRow } from '../../src/inventory/join.js';
import { csvField } from '../../src/inventory/format.js';
import { exampleConfig, loadExample } from '../fixtures/claims.js';

const config = exampleConfig(); // cluster prod-platform-a, account 111122223333, roles under /awi/
const CLUSTER = config.cluster.arn; // ownership tags identify the cluster by ARN
const ACCOUNT = config.cluster.accountId;
const arnOf = (name: string) => `arn:aws:iam::${ACCOUNT}:role/awi/${name}`;

function claim(namespace: string, name: string, over: { mechanism?: 'IRSA' | 'PodIdentity'; status?: Record<string, unknown>; uid?: string; owner?: string } = {}): AwsWorkloadIdentityClaim {
  const base = loadExample('checkout-api-s3-read');
  return {
    ...base,
    metadata: { name, namespace, ...(over.uid ? { uid: over.uid } : {}) },
    spec: { ...base.spec, serviceAccountName: `${name}-sa`, mechanism: over.mechanism ?? 'PodIdentity', owner: over.owner ?? 'checkout-team' },
    ...(over.status ? { status: over.status } : {}),
  } as AwsWorkloadIdentityClaim;
}

const readyStatus = (roleArn: string, mechanism = 'PodIdentity') => ({
  mechanism,
  roleArn,
  conditions: [{ type: 'Ready', status: 'True', reason: 'Reconciled', message: 'ok', lastTransitionTime: '2026-11-23T10:00:00Z' }],
});

const ownTags = (namespace: string, name: string, extra: Record<string, string> = {}) => ({
  'awi.dev/managed-by': 'awi', 'awi.dev/cluster': CLUSTER, 'awi.dev/namespace': namespace, 'awi.dev/claim': name,
  'awi.dev/owner': 'checkout-team', 'awi.dev/environment': 'prod', platform: 'awi', ...extra,
});
const role = (name: string, tags: Record<string, string>, created = '2026-11-20T08:00:00.000Z'): AwsRole => ({ arn: arnOf(name), name, path: '/awi/', accountId: ACCOUNT, tags, created });

describe('claimRow', () => {
  it('reports what the controller wrote: mechanism, role, Ready and when it last changed', () => {
    const row = claimRow(claim('checkout-prod', 'api', { status: readyStatus(arnOf('r')) }), config);
    expect(row).toEqual({
      cluster: CLUSTER, namespace: 'checkout-prod', name: 'api', serviceAccount: 'api-sa', mechanism: 'PodIdentity',
      roleArn: arnOf('r'), owner: 'checkout-team', environment: 'prod', ready: 'True', reason: 'Reconciled', lastChange: '2026-11-23T10:00:00Z',
    });
  });

  it('a claim not reconciled yet shows the role it compiles to and Ready Unknown', () => {
    const row = claimRow(claim('checkout-prod', 'new', { mechanism: 'IRSA' }), config);
    expect(row).toMatchObject({ mechanism: 'IRSA', roleArn: arnOf(`${CLUSTER}-checkout-prod-new-sa`), ready: 'Unknown', reason: '', lastChange: '' });
  });

  it('a claim that does not compile shows no role', () => {
    const bad = claim('checkout-prod', 'bad');
    (bad.spec as { serviceAccountName: string }).serviceAccountName = 'default';
    expect(claimRow(bad, config).roleArn).toBe('');
  });
});

describe('checkClaim', () => {
  const c = claim('checkout-prod', 'api', { uid: 'u-1', status: readyStatus(arnOf('r')) });
  const row = claimRow(c, config);
  const tags = ownTags('checkout-prod', 'api', { 'awi.dev/claim-uid': 'u-1' });
  const ours = [{ associationId: 'a-1', roleArn: arnOf('r') }];

  it('all ok when the role carries the claim tags and the association points at it', () => {
    expect(checkClaim(c, row, role('r', tags), { mechanism: 'PodIdentity', associations: ours })).toEqual({ role: 'ok', tags: 'ok', binding: 'ok', ok: true });
  });

  it('names the tags that differ; a different claim, namespace or cluster means not owned', () => {
    expect(checkClaim(c, row, role('r', { ...tags, 'awi.dev/owner': 'someone' }), { mechanism: 'PodIdentity', associations: ours }))
      .toEqual({ role: 'ok', tags: 'differs: awi.dev/owner', binding: 'ok', ok: false });
    expect(checkClaim(c, row, role('r', { ...tags, 'awi.dev/claim': 'other', 'awi.dev/claim-uid': 'u-2' }), { mechanism: 'PodIdentity', associations: ours }))
      .toMatchObject({ role: 'not owned', tags: 'differs: awi.dev/claim,awi.dev/claim-uid' });
    expect(checkClaim(c, row, role('r', {}), { mechanism: 'PodIdentity', associations: ours }).role).toBe('not owned');
  });

  it('a missing role or association is reported as missing; one pointing elsewhere names the role', () => {
    expect(checkClaim(c, row, undefined, { mechanism: 'PodIdentity', associations: [] })).toEqual({ role: 'missing', tags: '-', binding: 'missing', ok: false });
    expect(checkClaim(c, row, role('r', tags), { mechanism: 'PodIdentity', associations: [{ associationId: 'a-2', roleArn: arnOf('x') }] }).binding).toBe(`elsewhere: ${arnOf('x')}`);
  });

  it('IRSA: the annotation must name the role', () => {
    const irsa = claim('checkout-prod', 'api', { uid: 'u-1', mechanism: 'IRSA', status: readyStatus(arnOf('r'), 'IRSA') });
    const irsaRow = claimRow(irsa, config);
    const check = (sa?: { roleArnAnnotation?: string }) => checkClaim(irsa, irsaRow, role('r', tags), { mechanism: 'IRSA', ...(sa ? { serviceAccount: sa } : {}) }).binding;
    expect(check({ roleArnAnnotation: arnOf('r') })).toBe('ok');
    expect(check({})).toBe('missing');
    expect(check({ roleArnAnnotation: arnOf('x') })).toBe(`elsewhere: ${arnOf('x')}`);
    expect(check()).toBe('no ServiceAccount');
  });

  it('an AWS error makes the check unknown rather than wrong', () => {
    expect(checkClaim(c, row, { error: 'AccessDenied: no' }, { error: 'Throttling: slow down' }))
      .toEqual({ role: 'unknown: AccessDenied: no', tags: '-', binding: 'unknown: Throttling: slow down', ok: false });
  });
});

describe('findOrphans', () => {
  const rows: InventoryRow[] = [claimRow(claim('team-a', 'api', { status: readyStatus(arnOf('api-role')) }), config)];

  it('lists roles tagged for this cluster with no claim, or not the claim\'s current role, and marks released ones', () => {
    const roles = [
      role('api-role', ownTags('team-a', 'api')),
      role('api-old-role', ownTags('team-a', 'api')), // the claim's ServiceAccount changed since
      role('gone-role', ownTags('team-b', 'gone')),
      role('kept-role', ownTags('team-b', 'kept', { 'awi.dev/released': 'true' })),
      role('other-cluster', { ...ownTags('team-b', 'x'), 'awi.dev/cluster': 'prod-platform-b' }),
      role('hand-made', { team: 'x' }),
    ];
    expect(findOrphans(roles, rows, CLUSTER).map((o) => [o.roleArn.split('/').pop(), o.namespace, o.claim, o.status])).toEqual([
      ['api-old-role', 'team-a', 'api', "not the claim's role"],
      ['gone-role', 'team-b', 'gone', 'no claim'],
      ['kept-role', 'team-b', 'kept', 'released'],
    ]);
  });

  it('with a namespace, looks only at roles tagged with it', () => {
    const roles = [role('gone-role', ownTags('team-b', 'gone')), role('a-gone', ownTags('team-a', 'gone'))];
    expect(findOrphans(roles, rows, CLUSTER, 'team-a').map((o) => o.claim)).toEqual(['gone']);
    expect(findOrphans(roles, rows, CLUSTER, 'team-a')[0]!.namespace).toBe('team-a');
  });
});

describe('formats', () => {
  const inventory = {
    cluster: CLUSTER,
    claims: [
      { ...claimRow(claim('team-a', 'api', { status: readyStatus(arnOf('a')) }), config), aws: { role: 'ok', tags: 'ok', binding: 'ok', ok: true } },
      { ...claimRow(claim('team-b', 'worker,1', { mechanism: 'IRSA' }), config), aws: { role: 'missing', tags: '-', binding: 'missing', ok: false } },
    ],
    orphans: [{ accountId: ACCOUNT, roleArn: arnOf('gone'), namespace: 'team-c', claim: 'gone', owner: 'x', environment: 'prod', created: '2026-11-20T08:00:00.000Z', status: 'no claim' as const }],
  };

  it('table: aligned columns, three spaces apart, AWS columns and the orphan section with --aws', () => {
    const lines = formatInventory(inventory, 'table');
    expect(lines[0]).toMatch(/^CLUSTER\s{3,}NAMESPACE\s{3,}NAME\s{3,}SERVICEACCOUNT\s{3,}MECHANISM\s{3,}ROLE\s{3,}OWNER\s{3,}ENVIRONMENT\s{3,}READY\s{3,}REASON\s{3,}LAST-CHANGE\s{3,}AWS-ROLE\s{3,}AWS-TAGS\s{3,}AWS-BINDING$/);
    // Every column starts at the same offset on every line.
    const starts = (line: string, word: string) => line.indexOf(word);
    expect(starts(lines[1]!, 'team-a')).toBe(starts(lines[0]!, 'NAMESPACE'));
    expect(starts(lines[2]!, 'team-b')).toBe(starts(lines[0]!, 'NAMESPACE'));
    expect(lines[2]).toContain('<none>'); // no Ready transition yet
    expect(lines[3]).toBe('');
    expect(lines[4]).toBe(`Roles tagged awi.dev/managed-by=awi for cluster ${CLUSTER} that no claim accounts for:`);
    expect(lines[5]).toMatch(/^ACCOUNT\s+ROLE\s+NAMESPACE\s+CLAIM\s+OWNER\s+CREATED\s+STATUS$/);
    expect(lines[6]).toMatch(new RegExp(`^${ACCOUNT}\\s+${arnOf('gone')}\\s+team-c\\s+gone\\s+x\\s+2026-11-20T08:00:00.000Z\\s+no claim$`));
    for (const l of lines) expect(l).toBe(l.trimEnd());
  });

  it('table without --aws: no AWS columns and no orphan section; an empty cluster says so', () => {
    const lines = formatInventory({ cluster: CLUSTER, claims: inventory.claims.map(({ aws: _, ...r }) => r) }, 'table');
    expect(lines).toHaveLength(3);
    expect(lines[0]).not.toContain('AWS-');
    expect(formatInventory({ cluster: CLUSTER, claims: [] }, 'table')).toEqual([`No AwsWorkloadIdentityClaims found in cluster ${CLUSTER}.`]);
  });

  it('csv: one header, claims then orphan roles, fields quoted when needed', () => {
    const lines = formatInventory(inventory, 'csv');
    expect(lines[0]).toBe('record,cluster,namespace,name,serviceAccount,mechanism,roleArn,owner,environment,ready,reason,lastChange,awsRole,awsTags,awsBinding');
    expect(lines[1]).toBe(`claim,${CLUSTER},team-a,api,api-sa,PodIdentity,${arnOf('a')},checkout-team,prod,True,Reconciled,2026-11-23T10:00:00Z,ok,ok,ok`);
    expect(lines[2]).toContain(',"worker,1","worker,1-sa",IRSA,');
    expect(lines[3]).toBe(`orphan-role,${CLUSTER},team-c,gone,,,${arnOf('gone')},x,prod,,,,no claim,,`);
    expect(csvField('plain text')).toBe('plain text');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
  });

  it('json: the inventory as data', () => {
    const parsed = JSON.parse(formatInventory(inventory, 'json').join('\n'));
    expect(parsed).toEqual(inventory);
  });
});

describe('collectInventory', () => {
  const api = claim('team-a', 'api', { uid: 'u-1', status: readyStatus(arnOf('api-role')) });
  const moved = claim('team-a', 'moved', { mechanism: 'IRSA', status: readyStatus(`arn:aws:iam::${ACCOUNT}:role/old-path/moved-role`, 'IRSA') });
  const listed = [role('api-role', ownTags('team-a', 'api', { 'awi.dev/claim-uid': 'u-1' })), role('gone-role', ownTags('team-b', 'gone'))];

  function sources(over: Partial<InventorySources> = {}): InventorySources & { calls: string[] } {
    const calls: string[] = [];
    const log = <T>(name: string, value: T) => {
      calls.push(name);
      return value;
    };
    return {
      calls,
      listClaims: async (ns) => log(`listClaims:${ns ?? '*'}`, [api, moved].filter((c) => !ns || c.metadata.namespace === ns)),
      serviceAccount: async (ns, name) => log(`serviceAccount:${ns}/${name}`, { roleArnAnnotation: `arn:aws:iam::${ACCOUNT}:role/old-path/moved-role` }),
      listRoles: async (account, path) => log(`listRoles:${account}:${path}`, listed),
      getRole: async (account, name) => log(`getRole:${account}:${name}`, undefined),
      associations: async (ns, sa) => log(`associations:${ns}/${sa}`, [{ associationId: 'a-1', roleArn: arnOf('api-role') }]),
      ...over,
    };
  }

  it('without --aws reads only the cluster', async () => {
    const s = sources();
    const inv = await collectInventory({ config, aws: false }, s);
    expect(s.calls).toEqual(['listClaims:*']);
    expect(inv.orphans).toBeUndefined();
    expect(inv.claims.map((r) => r.name)).toEqual(['api', 'moved']);
  });

  it('with --aws checks every claim, asks for roles outside the path by name, and finds orphans', async () => {
    const s = sources();
    const inv = await collectInventory({ config, aws: true }, s);
    expect(s.calls).toEqual([
      `listClaims:*`,
      `listRoles:${ACCOUNT}:/awi/`,
      'associations:team-a/api-sa',
      `getRole:${ACCOUNT}:moved-role`,
      'serviceAccount:team-a/moved-sa',
    ]);
    expect(inv.claims.map((r) => [r.name, r.aws])).toEqual([
      ['api', { role: 'ok', tags: 'ok', binding: 'ok', ok: true }],
      ['moved', { role: 'missing', tags: '-', binding: 'ok', ok: false }],
    ]);
    expect(inv.orphans!.map((o) => o.claim)).toEqual(['gone']);
  });

  it('a role under the configured path that the listing does not have is missing, without asking again', async () => {
    const lost = claim('team-a', 'lost', { status: readyStatus(arnOf('lost-role')) });
    const s = sources({ listClaims: async () => [lost] });
    const inv = await collectInventory({ config, aws: true }, s);
    expect(inv.claims[0]!.aws!.role).toBe('missing');
    expect(s.calls.filter((c) => c.startsWith('getRole'))).toEqual([]);
  });

  it('an AWS error on one claim is reported on that claim; listing roles failing fails the command', async () => {
    const inv = await collectInventory({ config, aws: true }, sources({ associations: async () => { throw Object.assign(new Error('slow down'), { name: 'ThrottlingException' }); } }));
    expect(inv.claims[0]!.aws!.binding).toBe('unknown: ThrottlingException: slow down');
    await expect(collectInventory({ config, aws: true }, sources({ listRoles: async () => { throw new Error('AccessDenied'); } }))).rejects.toThrow('AccessDenied');
  });

  it('-n limits claims and orphans to the namespace', async () => {
    const inv = await collectInventory({ config, aws: true, namespace: 'team-b' }, sources());
    expect(inv.claims).toEqual([]);
    expect(inv.orphans!.map((o) => `${o.namespace}/${o.claim}`)).toEqual(['team-b/gone']);
  });
});

describe('listRolesWithTags', () => {
  it('follows ListRoles and ListRoleTags pagination and keeps the path prefix', async () => {
    const sent: string[] = [];
    const iam = {
      send: async (command: ListRolesCommand | ListRoleTagsCommand) => {
        const input = command.input as Record<string, any>;
        sent.push(`${command.constructor.name}:${input.RoleName ?? input.PathPrefix}:${input.Marker ?? ''}`);
        if (command instanceof ListRolesCommand) {
          return input.Marker
            ? { Roles: [{ RoleName: 'b', Arn: arnOf('b'), Path: '/awi/' }], IsTruncated: false }
            : { Roles: [{ RoleName: 'a', Arn: arnOf('a'), Path: '/awi/', CreateDate: new Date('2026-01-02T03:04:05Z') }], IsTruncated: true, Marker: 'm1' };
        }
        if (input.RoleName === 'a' && !input.Marker) return { Tags: [{ Key: 'k1', Value: 'v1' }], IsTruncated: true, Marker: 't1' };
        return { Tags: [{ Key: `k-${input.RoleName}-${input.Marker ?? ''}`, Value: 'v' }], IsTruncated: false };
      },
    };
    const roles = await listRolesWithTags(iam as never, ACCOUNT, '/awi/');
    expect(roles).toEqual([
      { arn: arnOf('a'), name: 'a', path: '/awi/', accountId: ACCOUNT, tags: { k1: 'v1', 'k-a-t1': 'v' }, created: '2026-01-02T03:04:05Z' },
      { arn: arnOf('b'), name: 'b', path: '/awi/', accountId: ACCOUNT, tags: { 'k-b-': 'v' } },
    ]);
    expect(sent).toEqual([
      'ListRolesCommand:/awi/:', 'ListRoleTagsCommand:a:', 'ListRoleTagsCommand:a:t1', 'ListRolesCommand:/awi/:m1', 'ListRoleTagsCommand:b:',
    ]);
  });
});
