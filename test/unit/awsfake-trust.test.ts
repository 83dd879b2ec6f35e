// Trust-policy evaluation of the AWS fake (testbed/awsfake/trust-evaluation.ts);
// its conditions are iam-conditions.ts's (test/unit/iam-conditions.test.ts).
import { describe, expect, it } from '@jest/globals';
import { evaluateTrust, MalformedPolicyError, parsePolicyDocument, type TrustRequest } from '../../testbed/awsfake/trust-evaluation.js';

const HP = '127.0.0.1:6443';
const PROVIDER = `arn:aws:iam::111122223333:oidc-provider/${HP}`;

function irsaPolicy(condition: Record<string, Record<string, string | string[]>>, extra: object = {}) {
  return parsePolicyDocument({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Federated: PROVIDER }, Action: 'sts:AssumeRoleWithWebIdentity', Condition: condition, ...extra }],
  });
}

function webIdentity(sub: string, aud = 'sts.amazonaws.com', provider = PROVIDER): TrustRequest {
  return {
    action: 'sts:AssumeRoleWithWebIdentity',
    principal: { type: 'Federated', id: provider },
    context: { [`${HP}:sub`]: sub, [`${HP}:aud`]: aud },
  };
}

describe('parsePolicyDocument', () => {
  it('reads URL-encoded documents as IAM returns them, and a single Statement object', () => {
    const doc = { Version: '2012-10-17', Statement: { Effect: 'Allow', Principal: { Service: 'pods.eks.amazonaws.com' }, Action: 'sts:AssumeRole' } };
    const parsed = parsePolicyDocument(encodeURIComponent(JSON.stringify(doc)));
    expect(parsed.Statement).toHaveLength(1);
    expect(parsed.Statement[0]!.Principal).toEqual({ Service: 'pods.eks.amazonaws.com' });
    expect(parsePolicyDocument(JSON.stringify(doc)).Statement).toHaveLength(1);
  });

  it('rejects what is not a policy', () => {
    expect(() => parsePolicyDocument('not json')).toThrow(MalformedPolicyError);
    expect(() => parsePolicyDocument('{"Version":"2012-10-17"}')).toThrow(MalformedPolicyError);
    expect(() => parsePolicyDocument({ Statement: [1] })).toThrow(MalformedPolicyError);
  });
});

