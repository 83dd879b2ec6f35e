// The evaluator and call mapping used by the IAM coverage test: they must say
// "deny" where AWS would, or the coverage test proves nothing.
import { describe, expect, it } from '@jest/globals';
import {
  actionMatches, allowedActions, authorizationRequests, AwsStateModel, conditionsHold, evaluate, resourceMatches,
  type AwsCall, type PolicyDocument,
} from '../harness/iam-policy-match.js';

const env = { partition: 'aws', accountId: '111122223333', region: 'eu-west-1' };
const policy = (...Statement: PolicyDocument['Statement'][]): PolicyDocument => ({ Version: '2012-10-17', Statement: Statement.flat() });

describe('action and resource patterns', () => {
  it('matches actions case-insensitively with wildcards', () => {
    expect(actionMatches('iam:GetRole', 'iam:getrole')).toBe(true);
    expect(actionMatches('iam:Get*', 'iam:GetRolePolicy')).toBe(true);
    expect(actionMatches('iam:Get*', 'iam:PutRolePolicy')).toBe(false);
    expect(actionMatches('eks:*PodIdentityAssociation', 'eks:CreatePodIdentityAssociation')).toBe(true);
    expect(actionMatches('eks:*PodIdentityAssociation', 'eks:ListPodIdentityAssociations')).toBe(false);
    expect(actionMatches('iam:GetRole?', 'iam:GetRoles')).toBe(true);
  });

  it('matches ARNs case-sensitively, * spanning path separators', () => {
    expect(resourceMatches('arn:aws:iam::1:role/awi/*', 'arn:aws:iam::1:role/awi/a-b')).toBe(true);
    expect(resourceMatches('arn:aws:iam::1:role/awi/*', 'arn:aws:iam::1:role/awi/x/y')).toBe(true);
    expect(resourceMatches('arn:aws:iam::1:role/awi/*', 'arn:aws:iam::1:role/other/awi/x')).toBe(false);
    expect(resourceMatches('arn:aws:iam::1:role/awi/*', 'arn:aws:iam::1:role/AWI/x')).toBe(false);
  });

  it('refuses unrendered placeholders instead of treating them as text', () => {
    expect(() => resourceMatches('arn:aws:iam::${ACCOUNT_ID}:role/*', 'arn:aws:iam::1:role/x')).toThrow(/placeholder/);
  });
});

describe('conditions', () => {
  // The semantics are the shared evaluator's (test/unit/iam-conditions.test.ts); here: its wiring and strictness.
  it('holds when every condition does; keys are case-insensitive, values are not', () => {
    const c = { StringEquals: { 'aws:RequestTag/awi.dev/managed-by': 'awi' }, ArnLike: { 'iam:PolicyARN': 'arn:aws:iam::*:policy/awi-*' } };
    expect(conditionsHold(c, { 'aws:requesttag/awi.dev/managed-by': 'awi', 'iam:PolicyARN': 'arn:aws:iam::1:policy/awi-read' })).toBe(true);
    expect(conditionsHold(c, { 'aws:RequestTag/awi.dev/managed-by': 'AWI', 'iam:PolicyARN': 'arn:aws:iam::1:policy/awi-read' })).toBe(false);
    expect(conditionsHold(c, { 'aws:RequestTag/awi.dev/managed-by': 'awi', 'iam:PolicyARN': 'arn:aws:iam::1:x:policy/awi-read' })).toBe(false);
    expect(conditionsHold(c, {})).toBe(false);
  });

  it('throws on what it cannot evaluate rather than guessing, even next to a failed condition', () => {
    expect(() => conditionsHold({ NumericLessThan: { k: '1' } }, { k: '0' })).toThrow(/unsupported/);
    expect(() => conditionsHold({ NumericLessThan: { k: '1' }, StringEquals: { j: 'x' } }, { k: '0', j: 'y' })).toThrow(/unsupported/);
    expect(() => conditionsHold({ StringEquals: { 'aws:TagKeys': 'x' } }, { 'aws:TagKeys': ['x'] })).toThrow(/multivalued/);
    expect(() => conditionsHold({ StringEquals: { 'aws:RequestTag/awi.dev/cluster': '${CLUSTER_ARN}' } }, { 'aws:RequestTag/awi.dev/cluster': 'c' })).toThrow(/policy variables/);
  });
});

