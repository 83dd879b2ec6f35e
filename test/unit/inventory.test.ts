// awi inventory without servers: rows from claims, the checks against AWS,
// orphan detection, the output formats, and the gathering logic over fake
// sources (including ListRoles/ListRoleTags pagination).
import { describe, expect, it } from '@jest/globals';
import { ListRolesCommand, ListRoleTagsCommand } from '@aws-sdk/client-iam';
import type { AwsWorkloadIdentityClaim, ClaimStatus, ConditionStatus } from '../../src/api/types.js';
import { collectInventory, formatInventory, listRolesWithTags, type AwsRole, type Inventory, type InventorySources } from '../../src/inventory/index.js';
import {
  checkClaim, claimRow, expectedState, federatedProviders, findBindings, findOrphans,
  type ClaimObservation, type InventoryRow, type LiveAssociation, type LiveServiceAccount, type RolePolicies,
} from '../../src/inventory/join.js';
import { compileClaim } from '../../src/compiler/compile.js';
import { csvField } from '../../src/inventory/format.js';
import { configWith, loadExample } from '../fixtures/claims.js';

// The example config (cluster prod-platform-a, account 111122223333, roles under /awi/), with the
// team-* namespaces these tests use governed by a guardrail that reaches any resource.
const config = configWith((raw) => raw.guardrails.push({ namespaces: ['team-*'], allowedAccounts: ['111122223333'], allowedResourcePatterns: ['arn:*'] }));
const CLUSTER = config.cluster.name;
const ACCOUNT = config.cluster.accountId;
const arnOf = (name: string) => `arn:aws:iam::${ACCOUNT}:role/awi/${name}`;

function claim(namespace: string, name: string, over: { mechanism?: 'IRSA' | 'PodIdentity'; status?: ClaimStatus; uid?: string; owner?: string } = {}): AwsWorkloadIdentityClaim {
  const base = loadExample('checkout-api-s3-read');
  return {
    ...base,
    metadata: { name, namespace, ...(over.uid ? { uid: over.uid } : {}) },
    spec: { ...base.spec, serviceAccountName: `${name}-sa`, mechanism: over.mechanism ?? 'PodIdentity', owner: over.owner ?? 'checkout-team' },
    ...(over.status ? { status: over.status } : {}),
  } as AwsWorkloadIdentityClaim;
}

