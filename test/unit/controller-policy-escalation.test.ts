// What a stolen controller token (or a bug in the controller) can do with
// deploy/aws/controller-policy.json, move by move. Each move is an AWS API
// call against a stated AWS state (whose roles and associations exist, with
// which tags and boundary); the project's call mapping
// (test/harness/iam-policy-match.ts) turns it into the authorization
// requests AWS evaluates (CreateRole with tags also needs iam:TagRole,
// CreatePodIdentityAssociation also needs eks:TagResource and iam:PassRole),
// and every request is decided twice: by the project's own matcher and by
// @cloud-copilot/iam-simulate, an evaluator the project did not write. The
// two must agree on every request, and neither may rely on a condition key
// AWS does not document for the action (iam-simulate reports those).
//
// The escalation moves must be DENIED, at the request named; the controller's
// normal operations must be ALLOWED, so the suite cannot pass by denying
// everything. The last part replays the moves against the policy as it was
// before issue 9 (test/fixtures/controller-policy.before-issue-9.json, with
// its cluster-name ownership tags) and checks which moves it let through.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { authorizationRequests, AwsStateModel, evaluate, type AuthzRequest, type AwsCall, type AwsEnv, type PolicyDocument } from '../harness/iam-policy-match.js';
import { simulate } from '../harness/iam-simulate.js';
import { projectRoot } from '../harness/paths.js';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const CLUSTER = 'prod-a';
const CLUSTER_ARN = `arn:aws:eks:${REGION}:${ACCOUNT}:cluster/${CLUSTER}`;
const BOUNDARY = `arn:aws:iam::${ACCOUNT}:policy/awi-workload-boundary`;
const ACCOUNT_ROLE = 'arn:aws:iam::444455556666:role/awi-controller-access';
const env: AwsEnv = { partition: 'aws', accountId: ACCOUNT, region: REGION };
/** The cluster with the same name in another region of the account: name-valued tags could not tell it apart. */
const twinEnv: AwsEnv = { ...env, region: 'us-east-1' };

function render(template: string, vars: Record<string, string>): PolicyDocument {
  return JSON.parse(execFileSync(process.execPath, [path.join(projectRoot, 'deploy', 'aws', 'render.mjs'), template], {
    env: { PATH: process.env.PATH ?? '', ...vars },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  })) as PolicyDocument;
}
const vars = { ACCOUNT_ID: ACCOUNT, REGION, CLUSTER_NAME: CLUSTER, CLUSTER_ARN, BOUNDARY_POLICY_ARN: BOUNDARY, ACCOUNT_ROLE_ARNS: ACCOUNT_ROLE };
const policy = render(path.join(projectRoot, 'deploy', 'aws', 'controller-policy.json'), vars);
const policyBefore = render(path.join(projectRoot, 'test', 'fixtures', 'controller-policy.before-issue-9.json'), vars);

// --- the world the moves are made in ------------------------------------------

/** The awi.dev/cluster values of this cluster, of its same-named twin in another region, and of another cluster. */
interface Ownership { own: string; twin: string; other: string }
/** Today: the cluster ARN. Before issue 9: the cluster name, the same for both clusters called prod-a. */
const BY_ARN: Ownership = { own: CLUSTER_ARN, twin: `arn:aws:eks:us-east-1:${ACCOUNT}:cluster/${CLUSTER}`, other: `arn:aws:eks:${REGION}:${ACCOUNT}:cluster/prod-b` };
const BY_NAME: Ownership = { own: CLUSTER, twin: CLUSTER, other: 'prod-b' };

const asTags = (t: Record<string, string>) => Object.entries(t).map(([Key, Value]) => ({ Key, Value }));
const roleArn = (name: string, p = '/awi/') => `arn:aws:iam::${ACCOUNT}:role${p}${name}`;

interface RoleSpec { name: string; path?: string; tags: Record<string, string>; boundary?: string | null }
interface AssociationSpec { id: string; tags: Record<string, string> }