describe('evaluate', () => {
  const p = policy(
    { Sid: 'Read', Effect: 'Allow', Action: ['iam:GetRole'], Resource: 'arn:aws:iam::1:role/awi/*' },
    { Sid: 'NoSecrets', Effect: 'Deny', Action: 'iam:GetRole', Resource: 'arn:aws:iam::1:role/awi/secret' },
  );

  it('allows what an Allow statement matches and names the statement', () => {
    expect(evaluate(p, { action: 'iam:GetRole', resource: 'arn:aws:iam::1:role/awi/x', context: {} })).toEqual({ decision: 'Allow', allowedBy: ['Read'], deniedBy: [] });
  });

  it('denies by default and lets an explicit Deny win', () => {
    expect(evaluate(p, { action: 'iam:GetRole', resource: 'arn:aws:iam::1:role/x', context: {} }).decision).toBe('ImplicitDeny');
    expect(evaluate(p, { action: 'iam:DeleteRole', resource: 'arn:aws:iam::1:role/awi/x', context: {} }).decision).toBe('ImplicitDeny');
    expect(evaluate(p, { action: 'iam:GetRole', resource: 'arn:aws:iam::1:role/awi/secret', context: {} }).decision).toBe('ExplicitDeny');
  });

  it('lists the allowed actions', () => {
    expect(allowedActions(p)).toEqual(['iam:GetRole']);
  });
});

