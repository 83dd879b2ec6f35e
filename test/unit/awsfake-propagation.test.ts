// IAM propagation lag tracking (testbed/awsfake/propagation.ts) and request routing (testbed/awsfake/router.ts).
import { describe, expect, it } from '@jest/globals';
import { PropagationTracker, roleNameFromArn } from '../../testbed/awsfake/propagation.js';
import { matchRoute, parseSigningScope, routeService } from '../../testbed/awsfake/router.js';

const p = (o: Record<string, string>): URLSearchParams => new URLSearchParams(o);

describe('PropagationTracker', () => {
  it('hides and blocks a new role for lagMs, then lets it through', () => {
    let now = 0;
    const t = new PropagationTracker(1500, () => now);
    t.noteIamWrite('CreateRole', p({ RoleName: 'r' }));
    expect(t.hiddenFromReads('r')).toBe(true);
    expect(t.assumable('r')).toBe(false);
    expect(t.remainingMs('r')).toBe(1500);
    now = 1499;
    expect(t.assumable('r')).toBe(false);
    now = 1500;
    expect(t.hiddenFromReads('r')).toBe(false);
    expect(t.assumable('r')).toBe(true);
    expect(t.assumable('never-seen')).toBe(true);
  });

  it('a trust or permission change blocks assuming but not reading', () => {
    let now = 0;
    const t = new PropagationTracker(1000, () => now);
    t.noteIamWrite('CreateRole', p({ RoleName: 'r' }));
    now = 5000;
    t.noteIamWrite('UpdateAssumeRolePolicy', p({ RoleName: 'r', PolicyDocument: '{}' }));
    expect(t.hiddenFromReads('r')).toBe(false);
    expect(t.assumable('r')).toBe(false);
    now = 6000;
    t.noteIamWrite('PutRolePolicy', p({ RoleName: 'r', PolicyName: 'x' }));
    expect(t.assumable('r')).toBe(false);
  });

  it('a new default version of an attached managed policy blocks its roles', () => {
    let now = 0;
    const t = new PropagationTracker(1000, () => now);
    const arn = 'arn:aws:iam::111122223333:policy/p';
    t.noteIamWrite('AttachRolePolicy', p({ RoleName: 'a', PolicyArn: arn }));
    t.noteIamWrite('AttachRolePolicy', p({ RoleName: 'b', PolicyArn: arn }));
    t.noteIamWrite('DetachRolePolicy', p({ RoleName: 'b', PolicyArn: arn }));
    now = 10_000;
    t.noteIamWrite('CreatePolicyVersion', p({ PolicyArn: arn, SetAsDefault: 'false' }));
    expect(t.assumable('a')).toBe(true);
    t.noteIamWrite('CreatePolicyVersion', p({ PolicyArn: arn, SetAsDefault: 'true' }));
    expect(t.assumable('a')).toBe(false);
    expect(t.assumable('b')).toBe(true);
  });

  it('no lag: nothing is delayed; the lag applies to writes already seen when raised', () => {
    let now = 0;
    const t = new PropagationTracker(0, () => now);
    t.noteIamWrite('CreateRole', p({ RoleName: 'r' }));
    expect(t.assumable('r')).toBe(true);
    t.setLag(100);
    expect(t.assumable('r')).toBe(false);
    now = 100;
    expect(t.assumable('r')).toBe(true);
    t.noteIamWrite('DeleteRole', p({ RoleName: 'r' }));
    t.reset();
    expect(t.remainingMs('r')).toBe(0);
  });

  it('reads role names from ARNs with paths', () => {
    expect(roleNameFromArn('arn:aws:iam::111122223333:role/awi/team/r1')).toBe('r1');
    expect(roleNameFromArn('arn:aws:iam::111122223333:role/r1')).toBe('r1');
    expect(roleNameFromArn('arn:aws:iam::111122223333:user/u')).toBeUndefined();
  });
});

describe('router', () => {
  it('reads the SigV4 credential scope from the header or a presigned query', () => {
    const auth = 'AWS4-HMAC-SHA256 Credential=testing/20260101/ap-southeast-1/eks-auth/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc';
    expect(parseSigningScope(auth)).toEqual({ accessKeyId: 'testing', date: '20260101', region: 'ap-southeast-1', service: 'eks-auth' });
    const q = new URLSearchParams({ 'X-Amz-Credential': 'AKID/20260101/us-east-1/sts/aws4_request' });
    expect(parseSigningScope(undefined, q)?.service).toBe('sts');
    expect(parseSigningScope('Bearer x')).toBeUndefined();
  });

  it('routes by scope, else by path or Action', () => {
    const scope = (service: string) => ({ accessKeyId: 'a', date: 'd', region: 'r', service });
    expect(routeService(scope('iam'), '/', 'CreateRole')).toBe('iam');
    expect(routeService(scope('eks'), '/clusters/x', undefined)).toBe('eks');
    expect(routeService(scope('s3'), '/', undefined)).toBeUndefined();
    expect(routeService(undefined, '/', 'AssumeRoleWithWebIdentity')).toBe('sts');
    expect(routeService(undefined, '/', 'ListRoles')).toBe('iam');
    expect(routeService(undefined, '/clusters/c/assume-role-for-pod-identity', undefined)).toBe('eks-auth');
    expect(routeService(undefined, '/clusters/c/pod-identity-associations', undefined)).toBe('eks');
    expect(routeService(undefined, '/nothing', undefined)).toBeUndefined();
  });

  it('matches path templates and decodes parameters', () => {
    const routes = [
      { method: 'GET', path: '/clusters/{name}', operation: 'Describe' as const },
      { method: 'GET', path: '/clusters/{name}/things/{id}', operation: 'Thing' as const },
    ];
    expect(matchRoute(routes, 'GET', '/clusters/my%2Dc')).toEqual({ operation: 'Describe', params: { name: 'my-c' } });
    expect(matchRoute(routes, 'GET', '/clusters/c/things/t1/')).toEqual({ operation: 'Thing', params: { name: 'c', id: 't1' } });
    expect(matchRoute(routes, 'POST', '/clusters/c')).toBeUndefined();
    expect(matchRoute(routes, 'GET', '/clusters//things/x')).toBeUndefined();
  });
});