const readyStatus = (roleArn: string, mechanism: 'IRSA' | 'PodIdentity' = 'PodIdentity'): ClaimStatus => ({
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

/** What AWS and the cluster show for a claim that awi reconciled exactly: the live side of its desired state. */
function liveOf(c: AwsWorkloadIdentityClaim) {
  const expected = expectedState(c, config)!;
  const d = expected.desired;
  const role: AwsRole = { arn: d.role.arn, name: d.role.name, path: d.role.path, accountId: d.accountId, tags: { ...d.role.tags }, trustPolicy: encodeURIComponent(JSON.stringify(d.role.trustPolicy)) };
  const policies: RolePolicies = { inline: { [d.permissionPolicy.name]: encodeURIComponent(JSON.stringify(d.permissionPolicy.document)) }, attached: [...d.managedPolicyArns] };
  const association: LiveAssociation = { associationId: 'a-1', namespace: d.claim.namespace, serviceAccount: d.serviceAccount.name, roleArn: d.role.arn, disableSessionTags: false, tags: d.binding.kind === 'PodIdentityAssociation' ? { ...d.binding.tags } : {} };
  const serviceAccount: LiveServiceAccount = { namespace: d.claim.namespace, name: d.serviceAccount.name, labels: { ...d.serviceAccount.labels }, annotations: { ...d.serviceAccount.annotations } };
  return { expected, d, role, policies, association, serviceAccount };
}

const ALL_OK = { role: 'ok', tags: 'ok', policy: 'ok', trust: 'ok', binding: 'ok', provider: '-', verified: '-', ok: true };
const SQS_EVERYTHING = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sqs:*', Resource: '*' }] });

describe('checkClaim (the audit of one claim)', () => {
  const c = claim('checkout-prod', 'api', { uid: 'u-1' });
  c.status = readyStatus(expectedState(c, config)!.desired.role.arn);
  const row = claimRow(c, config);
  const pod = (over: Partial<ClaimObservation> = {}, assoc: Partial<LiveAssociation> = {}): ClaimObservation => {
    const l = liveOf(c);
    return { role: l.role, policies: l.policies, binding: { mechanism: 'PodIdentity', associations: [{ ...l.association, ...assoc }] }, ...over };
  };

  it('all ok when role, tags, policy and trust digests and every association field match the claim', () => {
    const check = checkClaim(c, row, expectedState(c, config), pod());
    expect(check).toMatchObject(ALL_OK);
    expect(check.digests!.policy!.live).toBe(check.digests!.policy!.desired);
    expect(check.digests!.trust!.live).toBe(check.digests!.trust!.desired);
  });

  it('compares policies by meaning: reordered statements and values are still ok', () => {
    const l = liveOf(c);
    const doc = l.d.permissionPolicy.document;
    const shuffled = { Version: doc.Version, Statement: [...doc.Statement].reverse().map((st) => ({ ...st, Action: [st.Action].flat().reverse() })) };
    expect(checkClaim(c, row, l.expected, pod({ policies: { inline: { [l.d.permissionPolicy.name]: JSON.stringify(shuffled) }, attached: [] } })).policy).toBe('ok');
  });

  it('a rewritten inline policy (sqs:* on *) differs, with both digests; extra inline and managed policies are named', () => {
    const l = liveOf(c);
    const name = l.d.permissionPolicy.name;
    const check = checkClaim(c, row, l.expected, pod({ policies: { inline: { [name]: SQS_EVERYTHING }, attached: [] } }));
    expect(check.policy).toBe('differs');
    expect(check.ok).toBe(false);
    expect(check.digests!.policy!.live).not.toBe(check.digests!.policy!.desired);
    const extra = checkClaim(c, row, l.expected, pod({ policies: { inline: { ...l.policies.inline, 'hand-made': SQS_EVERYTHING }, attached: ['arn:aws:iam::aws:policy/AdministratorAccess'] } }));
    expect(extra.policy).toBe('extra inline: hand-made; extra managed: arn:aws:iam::aws:policy/AdministratorAccess');
    expect(checkClaim(c, row, l.expected, pod({ policies: { inline: {}, attached: [] } })).policy).toBe(`missing inline ${name}`);
  });

  it('a trust edited by hand differs; one trusting both mechanisms (a switch) is called dual', () => {
    const l = liveOf(c);
    const broad = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'sts:AssumeRole' }] });
    expect(checkClaim(c, row, l.expected, pod({ role: { ...l.role, trustPolicy: broad } })).trust).toBe('differs');
    const dual = compileClaim(c, config, { alsoTrust: 'IRSA' });
    if (!dual.ok) throw new Error('the dual trust must compile');
    expect(checkClaim(c, row, l.expected, pod({ role: { ...l.role, trustPolicy: JSON.stringify(dual.desired.role.trustPolicy) } })).trust).toBe('dual: trusts both mechanisms');
  });

  it('every association field is compared: target role, session tags, session policy, role, tags', () => {
    const e = expectedState(c, config);
    const broad = `arn:aws:iam::${ACCOUNT}:role/broad`;
    expect(checkClaim(c, row, e, pod({}, { targetRoleArn: broad, externalId: 'x' })).binding).toBe(`differs: targetRoleArn=${broad}`);
    expect(checkClaim(c, row, e, pod({}, { disableSessionTags: true })).binding).toBe('differs: disableSessionTags=true');
    const withPolicy = checkClaim(c, row, e, pod({}, { policy: SQS_EVERYTHING, disableSessionTags: true })).binding;
    expect(withPolicy).toMatch(/^differs: disableSessionTags=true, policy=sha256:[0-9a-f]{64}$/);
    expect(checkClaim(c, row, e, pod({}, { roleArn: broad })).binding).toBe(`differs: roleArn=${broad}`);
    const l = liveOf(c);
    expect(checkClaim(c, row, e, pod({}, { tags: { ...l.association.tags, 'awi.dev/owner': 'x' } })).binding).toBe('differs: tags=awi.dev/owner');
    expect(checkClaim(c, row, e, pod({}, { targetRoleArn: broad })).ok).toBe(false);
  });

  it('an association without this claim\'s tags is not owned; none is missing', () => {
    const e = expectedState(c, config);
    expect(checkClaim(c, row, e, pod({}, { associationId: 'a-9', tags: {}, roleArn: arnOf('x') })).binding).toBe(`not owned: a-9 (${arnOf('x')})`);
    expect(checkClaim(c, row, e, { ...pod(), binding: { mechanism: 'PodIdentity', associations: [] } }).binding).toBe('missing');
  });

  it('an association tagged for this claim on another cluster is not owned, as the controller decides it', () => {
    const l = liveOf(c);
    const elsewhere = { ...l.association.tags, 'awi.dev/cluster': 'arn:aws:eks:eu-west-1:444455556666:cluster/prod-platform-a' };
    expect(checkClaim(c, row, l.expected, pod({}, { tags: elsewhere })).binding).toBe(`not owned: a-1 (${l.association.roleArn})`);
  });

  it('names the tags that differ; a different claim, namespace or cluster means not owned (and nothing else is compared)', () => {
    const l = liveOf(c);
    const e = l.expected;
    expect(checkClaim(c, row, e, pod({ role: { ...l.role, tags: { ...l.role.tags, 'awi.dev/owner': 'someone' } } }))).toMatchObject({ role: 'ok', tags: 'differs: awi.dev/owner', ok: false });
    const other = checkClaim(c, row, e, pod({ role: { ...l.role, tags: { ...l.role.tags, 'awi.dev/claim': 'other', 'awi.dev/claim-uid': 'u-2' } } }));
    expect(other).toMatchObject({ role: 'not owned', tags: 'differs: awi.dev/claim,awi.dev/claim-uid', policy: '-', trust: '-' });
    expect(checkClaim(c, row, e, pod({ role: { ...l.role, tags: { ...l.role.tags, 'awi.dev/cluster': 'another-cluster' } } })).role).toBe('not owned');
    expect(checkClaim(c, row, e, pod({ role: undefined })).role).toBe('missing');
  });

  it('IRSA: the annotation on awi\'s ServiceAccount must name the role; the OIDC provider must exist and list sts.amazonaws.com', () => {
    const irsa = claim('checkout-prod', 'api', { uid: 'u-1', mechanism: 'IRSA' });
    irsa.status = readyStatus(expectedState(irsa, config)!.desired.role.arn, 'IRSA');
    const irsaRow = claimRow(irsa, config);
    const l = liveOf(irsa);
    const [provider] = federatedProviders(l.d);
    expect(provider).toMatch(/:oidc-provider\/oidc\.eks\.ap-southeast-1\.amazonaws\.com\/id\//);
    const providers = { [provider!]: { arn: provider!, clientIds: ['sts.amazonaws.com'] } };
    const obs = (sa: LiveServiceAccount | undefined, p: ClaimObservation['providers'] = providers): ClaimObservation => ({
      role: l.role, policies: l.policies, binding: { mechanism: 'IRSA', ...(sa ? { serviceAccount: sa } : {}) }, providers: p,
    });
    expect(checkClaim(irsa, irsaRow, l.expected, obs(l.serviceAccount))).toMatchObject({ ...ALL_OK, provider: 'ok' });
    expect(checkClaim(irsa, irsaRow, l.expected, obs({ ...l.serviceAccount, annotations: {} })).binding).toBe('missing');
    expect(checkClaim(irsa, irsaRow, l.expected, obs({ ...l.serviceAccount, annotations: { 'eks.amazonaws.com/role-arn': arnOf('x') } })).binding).toBe(`differs: eks.amazonaws.com/role-arn=${arnOf('x')}`);
    expect(checkClaim(irsa, irsaRow, l.expected, obs({ ...l.serviceAccount, labels: {} })).binding).toBe('not owned');
    expect(checkClaim(irsa, irsaRow, l.expected, obs(undefined)).binding).toBe('no ServiceAccount');
    const missing = checkClaim(irsa, irsaRow, l.expected, obs(l.serviceAccount, { [provider!]: undefined }));
    expect(missing).toMatchObject({ provider: `missing: ${provider}`, ok: false });
    expect(checkClaim(irsa, irsaRow, l.expected, obs(l.serviceAccount, { [provider!]: { arn: provider!, clientIds: ['vault'] } })).provider).toBe(`no sts.amazonaws.com client ID: ${provider}`);
  });

  it('reads the last credential verification: False fails the audit, absent is "-"', () => {
    const verifiedClaim = (status: ConditionStatus, reason: string) => {
      const v = claim('checkout-prod', 'api', { uid: 'u-1' });
      const s = readyStatus(expectedState(v, config)!.desired.role.arn);
      v.status = { ...s, conditions: [...(s.conditions ?? []), { type: 'CredentialsVerified', status, reason, message: 'm', lastTransitionTime: '2026-11-23T10:00:00Z' }] };
      return v;
    };
    const t = verifiedClaim('True', 'Verified');
    expect(checkClaim(t, claimRow(t, config), expectedState(t, config), pod())).toMatchObject({ verified: 'True', ok: true });
    const f = verifiedClaim('False', 'UnexpectedRole');
    expect(checkClaim(f, claimRow(f, config), expectedState(f, config), pod())).toMatchObject({ verified: 'False: UnexpectedRole', ok: false });
  });

  it('a claim edited into an invalid one is audited against the last valid spec awi recorded', () => {
    const edited = claim('checkout-prod', 'api', { uid: 'u-1' });
    const validSpec = edited.spec;
    const roleArn = expectedState(edited, config)!.desired.role.arn;
    edited.status = { ...readyStatus(roleArn), applied: { generation: 1, spec: validSpec, mechanism: 'PodIdentity', roleArn } };
    edited.spec = { ...validSpec, permissions: { s3: [{ bucket: '*', access: ['read'] }] } } as never;
    expect(compileClaim(edited, config).ok).toBe(false);
    const e = expectedState(edited, config);
    expect(e?.source).toBe('applied');
    expect(checkClaim(edited, claimRow(edited, config), e, pod())).toMatchObject(ALL_OK);
  });

  it('an AWS error makes the check unknown rather than wrong', () => {
    const e = expectedState(c, config);
    expect(checkClaim(c, row, e, { role: { error: 'AccessDenied: no' }, binding: { error: 'Throttling: slow down' } }))
      .toMatchObject({ role: 'unknown: AccessDenied: no', tags: '-', policy: '-', trust: '-', binding: 'unknown: Throttling: slow down', ok: false });
    expect(checkClaim(c, row, e, pod({ policies: { error: 'AccessDenied: GetRolePolicy' } })).policy).toBe('unknown: AccessDenied: GetRolePolicy');
  });
});