describe('authorizationRequests', () => {
  const call = (c: Partial<AwsCall> & Pick<AwsCall, 'service' | 'operation'>): AwsCall => ({ input: {}, ...c });

  it('GetRole of a role that does not exist yet is checked against its ARN without a path', () => {
    const s = new AwsStateModel();
    const reqs = authorizationRequests(call({ service: 'iam', operation: 'GetRole', input: { RoleName: 'c-ns-sa' }, error: 'NoSuchEntity' }), env, s);
    expect(reqs).toEqual([{ action: 'iam:GetRole', resource: 'arn:aws:iam::111122223333:role/c-ns-sa', context: {} }]);
  });

  it('CreateRole carries boundary and request tags, and needs iam:TagRole for the tags', () => {
    const reqs = authorizationRequests(call({
      service: 'iam', operation: 'CreateRole',
      input: { RoleName: 'r', Path: '/awi/', PermissionsBoundary: 'arn:aws:iam::1:policy/b', Tags: [{ Key: 'awi.dev/managed-by', Value: 'awi' }] },
    }), env, new AwsStateModel());
    expect(reqs).toEqual([
      { action: 'iam:CreateRole', resource: 'arn:aws:iam::111122223333:role/awi/r', context: { 'aws:RequestTag/awi.dev/managed-by': 'awi', 'aws:TagKeys': ['awi.dev/managed-by'], 'iam:PermissionsBoundary': 'arn:aws:iam::1:policy/b' } },
      { action: 'iam:TagRole', resource: 'arn:aws:iam::111122223333:role/awi/r', context: { 'aws:RequestTag/awi.dev/managed-by': 'awi', 'aws:TagKeys': ['awi.dev/managed-by'] } },
    ]);
  });

  it('role writes see the tags and boundary the role had, as GetRole and earlier writes showed them', () => {
    const s = new AwsStateModel();
    s.apply(call({ service: 'iam', operation: 'GetRole', input: { RoleName: 'r' }, output: { Role: { Path: '/awi/', Tags: [{ Key: 'awi.dev/managed-by', Value: 'awi' }], PermissionsBoundary: { PermissionsBoundaryArn: 'arn:b' } } } }));
    s.apply(call({ service: 'iam', operation: 'TagRole', input: { RoleName: 'r', Tags: [{ Key: 'team', Value: 'a' }] } }));
    s.apply(call({ service: 'iam', operation: 'UntagRole', input: { RoleName: 'r', TagKeys: ['awi.dev/managed-by'] } }));
    const [put] = authorizationRequests(call({ service: 'iam', operation: 'PutRolePolicy', input: { RoleName: 'r' } }), env, s);
    expect(put).toEqual({ action: 'iam:PutRolePolicy', resource: 'arn:aws:iam::111122223333:role/awi/r', context: { 'aws:ResourceTag/team': 'a', 'iam:PermissionsBoundary': 'arn:b' } });
    s.apply(call({ service: 'iam', operation: 'DeleteRole', input: { RoleName: 'r' } }));
    expect(s.roles.has('r')).toBe(false);
  });

  it('a failed call changes nothing; a NoSuchEntity GetRole forgets the role', () => {
    const s = new AwsStateModel();
    s.apply(call({ service: 'iam', operation: 'CreateRole', input: { RoleName: 'r', Path: '/awi/' } }));
    s.apply(call({ service: 'iam', operation: 'TagRole', input: { RoleName: 'r', Tags: [{ Key: 'k', Value: 'v' }] }, error: 'AccessDenied' }));
    expect(s.roles.get('r')!.tags).toEqual({});
    s.apply(call({ service: 'iam', operation: 'GetRole', input: { RoleName: 'r' }, error: 'NoSuchEntityException' }));
    expect(s.roles.has('r')).toBe(false);
  });

  it('creating or repointing a Pod Identity association passes the role to pods.eks.amazonaws.com', () => {
    const s = new AwsStateModel();
    const tags = { 'awi.dev/managed-by': 'awi' };
    const created = call({ service: 'eks', operation: 'CreatePodIdentityAssociation', input: { clusterName: 'c', roleArn: 'arn:aws:iam::1:role/awi/r', tags }, output: { association: { associationId: 'a-1', tags } } });
    expect(authorizationRequests(created, env, s).map((r) => [r.action, r.resource])).toEqual([
      ['eks:CreatePodIdentityAssociation', 'arn:aws:eks:eu-west-1:111122223333:cluster/c'],
      ['eks:TagResource', 'arn:aws:eks:eu-west-1:111122223333:podidentityassociation/c/a-1'],
      ['iam:PassRole', 'arn:aws:iam::1:role/awi/r'],
    ]);
    s.apply(created);
    const update = authorizationRequests(call({ service: 'eks', operation: 'UpdatePodIdentityAssociation', input: { clusterName: 'c', associationId: 'a-1', roleArn: 'arn:aws:iam::1:role/awi/r' } }), env, s);
    expect(update).toEqual([
      { action: 'eks:UpdatePodIdentityAssociation', resource: 'arn:aws:eks:eu-west-1:111122223333:podidentityassociation/c/a-1', context: { 'aws:ResourceTag/awi.dev/managed-by': 'awi' } },
      { action: 'iam:PassRole', resource: 'arn:aws:iam::1:role/awi/r', context: { 'iam:PassedToService': 'pods.eks.amazonaws.com' } },
    ]);
  });

  it('PassRole sees the tags of the role passed, when the state knows that role at that ARN', () => {
    const s = new AwsStateModel();
    s.apply(call({ service: 'iam', operation: 'CreateRole', input: { RoleName: 'r', Path: '/awi/', Tags: [{ Key: 'awi.dev/cluster', Value: 'arn:aws:eks:eu-west-1:111122223333:cluster/c' }] } }));
    const passed = (roleArn: string) => authorizationRequests(call({ service: 'eks', operation: 'UpdatePodIdentityAssociation', input: { clusterName: 'c', associationId: 'a-1', roleArn } }), env, s)[1]!.context;
    expect(passed('arn:aws:iam::111122223333:role/awi/r')).toEqual({ 'iam:PassedToService': 'pods.eks.amazonaws.com', 'aws:ResourceTag/awi.dev/cluster': 'arn:aws:eks:eu-west-1:111122223333:cluster/c' });
    // Same name, another path or account: another role, whose tags the state does not know.
    expect(passed('arn:aws:iam::111122223333:role/other/r')).toEqual({ 'iam:PassedToService': 'pods.eks.amazonaws.com' });
    expect(passed('arn:aws:iam::444455556666:role/awi/r')).toEqual({ 'iam:PassedToService': 'pods.eks.amazonaws.com' });
  });

  it('TagResource and UntagResource of an association: authorized on its ARN with its tags as they were, and they change the tags the state knows', () => {
    const s = new AwsStateModel();
    const arn = 'arn:aws:eks:eu-west-1:111122223333:podidentityassociation/c/a-1';
    s.apply(call({ service: 'eks', operation: 'DescribePodIdentityAssociation', input: { clusterName: 'c', associationId: 'a-1' }, output: { association: { associationId: 'a-1', tags: { 'awi.dev/managed-by': 'awi', 'awi.dev/stale': 'x' } } } }));
    const tag = call({ service: 'eks', operation: 'TagResource', input: { resourceArn: arn, tags: { 'awi.dev/owner': 'team-a' } } });
    expect(authorizationRequests(tag, env, s)).toEqual([{
      action: 'eks:TagResource', resource: arn,
      context: { 'aws:ResourceTag/awi.dev/managed-by': 'awi', 'aws:ResourceTag/awi.dev/stale': 'x', 'aws:RequestTag/awi.dev/owner': 'team-a', 'aws:TagKeys': ['awi.dev/owner'] },
    }]);
    s.apply(tag);
    const untag = call({ service: 'eks', operation: 'UntagResource', input: { resourceArn: arn, tagKeys: ['awi.dev/stale'] } });
    expect(authorizationRequests(untag, env, s)).toEqual([{
      action: 'eks:UntagResource', resource: arn,
      context: { 'aws:ResourceTag/awi.dev/managed-by': 'awi', 'aws:ResourceTag/awi.dev/stale': 'x', 'aws:ResourceTag/awi.dev/owner': 'team-a', 'aws:TagKeys': ['awi.dev/stale'] },
    }]);
    s.apply(untag);
    expect(s.associations.get('a-1')).toEqual({ 'awi.dev/managed-by': 'awi', 'awi.dev/owner': 'team-a' });
    // A failed tag call changes nothing.
    s.apply(call({ service: 'eks', operation: 'UntagResource', input: { resourceArn: arn, tagKeys: ['awi.dev/managed-by'] }, error: 'AccessDeniedException' }));
    expect(s.associations.get('a-1')).toMatchObject({ 'awi.dev/managed-by': 'awi' });
  });

  it('DescribeCluster is authorized on the cluster it names (input "name")', () => {
    expect(authorizationRequests(call({ service: 'eks', operation: 'DescribeCluster', input: { name: 'c' } }), env, new AwsStateModel()))
      .toEqual([{ action: 'eks:DescribeCluster', resource: 'arn:aws:eks:eu-west-1:111122223333:cluster/c', context: {} }]);
  });

  it('refuses calls it has no mapping for', () => {
    expect(() => authorizationRequests(call({ service: 'iam', operation: 'CreateUser', input: { RoleName: 'x' } }), env, new AwsStateModel())).toThrow(/no authorization mapping/);
    expect(() => authorizationRequests(call({ service: 'eks', operation: 'DeleteCluster', input: { name: 'c' } }), env, new AwsStateModel())).toThrow(/no authorization mapping/);
  });
});