function world(roles: RoleSpec[], associations: AssociationSpec[] = []): AwsStateModel {
  const s = new AwsStateModel();
  for (const r of roles) {
    const p = r.path ?? '/awi/';
    const boundary = r.boundary === undefined ? BOUNDARY : r.boundary;
    s.apply({
      service: 'iam', operation: 'GetRole', input: { RoleName: r.name },
      output: { Role: { Arn: roleArn(r.name, p), Path: p, Tags: asTags(r.tags), ...(boundary ? { PermissionsBoundary: { PermissionsBoundaryArn: boundary } } : {}) } },
    });
  }
  for (const a of associations) {
    s.apply({ service: 'eks', operation: 'DescribePodIdentityAssociation', input: { clusterName: CLUSTER, associationId: a.id }, output: { association: { associationId: a.id, tags: a.tags } } });
  }
  return s;
}

interface Move {
  name: string;
  expected: 'ALLOWED' | 'DENIED';
  /** For a DENIED move: the first request AWS refuses (the move's other requests may be allowed). */
  deniedAt?: string;
  /** A normal operation the controller gained with issue 9 (the policy before it could not allow it). */
  newWithIssue9?: boolean;
  /** A normal operation the controller gained with issue 8: removing stale tags of its own association. */
  newWithIssue8?: boolean;
  /** Why an escalation move is allowed all the same (documented in deploy/aws/README.md). */
  knownLimit?: string;
  /** An API call in a state, mapped to requests by the project's mapping; or requests written out (actions outside the mapping). */
  call?: AwsCall;
  state?: AwsStateModel;
  env?: AwsEnv;
  requests?: AuthzRequest[];
}