describe('evaluateTrust: IRSA', () => {
  const pinned = irsaPolicy({ StringEquals: { [`${HP}:sub`]: 'system:serviceaccount:demo:s3-reader', [`${HP}:aud`]: 'sts.amazonaws.com' } });

  it('allows exactly the pinned namespace and ServiceAccount', () => {
    expect(evaluateTrust(pinned, webIdentity('system:serviceaccount:demo:s3-reader')).allowed).toBe(true);
    expect(evaluateTrust(pinned, webIdentity('system:serviceaccount:demo2:s3-reader')).allowed).toBe(false);
    expect(evaluateTrust(pinned, webIdentity('system:serviceaccount:demo:s3-writer')).allowed).toBe(false);
  });

  it('requires every condition key: a wrong audience is denied', () => {
    const d = evaluateTrust(pinned, webIdentity('system:serviceaccount:demo:s3-reader', 'vault'));
    expect(d.allowed).toBe(false);
    expect(d.reason).toContain(':aud');
  });

  it('denies a missing condition key for StringEquals', () => {
    const req = webIdentity('system:serviceaccount:demo:s3-reader');
    delete req.context[`${HP}:aud`];
    expect(evaluateTrust(pinned, req).allowed).toBe(false);
  });

  it('matches the federated principal exactly', () => {
    expect(evaluateTrust(pinned, webIdentity('system:serviceaccount:demo:s3-reader', 'sts.amazonaws.com', `${PROVIDER}x`)).allowed).toBe(false);
  });

  it('needs the action: sts:AssumeRole alone does not allow web identity', () => {
    const p = irsaPolicy({}, { Action: 'sts:AssumeRole' });
    expect(evaluateTrust(p, webIdentity('system:serviceaccount:demo:s3-reader')).allowed).toBe(false);
    const wildcard = irsaPolicy({}, { Action: 'sts:*' });
    expect(evaluateTrust(wildcard, webIdentity('system:serviceaccount:demo:s3-reader')).allowed).toBe(true);
    const mixedCase = irsaPolicy({}, { Action: ['STS:AssumeRoleWithWebIdentity'] });
    expect(evaluateTrust(mixedCase, webIdentity('system:serviceaccount:demo:s3-reader')).allowed).toBe(true);
  });

  it('globs with StringLike (* and ?), not with StringEquals', () => {
    const like = irsaPolicy({ StringLike: { [`${HP}:sub`]: 'system:serviceaccount:team-?:*' } });
    expect(evaluateTrust(like, webIdentity('system:serviceaccount:team-a:anything')).allowed).toBe(true);
    expect(evaluateTrust(like, webIdentity('system:serviceaccount:team-ab:anything')).allowed).toBe(false);
    const eq = irsaPolicy({ StringEquals: { [`${HP}:sub`]: 'system:serviceaccount:team-a:*' } });
    expect(evaluateTrust(eq, webIdentity('system:serviceaccount:team-a:anything')).allowed).toBe(false);
    expect(evaluateTrust(eq, webIdentity('system:serviceaccount:team-a:*')).allowed).toBe(true);
  });

  it('treats a list of values as OR and keys case-insensitively', () => {
    const p = irsaPolicy({ StringEquals: { [`${HP.toUpperCase()}:SUB`]: ['system:serviceaccount:a:x', 'system:serviceaccount:b:x'] } });
    expect(evaluateTrust(p, webIdentity('system:serviceaccount:b:x')).allowed).toBe(true);
    expect(evaluateTrust(p, webIdentity('system:serviceaccount:c:x')).allowed).toBe(false);
  });

  it('denies on an unknown condition operator', () => {
    const p = irsaPolicy({ StringEqualsMaybe: { [`${HP}:sub`]: 'system:serviceaccount:demo:s3-reader' } });
    const d = evaluateTrust(p, webIdentity('system:serviceaccount:demo:s3-reader'));
    expect(d.allowed).toBe(false);
    expect(d.reason).toContain('unsupported condition operator StringEqualsMaybe');
  });

  it('lets an explicit Deny win over an Allow', () => {
    const p = parsePolicyDocument({
      Statement: [
        { Effect: 'Allow', Principal: { Federated: PROVIDER }, Action: 'sts:AssumeRoleWithWebIdentity' },
        { Effect: 'Deny', Principal: '*', Action: '*', Condition: { StringLike: { [`${HP}:sub`]: 'system:serviceaccount:kube-system:*' } } },
      ],
    });
    expect(evaluateTrust(p, webIdentity('system:serviceaccount:demo:x')).allowed).toBe(true);
    const d = evaluateTrust(p, webIdentity('system:serviceaccount:kube-system:x'));
    expect(d).toEqual({ allowed: false, reason: 'explicit deny in statement 1' });
  });

  it('denies when no statement matches, or Effect is odd', () => {
    expect(evaluateTrust(parsePolicyDocument({ Statement: [] }), webIdentity('x')).allowed).toBe(false);
    const odd = parsePolicyDocument({ Statement: [{ Effect: 'allow', Principal: '*', Action: '*' }] });
    expect(evaluateTrust(odd, webIdentity('x')).allowed).toBe(false);
  });
});