describe('findBindings (bindings outside awi)', () => {
  const api = claim('team-a', 'api');
  const l = liveOf(api);
  const awiSa = l.serviceAccount;
  const sa = (namespace: string, name: string, labels: Record<string, string>, annotations: Record<string, string>): LiveServiceAccount => ({ namespace, name, labels, annotations });

  it('a ServiceAccount annotated with a role without awi\'s labels, and an association without awi\'s tags, are foreign', () => {
    const found = findBindings([api], [awiSa, sa('team-a', 'hand', {}, { 'eks.amazonaws.com/role-arn': arnOf('hand') }), sa('team-a', 'plain', {}, {})], [
      l.association,
      { associationId: 'a-f', namespace: 'team-b', serviceAccount: 'x', roleArn: arnOf('r'), targetRoleArn: arnOf('t'), disableSessionTags: false, tags: { team: 'b' } },
    ]);
    expect(found.map((f) => [f.kind, `${f.namespace}/${f.serviceAccount}`, f.roleArn, f.associationId ?? '-'])).toEqual([
      ['foreign ServiceAccount', 'team-a/hand', arnOf('hand'), '-'],
      ['foreign association', 'team-b/x', arnOf('t'), 'a-f'],
    ]);
  });

  it('awi\'s ServiceAccounts and associations whose claim is gone, binds another ServiceAccount, or uses IRSA are orphaned', () => {
    const gone = claim('team-a', 'gone');
    const goneLive = liveOf(gone);
    const irsaNow = claim('team-a', 'switched', { status: { mechanism: 'IRSA' } });
    const switchedAssoc = { ...liveOf(claim('team-a', 'switched')).association, associationId: 'a-s' };
    const found = findBindings([api, irsaNow], [awiSa, goneLive.serviceAccount], [l.association, { ...goneLive.association, associationId: 'a-g' }, switchedAssoc, { ...l.association, associationId: 'a-o', serviceAccount: 'other-sa' }]);
    expect(found.map((f) => [f.kind, f.serviceAccount, f.claim, f.detail])).toEqual([
      ['orphaned ServiceAccount', 'gone-sa', 'gone', 'claim team-a/gone does not exist'],
      ['orphaned association', 'gone-sa', 'gone', 'claim team-a/gone does not exist'],
      ['orphaned association', 'other-sa', 'api', 'claim team-a/api binds ServiceAccount api-sa'],
      ['orphaned association', 'switched-sa', 'switched', 'claim team-a/switched uses IRSA'],
    ]);
    expect(findBindings([api], [awiSa], [l.association])).toEqual([]);
  });

  it('a ServiceAccount awi released (Retain) that still carries the role annotation is orphaned, not foreign', () => {
    const released = sa('team-a', 'kept-sa', { 'app.kubernetes.io/managed-by': 'awi' }, { 'eks.amazonaws.com/role-arn': arnOf('kept') });
    const otherManager = sa('team-a', 'helm-sa', { 'app.kubernetes.io/managed-by': 'Helm' }, { 'eks.amazonaws.com/role-arn': arnOf('helm') });
    expect(findBindings([api], [awiSa, released, otherManager], [l.association]).map((f) => [f.kind, f.serviceAccount, f.claim, f.detail])).toEqual([
      ['foreign ServiceAccount', 'helm-sa', undefined, 'annotated with eks.amazonaws.com/role-arn, not created by awi'],
      ['orphaned ServiceAccount', 'kept-sa', undefined, 'annotated with eks.amazonaws.com/role-arn; released by awi (deletionPolicy Retain), no claim binds it'],
    ]);
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
  const okCheck = { role: 'ok', tags: 'ok', policy: 'ok', trust: 'ok', binding: 'ok', provider: '-', verified: 'True', ok: true };
  const badCheck = { role: 'ok', tags: 'ok', policy: 'differs', trust: 'ok', binding: 'ok', provider: 'missing: arn:p', verified: '-', ok: false };
  const inventory: Inventory = {
    cluster: CLUSTER,
    claims: [
      { ...claimRow(claim('team-a', 'api', { status: readyStatus(arnOf('a')) }), config), aws: okCheck },
      { ...claimRow(claim('team-b', 'worker,1', { mechanism: 'IRSA' }), config), aws: badCheck },
    ],
    orphans: [{ accountId: ACCOUNT, roleArn: arnOf('gone'), namespace: 'team-c', claim: 'gone', owner: 'x', environment: 'prod', created: '2026-11-20T08:00:00.000Z', status: 'no claim' as const }],
    bindings: [{ kind: 'foreign association', namespace: 'team-d', serviceAccount: 'sa', roleArn: arnOf('t'), associationId: 'a-f', detail: 'no awi.dev/managed-by=awi tag' }],
  };

  it('table: aligned columns, three spaces apart, audit columns, the orphan and binding sections with --aws', () => {
    const lines = formatInventory(inventory, 'table');
    expect(lines[0]).toMatch(/^CLUSTER\s{3,}NAMESPACE\s{3,}NAME\s{3,}SERVICEACCOUNT\s{3,}MECHANISM\s{3,}ROLE\s{3,}OWNER\s{3,}ENVIRONMENT\s{3,}READY\s{3,}REASON\s{3,}LAST-CHANGE\s{3,}AWS-ROLE\s{3,}AWS-TAGS\s{3,}AWS-POLICY\s{3,}AWS-TRUST\s{3,}AWS-BINDING\s{3,}AWS-PROVIDER\s{3,}VERIFIED$/);
    // Every column starts at the same offset on every line.
    const starts = (line: string, word: string) => line.indexOf(word);
    expect(starts(lines[1]!, 'team-a')).toBe(starts(lines[0]!, 'NAMESPACE'));
    expect(starts(lines[2]!, 'team-b')).toBe(starts(lines[0]!, 'NAMESPACE'));
    expect(starts(lines[2]!, 'differs')).toBe(starts(lines[0]!, 'AWS-POLICY'));
    expect(lines[2]).toContain('<none>'); // no Ready transition yet
    expect(lines[3]).toBe('');
    expect(lines[4]).toBe(`Roles tagged awi.dev/managed-by=awi for cluster ${CLUSTER} that no claim accounts for:`);
    expect(lines[5]).toMatch(/^ACCOUNT\s+ROLE\s+NAMESPACE\s+CLAIM\s+OWNER\s+CREATED\s+STATUS$/);
    expect(lines[6]).toMatch(new RegExp(`^${ACCOUNT}\\s+${arnOf('gone')}\\s+team-c\\s+gone\\s+x\\s+2026-11-20T08:00:00.000Z\\s+no claim$`));
    expect(lines[7]).toBe('');
    expect(lines[8]).toBe(`Bindings in cluster ${CLUSTER} that no claim accounts for (made outside awi, or awi's without their claim):`);
    expect(lines[9]).toMatch(/^KIND\s+NAMESPACE\s+SERVICEACCOUNT\s+ROLE\s+ASSOCIATION\s+CLAIM\s+DETAIL$/);
    expect(lines[10]!.split(/\s{3,}/)).toEqual(['foreign association', 'team-d', 'sa', arnOf('t'), 'a-f', '-', 'no awi.dev/managed-by=awi tag']);
    for (const l of lines) expect(l).toBe(l.trimEnd());
    expect(formatInventory({ ...inventory, orphans: [], bindings: [] }, 'table').at(-1)).toBe(
      `No bindings outside awi: no ServiceAccount annotated with a role and no Pod Identity association in cluster ${CLUSTER} is outside a claim.`,
    );
  });

  it('table without --aws: no AWS columns and no orphan or binding section; an empty cluster says so', () => {
    const lines = formatInventory({ cluster: CLUSTER, claims: inventory.claims.map(({ aws: _, ...r }) => r) }, 'table');
    expect(lines).toHaveLength(3);
    expect(lines[0]).not.toContain('AWS-');
    expect(formatInventory({ cluster: CLUSTER, claims: [] }, 'table')).toEqual([`No AwsWorkloadIdentityClaims found in cluster ${CLUSTER}.`]);
  });

  it('csv: one header, claims, orphan roles, then bindings; fields quoted when needed', () => {
    const lines = formatInventory(inventory, 'csv');
    expect(lines[0]).toBe('record,cluster,namespace,name,serviceAccount,mechanism,roleArn,owner,environment,ready,reason,lastChange,awsRole,awsTags,awsPolicy,awsTrust,awsBinding,awsProvider,verified');
    expect(lines[1]).toBe(`claim,${CLUSTER},team-a,api,api-sa,PodIdentity,${arnOf('a')},checkout-team,prod,True,Reconciled,2026-11-23T10:00:00Z,ok,ok,ok,ok,ok,-,True`);
    expect(lines[2]).toContain(',"worker,1","worker,1-sa",IRSA,');
    expect(lines[2]).toMatch(/,ok,ok,differs,ok,ok,missing: arn:p,-$/);
    expect(lines[3]).toBe(`orphan-role,${CLUSTER},team-c,gone,,,${arnOf('gone')},x,prod,,,,no claim,,,,,,`);
    expect(lines[4]).toBe(`binding,${CLUSTER},team-d,,sa,,${arnOf('t')},,,,foreign association,,,,,,a-f: no awi.dev/managed-by=awi tag,,`);
    for (const l of lines) expect(l.split(',').length).toBeGreaterThanOrEqual(19);
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
  const api = claim('team-a', 'api', { uid: 'u-1' });
  api.status = readyStatus(expectedState(api, config)!.desired.role.arn);
  const apiLive = liveOf(api);
  const moved = claim('team-a', 'moved', { mechanism: 'IRSA', status: readyStatus(`arn:aws:iam::${ACCOUNT}:role/old-path/moved-role`, 'IRSA') });
  const movedLive = liveOf(moved);
  const listed = [apiLive.role, role('gone-role', { ...apiLive.role.tags, 'awi.dev/namespace': 'team-b', 'awi.dev/claim': 'gone' })];
  const [provider] = federatedProviders(movedLive.d);

  function sources(over: Partial<InventorySources> = {}): InventorySources & { calls: string[] } {
    const calls: string[] = [];
    const log = <T>(name: string, value: T) => {
      calls.push(name);
      return value;
    };
    return {
      calls,
      listClaims: async (ns) => log(`listClaims:${ns ?? '*'}`, [api, moved].filter((c) => !ns || c.metadata.namespace === ns)),
      listServiceAccounts: async (ns) => log(`listServiceAccounts:${ns ?? '*'}`, [{ ...movedLive.serviceAccount, annotations: { 'eks.amazonaws.com/role-arn': `arn:aws:iam::${ACCOUNT}:role/old-path/moved-role` } }]),
      listAssociations: async (ns) => log(`listAssociations:${ns ?? '*'}`, [apiLive.association]),
      listRoles: async (account, path) => log(`listRoles:${account}:${path}`, listed),
      getRole: async (account, name) => log(`getRole:${account}:${name}`, undefined),
      rolePolicies: async (account, name) => log(`rolePolicies:${account}:${name}`, apiLive.policies),
      oidcProvider: async (account, arn) => log(`oidcProvider:${account}:${arn}`, { arn, clientIds: ['sts.amazonaws.com'] }),
      ...over,
    };
  }

  it('without --aws reads only the cluster', async () => {
    const s = sources();
    const inv = await collectInventory({ config, aws: false }, s);
    expect(s.calls).toEqual(['listClaims:*']);
    expect(inv.orphans).toBeUndefined();
    expect(inv.bindings).toBeUndefined();
    expect(inv.claims.map((r) => r.name)).toEqual(['api', 'moved']);
  });

  it('with --aws audits every claim, asks for roles outside the path by name, reads each OIDC provider once, and finds orphans', async () => {
    const twin = claim('team-a', 'twin', { mechanism: 'IRSA' });
    const s = sources({ listClaims: async (ns) => [api, moved, twin].filter((c) => !ns || c.metadata.namespace === ns) });
    const inv = await collectInventory({ config, aws: true }, s);
    expect(s.calls).toEqual([
      `listRoles:${ACCOUNT}:/awi/`,
      'listServiceAccounts:*',
      'listAssociations:*',
      `rolePolicies:${ACCOUNT}:${apiLive.role.name}`,
      `getRole:${ACCOUNT}:moved-role`,
      `oidcProvider:${ACCOUNT}:${provider}`,
    ]);
    expect(inv.claims.map((r) => [r.name, r.aws!.role, r.aws!.binding, r.aws!.provider, r.aws!.ok])).toEqual([
      ['api', 'ok', 'ok', '-', true],
      ['moved', 'missing', 'ok', 'ok', false],
      ['twin', 'missing', 'no ServiceAccount', 'ok', false],
    ]);
    expect(inv.claims[0]!.aws).toMatchObject({ policy: 'ok', trust: 'ok', tags: 'ok' });
    expect(inv.orphans!.map((o) => o.claim)).toEqual(['gone']);
    expect(inv.bindings).toEqual([]);
  });

  it('a role under the configured path that the listing does not have is missing, without asking again', async () => {
    const lost = claim('team-a', 'lost', { status: readyStatus(arnOf('lost-role')) });
    const s = sources({ listClaims: async () => [lost] });
    const inv = await collectInventory({ config, aws: true }, s);
    expect(inv.claims[0]!.aws!.role).toBe('missing');
    expect(s.calls.filter((c) => c.startsWith('getRole') || c.startsWith('rolePolicies'))).toEqual([]);
  });

  it('an AWS error on one claim is reported on that claim; a listing failing fails the command', async () => {
    const slow = async (): Promise<never> => {
      throw Object.assign(new Error('slow down'), { name: 'ThrottlingException' });
    };
    const inv = await collectInventory({ config, aws: true }, sources({ rolePolicies: slow, oidcProvider: slow }));
    expect(inv.claims[0]!.aws!.policy).toBe('unknown: ThrottlingException: slow down');
    expect(inv.claims[1]!.aws!.provider).toBe('unknown: ThrottlingException: slow down');
    await expect(collectInventory({ config, aws: true }, sources({ listRoles: async () => { throw new Error('AccessDenied'); } }))).rejects.toThrow('AccessDenied');
    await expect(collectInventory({ config, aws: true }, sources({ listAssociations: slow }))).rejects.toThrow('slow down');
  });

  it('-n limits claims, orphans and listings to the namespace', async () => {
    const s = sources();
    const inv = await collectInventory({ config, aws: true, namespace: 'team-b' }, s);
    expect(inv.claims).toEqual([]);
    expect(inv.orphans!.map((o) => `${o.namespace}/${o.claim}`)).toEqual(['team-b/gone']);
    expect(s.calls).toContain('listServiceAccounts:team-b');
    expect(s.calls).toContain('listAssociations:team-b');
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