function moves(o: Ownership): Move[] {
  const tags = (cluster: string, extra: Record<string, string> = {}) => ({ 'awi.dev/managed-by': 'awi', 'awi.dev/cluster': cluster, ...extra });
  const own = tags(o.own, { 'awi.dev/namespace': 'team-a', 'awi.dev/claim': 'app' });
  const mine = 'prod-a-team-a-app';
  const theirs = 'prod-b-team-b-app';
  const twins = 'prod-a-team-c-app'; // the twin cluster's role: another region, same role path
  const roles = world([
    { name: mine, tags: own },
    { name: theirs, tags: tags(o.other) },
    { name: twins, tags: tags(o.twin) },
    { name: 'made-by-hand', tags: { team: 'platform' }, boundary: null },
    { name: 'awi-controller', path: '/', tags: { 'awi.dev/managed-by': 'platform' }, boundary: null },
    { name: 'admin', path: '/', tags: {}, boundary: null },
  ]);
  const ownNoBoundary = world([{ name: mine, tags: own, boundary: null }]);
  // A role someone made by hand under /awi/, without a boundary, after a stolen token stamped it (see the known limit).
  const adopted = world([{ name: 'made-by-hand', tags: { team: 'platform', ...tags(o.own) }, boundary: null }]);
  const associations = world([{ name: mine, tags: own }, { name: theirs, tags: tags(o.other) }], [
    { id: 'a-mine', tags: own },
    { id: 'a-controller', tags: { 'awi.dev/managed-by': 'platform' } },
    // Its own association after someone removed its tags by hand (the controller restores them).
    { id: 'a-stripped', tags: {} },
  ]);
  const iam = (operation: string, input: Record<string, unknown>, state = roles): Pick<Move, 'call' | 'state'> => ({ call: { service: 'iam', operation, input }, state });
  const eks = (operation: string, input: Record<string, unknown>, state = associations, extra: Partial<AwsCall> = {}): Pick<Move, 'call' | 'state'> =>
    ({ call: { service: 'eks', operation, input: { clusterName: CLUSTER, ...input }, ...extra }, state });
  const create = (input: Record<string, unknown>) => iam('CreateRole', { RoleName: 'prod-a-team-a-new', Path: '/awi/', PermissionsBoundary: BOUNDARY, Tags: asTags(tags(o.own)), ...input }, new AwsStateModel());
  const associate = (role: string, state = associations, cluster = CLUSTER) =>
    eks('CreatePodIdentityAssociation', { clusterName: cluster, namespace: 'team-a', serviceAccount: 'app', roleArn: role, tags: tags(o.own) }, state, { output: { association: { associationId: 'a-new' } } });
  const req = (action: string, resource: string, context: AuthzRequest['context'] = {}): AuthzRequest => ({ action, resource, context });
  const associationArn = (id: string, cluster = CLUSTER, region = REGION) => `arn:aws:eks:${region}:${ACCOUNT}:podidentityassociation/${cluster}/${id}`;
  // Another cluster's association, as the state model knows it (its id is unique, its ARN names the other cluster).
  const withTheirs = world([], [{ id: 'a-mine', tags: own }, { id: 'a-controller', tags: { 'awi.dev/managed-by': 'platform' } }, { id: 'a-theirs', tags: tags(o.other) }, { id: 'a-twin', tags: tags(o.twin) }]);

  return [
    // Another cluster's roles and associations: not the controller's to stamp, change, pass or delete.
    { name: "retag another cluster's role as its own", expected: 'DENIED', deniedAt: 'iam:TagRole', ...iam('TagRole', { RoleName: theirs, Tags: asTags(tags(o.own)) }) },
    { name: "retag the same-named cluster's role (other region) as its own", expected: 'DENIED', deniedAt: 'iam:TagRole', ...iam('TagRole', { RoleName: twins, Tags: asTags(tags(o.own)) }) },
    { name: "put a policy on another cluster's role", expected: 'DENIED', deniedAt: 'iam:PutRolePolicy', ...iam('PutRolePolicy', { RoleName: theirs }) },
    { name: "put a policy on the same-named cluster's role (other region)", expected: 'DENIED', deniedAt: 'iam:PutRolePolicy', ...iam('PutRolePolicy', { RoleName: twins }) },
    { name: "attach a managed policy to another cluster's role", expected: 'DENIED', deniedAt: 'iam:AttachRolePolicy', ...iam('AttachRolePolicy', { RoleName: theirs, PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' }) },
    { name: "update the trust of another cluster's role", expected: 'DENIED', deniedAt: 'iam:UpdateAssumeRolePolicy', ...iam('UpdateAssumeRolePolicy', { RoleName: theirs }) },
    { name: "update the trust of the same-named cluster's role (other region)", expected: 'DENIED', deniedAt: 'iam:UpdateAssumeRolePolicy', ...iam('UpdateAssumeRolePolicy', { RoleName: twins }) },
    { name: "delete another cluster's role", expected: 'DENIED', deniedAt: 'iam:DeleteRole', ...iam('DeleteRole', { RoleName: theirs }) },
    { name: "delete the same-named cluster's role (other region)", expected: 'DENIED', deniedAt: 'iam:DeleteRole', ...iam('DeleteRole', { RoleName: twins }) },
    { name: "strip the ownership tags of another cluster's role", expected: 'DENIED', deniedAt: 'iam:UntagRole', ...iam('UntagRole', { RoleName: theirs, TagKeys: ['awi.dev/cluster', 'awi.dev/managed-by'] }) },
    { name: "swap the boundary of another cluster's role", expected: 'DENIED', deniedAt: 'iam:PutRolePermissionsBoundary', ...iam('PutRolePermissionsBoundary', { RoleName: theirs, PermissionsBoundary: BOUNDARY }) },
    {
      name: 'stamp a role made by hand under /awi/, without awi tags, as its own', expected: 'ALLOWED', ...iam('TagRole', { RoleName: 'made-by-hand', Tags: asTags(tags(o.own)) }),
      knownLimit: 'IAM has no condition key that tells the tags of CreateRole from a later TagRole, so the create-time statement matches an untagged role too',
    },
    { name: 'then rewrite the trust of that adopted role while it has no boundary', expected: 'DENIED', deniedAt: 'iam:UpdateAssumeRolePolicy', ...iam('UpdateAssumeRolePolicy', { RoleName: 'made-by-hand' }, adopted) },
    { name: 'then put a policy on that adopted role while it has no boundary', expected: 'DENIED', deniedAt: 'iam:PutRolePolicy', ...iam('PutRolePolicy', { RoleName: 'made-by-hand' }, adopted) },
    {
      name: 'then pass that adopted role to EKS Pod Identity', expected: 'ALLOWED', ...associate(roleArn('made-by-hand'), adopted),
      knownLimit: 'iam:PermissionsBoundary is not a PassRole condition key; the pods get credentials only if the role already trusts pods.eks.amazonaws.com (its trust cannot be rewritten without the boundary); keep /awi/ for awi',
    },
    { name: "pass another cluster's role to EKS Pod Identity", expected: 'DENIED', deniedAt: 'iam:PassRole', ...associate(roleArn(theirs)) },
    { name: 'pass a role outside /awi/ (not made by awi) to EKS Pod Identity', expected: 'DENIED', deniedAt: 'iam:PassRole', ...associate(roleArn('admin', '/'), roles) },
    { name: 'pass a role under /awi/ that awi did not tag to EKS Pod Identity', expected: 'DENIED', deniedAt: 'iam:PassRole', ...associate(roleArn('made-by-hand'), roles) },
    { name: 'pass its own role to another service (EC2)', expected: 'DENIED', deniedAt: 'iam:PassRole', requests: [req('iam:PassRole', roleArn(mine), { 'iam:PassedToService': 'ec2.amazonaws.com', ...Object.fromEntries(Object.entries(own).map(([k, v]) => [`aws:ResourceTag/${k}`, v])) })] },
    { name: "repoint its own association at another cluster's role", expected: 'DENIED', deniedAt: 'iam:PassRole', ...eks('UpdatePodIdentityAssociation', { associationId: 'a-mine', roleArn: roleArn(theirs) }) },
    { name: "update another cluster's association", expected: 'DENIED', deniedAt: 'eks:UpdatePodIdentityAssociation', ...eks('UpdatePodIdentityAssociation', { clusterName: 'prod-b', associationId: 'a-theirs', roleArn: roleArn(mine) }) },
    { name: "delete another cluster's association", expected: 'DENIED', deniedAt: 'eks:DeletePodIdentityAssociation', ...eks('DeletePodIdentityAssociation', { clusterName: 'prod-b', associationId: 'a-theirs' }) },
    { name: "delete the same-named cluster's association (other region)", expected: 'DENIED', deniedAt: 'eks:DeletePodIdentityAssociation', env: twinEnv, ...eks('DeletePodIdentityAssociation', { associationId: 'a-twin' }) },
    { name: "tag another cluster's association as its own", expected: 'DENIED', deniedAt: 'eks:TagResource', requests: [req('eks:TagResource', `arn:aws:eks:${REGION}:${ACCOUNT}:podidentityassociation/prod-b/a-theirs`, { 'aws:RequestTag/awi.dev/managed-by': 'awi', 'aws:RequestTag/awi.dev/cluster': o.own, 'aws:TagKeys': ['awi.dev/managed-by', 'awi.dev/cluster'], 'aws:ResourceTag/awi.dev/managed-by': 'awi', 'aws:ResourceTag/awi.dev/cluster': o.other })] },
    { name: "tag the same-named cluster's association (other region) as its own", expected: 'DENIED', deniedAt: 'eks:TagResource', requests: [req('eks:TagResource', `arn:aws:eks:us-east-1:${ACCOUNT}:podidentityassociation/${CLUSTER}/a-twin`, { 'aws:RequestTag/awi.dev/managed-by': 'awi', 'aws:RequestTag/awi.dev/cluster': o.own, 'aws:TagKeys': ['awi.dev/managed-by', 'awi.dev/cluster'], 'aws:ResourceTag/awi.dev/managed-by': 'awi', 'aws:ResourceTag/awi.dev/cluster': o.twin })] },
    { name: "tag the platform's own association on this cluster as awi's", expected: 'DENIED', deniedAt: 'eks:TagResource', requests: [req('eks:TagResource', `arn:aws:eks:${REGION}:${ACCOUNT}:podidentityassociation/${CLUSTER}/a-controller`, { 'aws:RequestTag/awi.dev/managed-by': 'awi', 'aws:RequestTag/awi.dev/cluster': o.own, 'aws:TagKeys': ['awi.dev/managed-by', 'awi.dev/cluster'], 'aws:ResourceTag/awi.dev/managed-by': 'platform' })] },
    { name: "delete the platform's own association on this cluster", expected: 'DENIED', deniedAt: 'eks:DeletePodIdentityAssociation', ...eks('DeletePodIdentityAssociation', { associationId: 'a-controller' }) },
    { name: "untag the ownership tags of another cluster's association", expected: 'DENIED', deniedAt: 'eks:UntagResource', ...eks('UntagResource', { resourceArn: associationArn('a-theirs', 'prod-b'), tagKeys: ['awi.dev/managed-by', 'awi.dev/cluster'] }, withTheirs) },
    { name: "untag the ownership tags of the same-named cluster's association (other region)", expected: 'DENIED', deniedAt: 'eks:UntagResource', env: twinEnv, ...eks('UntagResource', { resourceArn: associationArn('a-twin', CLUSTER, 'us-east-1'), tagKeys: ['awi.dev/managed-by'] }, withTheirs) },
    { name: "untag another cluster's association (a tag that is not an ownership tag)", expected: 'DENIED', deniedAt: 'eks:UntagResource', ...eks('UntagResource', { resourceArn: associationArn('a-theirs', 'prod-b'), tagKeys: ['awi.dev/owner'] }, withTheirs) },
    { name: "tag another cluster's association (a tag that is not an ownership tag)", expected: 'DENIED', deniedAt: 'eks:TagResource', ...eks('TagResource', { resourceArn: associationArn('a-theirs', 'prod-b'), tags: { 'awi.dev/owner': 'team-a' } }, withTheirs) },
    { name: "untag the platform's own association on this cluster", expected: 'DENIED', deniedAt: 'eks:UntagResource', ...eks('UntagResource', { resourceArn: associationArn('a-controller'), tagKeys: ['awi.dev/managed-by'] }) },
    { name: 'strip the ownership tags of its own association', expected: 'DENIED', deniedAt: 'eks:UntagResource', ...eks('UntagResource', { resourceArn: associationArn('a-mine'), tagKeys: ['awi.dev/stale', 'awi.dev/managed-by'] }) },
    { name: 'drop the ownership tag of its own association, spelt in capitals', expected: 'DENIED', deniedAt: 'eks:UntagResource', ...eks('UntagResource', { resourceArn: associationArn('a-mine'), tagKeys: ['AWI.DEV/CLUSTER'] }) },
    { name: 'restamp its own association for another cluster', expected: 'DENIED', deniedAt: 'eks:TagResource', ...eks('TagResource', { resourceArn: associationArn('a-mine'), tags: tags(o.other) }) },
    { name: 'create an association on another cluster', expected: 'DENIED', deniedAt: 'eks:CreatePodIdentityAssociation', ...associate(roleArn(mine), associations, 'prod-b') },
    { name: 'create an association without the ownership tags', expected: 'DENIED', deniedAt: 'eks:CreatePodIdentityAssociation', ...eks('CreatePodIdentityAssociation', { namespace: 'team-a', serviceAccount: 'app', roleArn: roleArn(mine), tags: {} }, associations, { output: { association: { associationId: 'a-new' } } }) },

    // Creating roles: only under /awi/, only with the boundary, only stamped for this cluster.
    { name: 'create a role without the boundary', expected: 'DENIED', deniedAt: 'iam:CreateRole', ...create({ PermissionsBoundary: undefined }) },
    { name: 'create a role with another boundary', expected: 'DENIED', deniedAt: 'iam:CreateRole', ...create({ PermissionsBoundary: `arn:aws:iam::${ACCOUNT}:policy/AdministratorAccess` }) },
    { name: 'create a role outside the awi path', expected: 'DENIED', deniedAt: 'iam:CreateRole', ...create({ Path: '/' }) },
    { name: 'create a role under a path that only contains awi', expected: 'DENIED', deniedAt: 'iam:CreateRole', ...create({ Path: '/platform/awi/' }) },
    { name: 'create a role stamped for another cluster', expected: 'DENIED', deniedAt: 'iam:CreateRole', ...create({ Tags: asTags(tags(o.other)) }) },
    { name: 'create a role without ownership tags', expected: 'DENIED', deniedAt: 'iam:CreateRole', ...create({ Tags: [] }) },

    // Its own roles: the boundary stays, the ownership tags stay.
    { name: 'swap the boundary of its own role', expected: 'DENIED', deniedAt: 'iam:PutRolePermissionsBoundary', ...iam('PutRolePermissionsBoundary', { RoleName: mine, PermissionsBoundary: `arn:aws:iam::${ACCOUNT}:policy/wide-open` }) },
    { name: 'remove the boundary of its own role', expected: 'DENIED', deniedAt: 'iam:DeleteRolePermissionsBoundary', ...iam('DeleteRolePermissionsBoundary', { RoleName: mine }) },
    { name: 'grant on its own role while the boundary is off', expected: 'DENIED', deniedAt: 'iam:PutRolePolicy', ...iam('PutRolePolicy', { RoleName: mine }, ownNoBoundary) },
    { name: 'restamp its own role for another cluster', expected: 'DENIED', deniedAt: 'iam:TagRole', ...iam('TagRole', { RoleName: mine, Tags: asTags({ 'awi.dev/cluster': o.other }) }) },
    { name: 'drop the ownership tag of its own role, spelt in capitals', expected: 'DENIED', deniedAt: 'iam:UntagRole', ...iam('UntagRole', { RoleName: mine, TagKeys: ['AWI.DEV/CLUSTER'] }) },

    // The controller's own role (outside /awi/) and IAM at large.
    { name: 'put a policy on the controller role', expected: 'DENIED', deniedAt: 'iam:PutRolePolicy', ...iam('PutRolePolicy', { RoleName: 'awi-controller' }) },
    { name: 'attach AdministratorAccess to the controller role', expected: 'DENIED', deniedAt: 'iam:AttachRolePolicy', ...iam('AttachRolePolicy', { RoleName: 'awi-controller', PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' }) },
    { name: 'update the trust of the controller role', expected: 'DENIED', deniedAt: 'iam:UpdateAssumeRolePolicy', ...iam('UpdateAssumeRolePolicy', { RoleName: 'awi-controller' }) },
    { name: 'stamp the controller role as awi-owned', expected: 'DENIED', deniedAt: 'iam:TagRole', ...iam('TagRole', { RoleName: 'awi-controller', Tags: asTags(tags(o.own)) }) },
    { name: 'set a boundary on the controller role', expected: 'DENIED', deniedAt: 'iam:PutRolePermissionsBoundary', ...iam('PutRolePermissionsBoundary', { RoleName: 'awi-controller', PermissionsBoundary: BOUNDARY }) },
    { name: 'rewrite the boundary policy itself', expected: 'DENIED', deniedAt: 'iam:CreatePolicyVersion', requests: [req('iam:CreatePolicyVersion', BOUNDARY)] },
    { name: 'create an access key for a user', expected: 'DENIED', deniedAt: 'iam:CreateAccessKey', requests: [req('iam:CreateAccessKey', `arn:aws:iam::${ACCOUNT}:user/admin`)] },
    { name: 'create a user', expected: 'DENIED', deniedAt: 'iam:CreateUser', requests: [req('iam:CreateUser', `arn:aws:iam::${ACCOUNT}:user/backdoor`)] },
    { name: 'assume a role that is not an account role of the config', expected: 'DENIED', deniedAt: 'sts:AssumeRole', requests: [req('sts:AssumeRole', roleArn('admin', '/'))] },

    // The controller's normal operations.
    { name: 'read a role that does not exist yet, by name', expected: 'ALLOWED', call: { service: 'iam', operation: 'GetRole', input: { RoleName: 'prod-a-team-a-new' }, error: 'NoSuchEntity' }, state: new AwsStateModel() },
    { name: "read another cluster's role (to report RoleNotOwned)", expected: 'ALLOWED', ...iam('GetRole', { RoleName: theirs }) },
    { name: 'create a role under /awi/ with the boundary and its ownership tags', expected: 'ALLOWED', ...create({}) },
    { name: 'put the permission policy on its own role', expected: 'ALLOWED', ...iam('PutRolePolicy', { RoleName: mine }) },
    { name: 'attach a managed policy to its own role', expected: 'ALLOWED', ...iam('AttachRolePolicy', { RoleName: mine, PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' }) },
    { name: 'update the trust of its own role', expected: 'ALLOWED', ...iam('UpdateAssumeRolePolicy', { RoleName: mine }) },
    { name: 'retag its own role (owner, environment)', expected: 'ALLOWED', ...iam('TagRole', { RoleName: mine, Tags: asTags({ 'awi.dev/owner': 'team-a', 'awi.dev/environment': 'dev' }) }) },
    { name: 'retag its own role with its ownership tags', expected: 'ALLOWED', ...iam('TagRole', { RoleName: mine, Tags: asTags({ ...own, 'awi.dev/owner': 'team-a' }) }) },
    { name: 'remove a stale tag from its own role', expected: 'ALLOWED', ...iam('UntagRole', { RoleName: mine, TagKeys: ['awi.dev/stale'] }) },
    { name: 'put the boundary back on its own role', expected: 'ALLOWED', ...iam('PutRolePermissionsBoundary', { RoleName: mine, PermissionsBoundary: BOUNDARY }, ownNoBoundary) },
    { name: 'delete its own role', expected: 'ALLOWED', ...iam('DeleteRole', { RoleName: mine }) },
    { name: 'create an association for its own role', expected: 'ALLOWED', ...associate(roleArn(mine)) },
    { name: 'repoint its own association at its own role', expected: 'ALLOWED', ...eks('UpdatePodIdentityAssociation', { associationId: 'a-mine', roleArn: roleArn(mine) }) },
    { name: 'describe an association of this cluster (to report conflicts)', expected: 'ALLOWED', ...eks('DescribePodIdentityAssociation', { associationId: 'a-controller' }) },
    { name: 'delete its own association', expected: 'ALLOWED', ...eks('DeletePodIdentityAssociation', { associationId: 'a-mine' }) },
    { name: 'restore a changed tag of its own association (the request carries the ownership pair)', expected: 'ALLOWED', ...eks('TagResource', { resourceArn: associationArn('a-mine'), tags: { ...tags(o.own), 'awi.dev/owner': 'team-a' } }) },
    { name: 'put the ownership tags back on its own association after they were stripped by hand', expected: 'ALLOWED', ...eks('TagResource', { resourceArn: associationArn('a-stripped'), tags: own }) },
    { name: 'remove a stale awi.dev tag from its own association', expected: 'ALLOWED', newWithIssue8: true, ...eks('UntagResource', { resourceArn: associationArn('a-mine'), tagKeys: ['awi.dev/stale'] }) },
    { name: 'list the associations of this cluster', expected: 'ALLOWED', ...eks('ListPodIdentityAssociations', { namespace: 'team-a', serviceAccount: 'app' }) },
    { name: 'check who it is', expected: 'ALLOWED', requests: [req('sts:GetCallerIdentity', '*')] },
    {
      name: "read the account's roles in pages (the shared role observation)", expected: 'ALLOWED',
      knownLimit: "IAM has no resource-level permissions for GetAccountAuthorizationDetails or ListRoles: the controller can read the whole account's IAM configuration (reads only, no secrets; deploy/aws/README.md, ObserveRolesInPages)",
      requests: [req('iam:GetAccountAuthorizationDetails', '*'), req('iam:ListRoles', '*')],
    },
    { name: 'describe its cluster (the start-up check that the cluster ARN is the configured one)', expected: 'ALLOWED', newWithIssue9: true, call: { service: 'eks', operation: 'DescribeCluster', input: { name: CLUSTER } }, state: new AwsStateModel() },
  ];
}

// --- deciding a move ------------------------------------------------------------

interface Verdict {
  verdict: 'ALLOWED' | 'DENIED';
  deniedAt?: string;
  /** Requests the two evaluators decided differently, or where iam-simulate dropped a context key. */
  disagreements: string[];
}

async function decide(p: PolicyDocument, move: Move): Promise<Verdict> {
  const requests = move.requests ?? authorizationRequests(move.call!, move.env ?? env, move.state ?? new AwsStateModel());
  if (!requests.length) throw new Error(`${move.name}: no requests`);
  const disagreements: string[] = [];
  let deniedAt: string | undefined;
  for (const r of requests) {
    const ours = evaluate(p, r).decision;
    const theirs = await simulate(p, r, ACCOUNT);
    if (ours !== theirs.decision) disagreements.push(`${r.action} on ${r.resource}: matcher ${ours}, iam-simulate ${theirs.decision}`);
    if (theirs.ignoredContextKeys.length) disagreements.push(`${r.action}: iam-simulate ignored ${theirs.ignoredContextKeys.join(', ')}`);
    if (ours !== 'Allow' && deniedAt === undefined) deniedAt = r.action;
  }
  return { verdict: deniedAt ? 'DENIED' : 'ALLOWED', ...(deniedAt ? { deniedAt } : {}), disagreements };
}

const expectedVerdict = (m: Move): Verdict => ({ verdict: m.expected, ...(m.deniedAt ? { deniedAt: m.deniedAt } : {}), disagreements: [] });

// --- the suite --------------------------------------------------------------------

const today = moves(BY_ARN);

describe('the controller policy refuses every escalation move, and both evaluators agree', () => {
  it('has moves of both kinds, each with a unique name', () => {
    expect(new Set(today.map((m) => m.name)).size).toBe(today.length);
    expect(today.filter((m) => m.expected === 'DENIED').length).toBeGreaterThanOrEqual(30);
    expect(today.filter((m) => m.expected === 'ALLOWED' && !m.knownLimit).length).toBeGreaterThanOrEqual(10);
  });

  it.each(today.map((m) => [m.knownLimit ? `${m.expected} (known limit)` : m.expected, m.name, m] as const))('%s: %s', async (_expected, _name, move) => {
    expect(await decide(policy, move)).toEqual(expectedVerdict(move));
  });
});

describe('the policy as it was before issue 9 (cluster-name tags, no resource-tag condition on create-time tagging)', () => {
  // Its convention: awi.dev/cluster = the cluster name, the same for the twin in another region.
  const before = moves(BY_NAME);

  it('let a stolen controller token through these escalation moves; the policy today refuses all of them', async () => {
    const letThrough: string[] = [];
    const disagreements: string[] = [];
    for (const move of before) {
      const v = await decide(policyBefore, move);
      disagreements.push(...v.disagreements.map((d) => `${move.name}: ${d}`));
      if (move.expected === 'DENIED' && v.verdict === 'ALLOWED') letThrough.push(move.name);
    }
    expect(disagreements).toEqual([]);
    expect(letThrough).toEqual([
      "retag another cluster's role as its own",
      "retag the same-named cluster's role (other region) as its own",
      "put a policy on the same-named cluster's role (other region)",
      "update the trust of the same-named cluster's role (other region)",
      "delete the same-named cluster's role (other region)",
      'then rewrite the trust of that adopted role while it has no boundary',
      "pass another cluster's role to EKS Pod Identity",
      'pass a role under /awi/ that awi did not tag to EKS Pod Identity',
      "repoint its own association at another cluster's role",
      "tag the platform's own association on this cluster as awi's",
      'drop the ownership tag of its own role, spelt in capitals',
    ]);
  });

  it('and its normal operations were allowed too (the comparison is like for like)', async () => {
    for (const move of before.filter((m) => m.expected === 'ALLOWED' && !m.knownLimit && !m.newWithIssue9 && !m.newWithIssue8)) {
      expect({ move: move.name, ...(await decide(policyBefore, move)) }).toEqual({ move: move.name, ...expectedVerdict(move) });
    }
  });
});
