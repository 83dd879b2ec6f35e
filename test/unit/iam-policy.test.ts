// deploy/aws/controller-policy.json, rendered with deploy/aws/render.mjs the
// way a platform team would: it allows the controller's writes only on its
// own roles and associations, and refuses the moves that would let it (or a
// bug in it) escape the boundary. test/integration/iam-coverage.test.ts
// checks the other direction: every call of a real controller run is allowed.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { authorizationRequests, AwsStateModel, evaluate, statements, type AwsCall, type PolicyDocument } from '../harness/iam-policy-match.js';
import { projectRoot } from '../harness/paths.js';

const ACCOUNT = '111122223333';
const CLUSTER = 'prod-a';
// The ownership tag carries the cluster's ARN, not its name.
const CLUSTER_ARN = `arn:aws:eks:eu-west-1:${ACCOUNT}:cluster/${CLUSTER}`;
const OTHER_CLUSTER_ARN = `arn:aws:eks:us-east-1:${ACCOUNT}:cluster/${CLUSTER}`;
const BOUNDARY = `arn:aws:iam::${ACCOUNT}:policy/awi-workload-boundary`;
const TARGET = 'arn:aws:iam::444455556666:role/awi-controller-access';
const vars = { ACCOUNT_ID: ACCOUNT, REGION: 'eu-west-1', CLUSTER_NAME: CLUSTER, CLUSTER_ARN, BOUNDARY_POLICY_ARN: BOUNDARY, ACCOUNT_ROLE_ARNS: TARGET };