describe('evaluateTrust: Pod Identity and AWS principals', () => {
  const pods = parsePolicyDocument({
    Statement: [{ Effect: 'Allow', Principal: { Service: 'pods.eks.amazonaws.com' }, Action: ['sts:AssumeRole', 'sts:TagSession'] }],
  });
  const svc = (action: string, id = 'pods.eks.amazonaws.com'): TrustRequest => ({ action, principal: { type: 'Service', id }, context: {} });

  it('allows the pods service both actions, and nobody else', () => {
    expect(evaluateTrust(pods, svc('sts:AssumeRole')).allowed).toBe(true);
    expect(evaluateTrust(pods, svc('sts:TagSession')).allowed).toBe(true);
    expect(evaluateTrust(pods, svc('sts:AssumeRole', 'ec2.amazonaws.com')).allowed).toBe(false);
    expect(evaluateTrust(pods, { action: 'sts:AssumeRole', principal: { type: 'Federated', id: PROVIDER }, context: {} }).allowed).toBe(false);
  });

  it('matches AWS principals by ARN, account root or account id', () => {
    const role = 'arn:aws:iam::111122223333:role/source';
    const req: TrustRequest = { action: 'sts:AssumeRole', principal: { type: 'AWS', id: role }, context: {} };
    const with_ = (aws: string) => parsePolicyDocument({ Statement: [{ Effect: 'Allow', Principal: { AWS: aws }, Action: 'sts:AssumeRole' }] });
    expect(evaluateTrust(with_(role), req).allowed).toBe(true);
    expect(evaluateTrust(with_('arn:aws:iam::111122223333:root'), req).allowed).toBe(true);
    expect(evaluateTrust(with_('111122223333'), req).allowed).toBe(true);
    expect(evaluateTrust(with_('arn:aws:iam::444455556666:root'), req).allowed).toBe(false);
    expect(evaluateTrust(with_('*'), req).allowed).toBe(true);
  });

  it('evaluates aws:SourceAccount / aws:SourceArn conditions', () => {
    const p = parsePolicyDocument({
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'pods.eks.amazonaws.com' },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'aws:SourceAccount': '111122223333' }, ArnLike: { 'aws:SourceArn': 'arn:aws:eks:*:111122223333:cluster/prod-*' } },
        },
      ],
    });
    const ctx = (arn: string): TrustRequest => ({ action: 'sts:AssumeRole', principal: { type: 'Service', id: 'pods.eks.amazonaws.com' }, context: { 'aws:SourceAccount': '111122223333', 'aws:SourceArn': arn } });
    expect(evaluateTrust(p, ctx('arn:aws:eks:eu-west-1:111122223333:cluster/prod-a')).allowed).toBe(true);
    expect(evaluateTrust(p, ctx('arn:aws:eks:eu-west-1:111122223333:cluster/dev-a')).allowed).toBe(false);
  });

  it('ArnEquals and ArnLike match ARNs part by part: a wildcard does not cross a colon', () => {
    const trust = (operator: string, pattern: string) => parsePolicyDocument({
      Statement: [{ Effect: 'Allow', Principal: { Service: 'pods.eks.amazonaws.com' }, Action: 'sts:AssumeRole', Condition: { [operator]: { 'aws:SourceArn': pattern } } }],
    });
    const req: TrustRequest = { action: 'sts:AssumeRole', principal: { type: 'Service', id: 'pods.eks.amazonaws.com' }, context: { 'aws:SourceArn': 'arn:aws:eks:eu-west-1:111122223333:cluster/prod-a' } };
    for (const operator of ['ArnEquals', 'ArnLike']) {
      expect({ operator, allowed: evaluateTrust(trust(operator, 'arn:aws:eks:*:111122223333:cluster/*'), req).allowed }).toEqual({ operator, allowed: true });
      // As a plain glob, "arn:aws:eks:*" would cover every EKS ARN; IAM needs all six parts.
      expect({ operator, allowed: evaluateTrust(trust(operator, 'arn:aws:eks:*'), req).allowed }).toEqual({ operator, allowed: false });
      expect({ operator, allowed: evaluateTrust(trust(operator, 'arn:aws:eks:*:*:cluster/PROD-*'), req).allowed }).toEqual({ operator, allowed: false });
    }
  });

  it('a condition it cannot evaluate never helps an Allow and always applies a Deny', () => {
    const req: TrustRequest = { action: 'sts:AssumeRole', principal: { type: 'Service', id: 'pods.eks.amazonaws.com' }, context: { 'aws:TagKeys': ['team'] } };
    const allow = { Effect: 'Allow', Principal: { Service: 'pods.eks.amazonaws.com' }, Action: 'sts:AssumeRole' };
    // StringEquals on a multivalued key: AWS requires ForAnyValue: / ForAllValues:.
    const allowIf = parsePolicyDocument({ Statement: [{ ...allow, Condition: { StringEquals: { 'aws:TagKeys': 'team' } } }] });
    expect(evaluateTrust(allowIf, req).allowed).toBe(false);
    const denyIf = parsePolicyDocument({ Statement: [allow, { Effect: 'Deny', Principal: '*', Action: '*', Condition: { NumericLessThan: { 'aws:MultiFactorAuthAge': '3600' } } }] });
    expect(evaluateTrust(denyIf, req)).toEqual({ allowed: false, reason: 'explicit deny in statement 1' });
  });
});