function render(file: string, env: Record<string, string>): string {
  return execFileSync(process.execPath, [path.join(projectRoot, 'deploy', 'aws', 'render.mjs'), path.join(projectRoot, 'deploy', 'aws', file)], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

const policy = JSON.parse(render('controller-policy.json', vars)) as PolicyDocument;
const awsEnv = { partition: 'aws', accountId: ACCOUNT, region: 'eu-west-1' };
const roleArn = (name: string, p = '/awi/') => `arn:aws:iam::${ACCOUNT}:role${p}${name}`;
const ownTags = { 'awi.dev/managed-by': 'awi', 'awi.dev/cluster': CLUSTER_ARN };
const asTags = (t: Record<string, string>) => Object.entries(t).map(([Key, Value]) => ({ Key, Value }));

/** A state where role `name` exists with the given path, tags and boundary. */
function withRole(name: string, tags: Record<string, string>, boundary: string | null = BOUNDARY, p = '/awi/'): AwsStateModel {
  const s = new AwsStateModel();
  s.apply({ service: 'iam', operation: 'GetRole', input: { RoleName: name }, output: { Role: { Arn: roleArn(name, p), Path: p, Tags: asTags(tags), ...(boundary ? { PermissionsBoundary: { PermissionsBoundaryArn: boundary } } : {}) } } });
  return s;
}
function withAssociation(id: string, tags: Record<string, string>): AwsStateModel {
  const s = new AwsStateModel();
  s.apply({ service: 'eks', operation: 'DescribePodIdentityAssociation', input: { clusterName: CLUSTER, associationId: id }, output: { association: { associationId: id, tags } } });
  return s;
}

/** The decision for every authorization request of a call: all must be allowed for the call to succeed. */
function decide(call: AwsCall, state = new AwsStateModel()): 'Allow' | 'Deny' {
  const decisions = authorizationRequests(call, awsEnv, state).map((r) => evaluate(policy, r).decision);
  return decisions.every((d) => d === 'Allow') ? 'Allow' : 'Deny';
}
const createRole = (input: Record<string, unknown>): AwsCall => ({
  service: 'iam', operation: 'CreateRole',
  input: { RoleName: `${CLUSTER}-ns-sa`, Path: '/awi/', PermissionsBoundary: BOUNDARY, Tags: asTags({ ...ownTags, 'awi.dev/claim': 'c' }), ...input },
});

describe('render.mjs', () => {
  it('fails on an unset variable, naming it, so no placeholder reaches IAM', () => {
    const { CLUSTER_NAME: _, ...rest } = vars;
    expect(() => render('controller-policy.json', rest)).toThrow(/set CLUSTER_NAME/);
    expect(JSON.stringify(policy)).not.toContain('${');
  });

  it('refuses a CLUSTER_ARN that is not an EKS cluster ARN or disagrees with REGION, CLUSTER_NAME or PARTITION', () => {
    expect(() => render('controller-policy.json', { ...vars, CLUSTER_ARN: CLUSTER })).toThrow(/CLUSTER_ARN must be an EKS cluster ARN/);
    expect(() => render('controller-policy.json', { ...vars, CLUSTER_ARN: OTHER_CLUSTER_ARN })).toThrow(/REGION=eu-west-1 but CLUSTER_ARN says us-east-1/);
    expect(() => render('controller-policy.json', { ...vars, CLUSTER_ARN: `arn:aws:eks:eu-west-1:${ACCOUNT}:cluster/prod-b` })).toThrow(/CLUSTER_NAME=prod-a but CLUSTER_ARN says prod-b/);
    expect(() => render('controller-policy.json', { ...vars, PARTITION: 'aws-cn' })).toThrow(/PARTITION=aws-cn but CLUSTER_ARN says aws/);
    // A target account's policy: the ARN keeps the cluster's account.
    expect(() => render('controller-policy.json', { ...vars, ACCOUNT_ID: '444455556666' })).not.toThrow();
    // Templates that do not use it do not need it.
    expect(() => render('inventory-policy.json', { ACCOUNT_ID: ACCOUNT, REGION: 'eu-west-1', CLUSTER_NAME: CLUSTER })).not.toThrow();
  });

  it('writes every ownership condition against the cluster ARN, never the bare name', () => {
    const values = statements(policy).flatMap((s) => Object.values(s.Condition ?? {}).flatMap((entries) => Object.entries(entries)))
      .filter(([key]) => /^aws:(Request|Resource)Tag\/awi\.dev\/cluster$/.test(key)).map(([, v]) => v);
    expect(values.length).toBeGreaterThanOrEqual(10);
    expect(new Set(values)).toEqual(new Set([CLUSTER_ARN]));
  });

  it('expands ACCOUNT_ROLE_ARNS into one element per ARN and drops sts:AssumeRole for a single account', () => {
    const two = JSON.parse(render('controller-policy.json', { ...vars, ACCOUNT_ROLE_ARNS: `${TARGET} arn:aws:iam::777788889999:role/x` })) as PolicyDocument;
    expect(statements(two).find((s) => s.Action === 'sts:AssumeRole')!.Resource).toEqual([TARGET, 'arn:aws:iam::777788889999:role/x']);
    const single = JSON.parse(render('controller-policy.json', { ...vars, ACCOUNT_ROLE_ARNS: '' })) as PolicyDocument;
    expect(JSON.stringify(single)).not.toContain('sts:AssumeRole');
  });

  it('renders the trust policies of the controller role', () => {
    const irsa = JSON.parse(render('trust-policy-irsa.json', { ACCOUNT_ID: ACCOUNT, OIDC_PROVIDER: 'oidc.eks.eu-west-1.amazonaws.com/id/ABC' }));
    expect(irsa.Statement[0].Condition.StringEquals).toEqual({
      'oidc.eks.eu-west-1.amazonaws.com/id/ABC:sub': 'system:serviceaccount:awi-system:awi-controller',
      'oidc.eks.eu-west-1.amazonaws.com/id/ABC:aud': 'sts.amazonaws.com',
    });
    const pod = JSON.parse(render('trust-policy-pod-identity.json', vars));
    expect(pod.Statement[0].Principal).toEqual({ Service: 'pods.eks.amazonaws.com' });
    expect(pod.Statement[0].Condition.StringEquals['aws:RequestTag/eks-cluster-arn']).toBe(`arn:aws:eks:eu-west-1:${ACCOUNT}:cluster/${CLUSTER}`);
  });
});

describe('inventory policy', () => {
  it('is read-only and scoped like the controller policy', () => {
    const inventory = JSON.parse(render('inventory-policy.json', vars)) as PolicyDocument;
    const actions = statements(inventory).flatMap((s) => [s.Action ?? []].flat()).sort();
    expect(actions).toEqual([
      'eks:DescribePodIdentityAssociation', 'eks:ListPodIdentityAssociations', 'iam:GetOpenIDConnectProvider', 'iam:GetRolePolicy',
      'iam:ListAttachedRolePolicies', 'iam:ListRolePolicies', 'iam:ListRoleTags', 'iam:ListRoles',
    ]);
    expect(evaluate(inventory, { action: 'iam:GetRolePolicy', resource: roleArn('x', '/'), context: {} }).decision).toBe('ImplicitDeny');
    expect(evaluate(inventory, { action: 'iam:ListRoleTags', resource: roleArn('x'), context: {} }).decision).toBe('Allow');
    expect(evaluate(inventory, { action: 'iam:ListRoleTags', resource: roleArn('x', '/'), context: {} }).decision).toBe('ImplicitDeny');
    expect(evaluate(inventory, { action: 'eks:ListPodIdentityAssociations', resource: `arn:aws:eks:eu-west-1:${ACCOUNT}:cluster/other`, context: {} }).decision).toBe('ImplicitDeny');
  });
});

describe('controller policy shape', () => {
  it('fits a managed policy (6,144 characters without whitespace)', () => {
    expect(JSON.stringify(policy).replace(/\s/g, '').length).toBeLessThanOrEqual(6144);
  });

  // The two page reads of the shared role observation have no resource-level permissions in IAM:
  // they take *, and are reads (deploy/aws/README.md says what they reveal).
  const UNSCOPABLE = new Set(['sts:GetCallerIdentity', 'iam:GetAccountAuthorizationDetails', 'iam:ListRoles']);
  it('names every action explicitly and every resource by ARN (only sts:GetCallerIdentity and the page reads take *)', () => {
    for (const s of statements(policy)) {
      for (const a of [s.Action ?? []].flat()) expect(a).not.toContain('*');
      expect(s.NotAction).toBeUndefined();
      expect(s.NotResource).toBeUndefined();
      if (![s.Action ?? []].flat().every((a) => UNSCOPABLE.has(a))) for (const r of [s.Resource ?? []].flat()) expect(r).toMatch(/^arn:aws:(iam|eks)::?/);
    }
  });

  it('allows writes only with an ownership or boundary condition', () => {
    const reads = new Set(['iam:GetAccountAuthorizationDetails', 'iam:ListRoles', 'iam:GetRole', 'iam:GetRolePolicy', 'iam:ListRolePolicies', 'iam:ListAttachedRolePolicies', 'eks:ListPodIdentityAssociations', 'eks:DescribePodIdentityAssociation', 'eks:DescribeCluster', 'sts:GetCallerIdentity', 'sts:AssumeRole',
      // Prerequisite checks and the credentials exchange: they read or mint short-lived credentials, change nothing.
      'iam:GetOpenIDConnectProvider', 'eks:DescribeAddon', 'eks-auth:AssumeRoleForPodIdentity']);
    for (const s of statements(policy)) {
      const writes = [s.Action ?? []].flat().filter((a) => !reads.has(a));
      if (writes.length) expect({ sid: s.Sid, conditioned: !!s.Condition }).toEqual({ sid: s.Sid, conditioned: true });
    }
  });
});

describe('what the controller may do', () => {
  const name = `${CLUSTER}-ns-sa`;

  it('creates roles only under /awi/, with the configured boundary and its ownership tags', () => {
    expect(decide(createRole({}))).toBe('Allow');
    expect(decide(createRole({ PermissionsBoundary: undefined }))).toBe('Deny');
    expect(decide(createRole({ PermissionsBoundary: `arn:aws:iam::${ACCOUNT}:policy/AdministratorAccess` }))).toBe('Deny');
    expect(decide(createRole({ Path: '/' }))).toBe('Deny');
    expect(decide(createRole({ Path: '/platform/' }))).toBe('Deny');
    expect(decide(createRole({ Tags: asTags({ 'awi.dev/cluster': CLUSTER_ARN }) }))).toBe('Deny');
    expect(decide(createRole({ Tags: asTags({ ...ownTags, 'awi.dev/cluster': CLUSTER }) }))).toBe('Deny'); // the name is not the ARN
    expect(decide(createRole({ Tags: asTags({ ...ownTags, 'awi.dev/cluster': OTHER_CLUSTER_ARN }) }))).toBe('Deny');
  });

  it('reads roles under /awi/, and a role that does not exist yet by its name', () => {
    expect(decide({ service: 'iam', operation: 'GetRole', input: { RoleName: name }, error: 'NoSuchEntity' })).toBe('Allow');
    expect(decide({ service: 'iam', operation: 'GetRolePolicy', input: { RoleName: 'x' } }, withRole('x', {}))).toBe('Allow');
    expect(decide({ service: 'iam', operation: 'GetRole', input: { RoleName: 'admin' }, output: { Role: { Arn: roleArn('admin', '/') } } })).toBe('Deny');
  });

  it('writes policies only to its own roles of this cluster that carry the boundary', () => {
    const put = (s: AwsStateModel) => decide({ service: 'iam', operation: 'PutRolePolicy', input: { RoleName: name } }, s);
    expect(put(withRole(name, ownTags))).toBe('Allow');
    expect(put(withRole(name, {}))).toBe('Deny'); // someone else's role under /awi/
    expect(put(withRole(name, { ...ownTags, 'awi.dev/cluster': OTHER_CLUSTER_ARN }))).toBe('Deny');
    expect(put(withRole(name, ownTags, null))).toBe('Deny'); // boundary removed: restore it first
    expect(put(withRole(name, ownTags, BOUNDARY, '/'))).toBe('Deny');
    const attach = (s: AwsStateModel) => decide({ service: 'iam', operation: 'AttachRolePolicy', input: { RoleName: name, PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' } }, s);
    expect(attach(withRole(name, ownTags))).toBe('Allow');
    expect(attach(withRole(name, ownTags, null))).toBe('Deny');
  });

  it('can put the boundary back but never remove or swap it', () => {
    const state = withRole(name, ownTags, null);
    expect(decide({ service: 'iam', operation: 'PutRolePermissionsBoundary', input: { RoleName: name, PermissionsBoundary: BOUNDARY } }, state)).toBe('Allow');
    expect(decide({ service: 'iam', operation: 'PutRolePermissionsBoundary', input: { RoleName: name, PermissionsBoundary: `arn:aws:iam::${ACCOUNT}:policy/wide` } }, state)).toBe('Deny');
    expect(decide({ service: 'iam', operation: 'DeleteRolePermissionsBoundary', input: { RoleName: name } }, withRole(name, ownTags))).toBe('Deny');
  });

  it('changes, retags and deletes only its own roles, and never drops or rewrites the ownership tags', () => {
    const own = withRole(name, ownTags);
    const foreign = withRole(name, { team: 'x' });
    for (const operation of ['UpdateAssumeRolePolicy', 'UpdateRole', 'DeleteRolePolicy', 'DeleteRole']) {
      expect({ operation, own: decide({ service: 'iam', operation, input: { RoleName: name } }, own), foreign: decide({ service: 'iam', operation, input: { RoleName: name } }, foreign) })
        .toEqual({ operation, own: 'Allow', foreign: 'Deny' });
    }
    const untag = (keys: string[]) => decide({ service: 'iam', operation: 'UntagRole', input: { RoleName: name, TagKeys: keys } }, own);
    expect(untag(['awi.dev/stale'])).toBe('Allow');
    expect(untag(['awi.dev/stale', 'awi.dev/managed-by'])).toBe('Deny');
    expect(untag(['awi.dev/cluster'])).toBe('Deny');
    const tag = (tags: Record<string, string>) => decide({ service: 'iam', operation: 'TagRole', input: { RoleName: name, Tags: asTags(tags) } }, own);
    expect(tag({ 'awi.dev/owner': 'team-a', 'awi.dev/released': 'true' })).toBe('Allow');
    expect(tag({ 'awi.dev/cluster': OTHER_CLUSTER_ARN })).toBe('Deny');
    expect(tag({ 'awi.dev/managed-by': 'someone-else' })).toBe('Deny');
  });

  it('passes only its own /awi/ roles of this cluster, and only to EKS Pod Identity', () => {
    const association = (roleArnValue: string): AwsCall => ({
      service: 'eks', operation: 'CreatePodIdentityAssociation',
      input: { clusterName: CLUSTER, namespace: 'ns', serviceAccount: 'sa', roleArn: roleArnValue, tags: ownTags }, output: { association: { associationId: 'a-1' } },
    });
    expect(decide(association(roleArn(name)), withRole(name, ownTags))).toBe('Allow');
    expect(decide(association(roleArn(name)), withRole(name, { ...ownTags, 'awi.dev/cluster': OTHER_CLUSTER_ARN }))).toBe('Deny');
    expect(decide(association(roleArn(name)), withRole(name, {}))).toBe('Deny');
    expect(decide(association(roleArn('admin', '/')), withRole('admin', ownTags, null, '/'))).toBe('Deny');
    expect(evaluate(policy, { action: 'iam:PassRole', resource: roleArn(name), context: { 'iam:PassedToService': 'ec2.amazonaws.com' } }).decision).toBe('ImplicitDeny');
    expect(evaluate(policy, { action: 'iam:PassRole', resource: roleArn(name), context: {} }).decision).toBe('ImplicitDeny');
  });

  it('manages Pod Identity associations only on its cluster, changing only those it tagged', () => {
    const create = (cluster: string, tags: Record<string, string>): AwsCall => ({
      service: 'eks', operation: 'CreatePodIdentityAssociation',
      input: { clusterName: cluster, namespace: 'ns', serviceAccount: 'sa', roleArn: roleArn(name), tags }, output: { association: { associationId: 'a-1' } },
    });
    const ownRole = withRole(name, ownTags);
    expect(decide(create(CLUSTER, ownTags), ownRole)).toBe('Allow');
    expect(decide(create('other-cluster', ownTags), ownRole)).toBe('Deny');
    expect(decide(create(CLUSTER, {}), ownRole)).toBe('Deny');
    const del = (s: AwsStateModel, cluster = CLUSTER) => decide({ service: 'eks', operation: 'DeletePodIdentityAssociation', input: { clusterName: cluster, associationId: 'a-1' } }, s);
    expect(del(withAssociation('a-1', ownTags))).toBe('Allow');
    expect(del(withAssociation('a-1', {}))).toBe('Deny');
    expect(del(withAssociation('a-1', ownTags), 'other-cluster')).toBe('Deny');
    // Describing any association of the cluster is needed to report conflicts.
    expect(decide({ service: 'eks', operation: 'DescribePodIdentityAssociation', input: { clusterName: CLUSTER, associationId: 'a-2' } })).toBe('Allow');
  });

  it('assumes only the account roles of the platform config, and nothing IAM-wide', () => {
    expect(decide({ service: 'sts', operation: 'AssumeRole', input: { RoleArn: TARGET } })).toBe('Allow');
    expect(decide({ service: 'sts', operation: 'AssumeRole', input: { RoleArn: 'arn:aws:iam::444455556666:role/OrganizationAccountAccessRole' } })).toBe('Deny');
    // (iam:ListRoles is now allowed on *: the shared role observation pages it; see the next test.)
    for (const action of ['iam:CreateUser', 'iam:CreatePolicyVersion', 'iam:SetDefaultPolicyVersion', 'iam:CreateAccessKey', 'iam:ListUsers', 'iam:GetPolicyVersion', 'eks:DescribeCluster', 'sts:TagSession']) {
      expect({ action, decision: evaluate(policy, { action, resource: '*', context: {} }).decision }).toEqual({ action, decision: 'ImplicitDeny' });
    }
  });

  it("reads the account's roles in pages (the shared observation), which IAM cannot scope by resource", () => {
    for (const action of ['iam:GetAccountAuthorizationDetails', 'iam:ListRoles']) {
      expect({ action, decision: evaluate(policy, { action, resource: '*', context: {} }).decision }).toEqual({ action, decision: 'Allow' });
    }
  });
});
