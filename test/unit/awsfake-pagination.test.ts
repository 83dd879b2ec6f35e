// Pagination of the AWS fake (testbed/awsfake/pagination.ts) and EKS association
// listing through the in-memory EKS service (testbed/awsfake/eks.ts).
import { describe, expect, it } from '@jest/globals';
import { eksOperation, newAssociationId } from '../../testbed/awsfake/eks.js';
import { decodeToken, encodeToken, InvalidTokenError, paginate } from '../../testbed/awsfake/pagination.js';
import { awsFailure, eksCall, eksService } from '../harness/awsfake-memory.js';

const key = (s: string): string => s;

function all<T>(items: T[], k: (i: T) => string, max: number): { pages: T[][] } {
  const pages: T[][] = [];
  let token: string | undefined;
  do {
    const p = paginate(items, k, max, token);
    pages.push(p.items);
    token = p.nextToken;
  } while (token);
  return { pages };
}

describe('paginate', () => {
  it('walks every item once, in key order, with no token on the last page', () => {
    const items = ['e', 'a', 'c', 'b', 'd'];
    expect(all(items, key, 2).pages).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(all(items, key, 1).pages).toHaveLength(5);
    expect(paginate(items, key, 5).nextToken).toBeUndefined();
    expect(paginate([], key, 5)).toEqual({ items: [] });
  });

  it('keeps going after the last item returned even if it was deleted meanwhile', () => {
    const items = ['a', 'b', 'c', 'd'];
    const p1 = paginate(items, key, 2);
    expect(p1.items).toEqual(['a', 'b']);
    const p2 = paginate(['a', 'c', 'd', 'e'], key, 2, p1.nextToken);
    expect(p2.items).toEqual(['c', 'd']);
    expect(paginate(['a', 'c', 'd', 'e'], key, 2, p2.nextToken).items).toEqual(['e']);
  });

  it('rejects tokens it did not make', () => {
    expect(() => paginate(['a'], key, 1, 'garbage')).toThrow(InvalidTokenError);
    expect(decodeToken(encodeToken('x'))).toBe('x');
  });
});

describe('EksService associations', () => {
  const role = 'arn:aws:iam::111122223333:role/awi/r';
  const make = () => eksService({ name: 'c1', accountId: '111122223333', region: 'eu-west-1', issuer: 'https://issuer.test' });
  const call = eksCall;
  const err = awsFailure;

  it('names operations by route', () => {
    expect(eksOperation('POST', '/clusters/c1/pod-identity-associations')).toBe('CreatePodIdentityAssociation');
    expect(eksOperation('GET', '/clusters/c1/pod-identity-associations')).toBe('ListPodIdentityAssociations');
    expect(eksOperation('POST', '/clusters/c1/pod-identity-associations/a-1')).toBe('UpdatePodIdentityAssociation');
    expect(eksOperation('GET', '/clusters/c1')).toBe('DescribeCluster');
    expect(eksOperation('PUT', '/clusters/c1')).toBe('Unknown');
  });

  it('makes ids and ARNs like EKS', () => {
    expect(newAssociationId()).toMatch(/^a-[a-z0-9]{17}$/);
    const svc = make();
    const a = call(svc, 'POST', '/clusters/c1/pod-identity-associations', { namespace: 'ns', serviceAccount: 'sa', roleArn: role, tags: { k: 'v' } }).association;
    expect(a.associationArn).toBe(`arn:aws:eks:eu-west-1:111122223333:podidentityassociation/c1/${a.associationId}`);
    expect(a.tags).toEqual({ k: 'v' });
    expect(typeof a.createdAt).toBe('number');
  });

  it('lists with filters and working pagination', () => {
    const svc = make();
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      ids.push(call(svc, 'POST', '/clusters/c1/pod-identity-associations', { namespace: i % 2 ? 'odd' : 'even', serviceAccount: `sa-${i}`, roleArn: role }).association.associationId);
    }
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = call(svc, 'GET', '/clusters/c1/pod-identity-associations', undefined, `namespace=even&maxResults=1${token ? `&nextToken=${encodeURIComponent(token)}` : ''}`);
      expect(page.associations.length).toBeLessThanOrEqual(1);
      seen.push(...page.associations.map((a: { associationId: string }) => a.associationId));
      token = page.nextToken;
    } while (token);
    expect(seen).toEqual([ids[0], ids[2], ids[4], ids[6]]);
    const one = call(svc, 'GET', '/clusters/c1/pod-identity-associations', undefined, 'serviceAccount=sa-3');
    expect(one.associations.map((a: { associationId: string }) => a.associationId)).toEqual([ids[3]]);
    expect(one.nextToken).toBeUndefined();
    expect(err(() => call(svc, 'GET', '/clusters/c1/pod-identity-associations', undefined, 'maxResults=0'))).toMatchObject({ code: 'InvalidParameterException', status: 400 });
    expect(err(() => call(svc, 'GET', '/clusters/c1/pod-identity-associations', undefined, 'nextToken=zzz'))).toMatchObject({ code: 'InvalidParameterException' });
  });

  it('answers AWS errors: in use, not found, invalid', () => {
    const svc = make();
    const body = { namespace: 'ns', serviceAccount: 'sa', roleArn: role };
    const a = call(svc, 'POST', '/clusters/c1/pod-identity-associations', body).association;
    expect(err(() => call(svc, 'POST', '/clusters/c1/pod-identity-associations', body))).toMatchObject({ code: 'ResourceInUseException', status: 409 });
    expect(err(() => call(svc, 'POST', '/clusters/c2/pod-identity-associations', body))).toMatchObject({ code: 'ResourceNotFoundException', status: 404 });
    expect(err(() => call(svc, 'POST', '/clusters/c1/pod-identity-associations', { ...body, serviceAccount: 'x', roleArn: 'arn:aws:iam::111122223333:policy/p' }))).toMatchObject({
      code: 'InvalidParameterException',
    });
    expect(err(() => call(svc, 'POST', '/clusters/c1/pod-identity-associations', { ...body, serviceAccount: 'x', roleArn: 'arn:aws:iam::444455556666:role/r' }))).toMatchObject({
      code: 'InvalidParameterException',
    });
    expect(err(() => call(svc, 'POST', '/clusters/c1/pod-identity-associations', { namespace: 'ns', roleArn: role }))).toMatchObject({ code: 'InvalidParameterException' });
    expect(err(() => call(svc, 'POST', '/clusters/c1/pod-identity-associations', { ...body, serviceAccount: 'x', tags: { 'aws:x': 'y' } }))).toMatchObject({
      code: 'InvalidParameterException',
    });
    expect(call(svc, 'DELETE', `/clusters/c1/pod-identity-associations/${a.associationId}`).association.associationId).toBe(a.associationId);
    expect(err(() => call(svc, 'GET', `/clusters/c1/pod-identity-associations/${a.associationId}`))).toMatchObject({ code: 'ResourceNotFoundException', status: 404 });
    // The name is free again.
    expect(call(svc, 'POST', '/clusters/c1/pod-identity-associations', body).association.associationId).not.toBe(a.associationId);
  });

  it('is idempotent for a repeated clientRequestToken and updates the role', () => {
    const svc = make();
    const body = { namespace: 'ns', serviceAccount: 'sa', roleArn: role, clientRequestToken: 'tok-1' };
    const a = call(svc, 'POST', '/clusters/c1/pod-identity-associations', body).association;
    expect(call(svc, 'POST', '/clusters/c1/pod-identity-associations', body).association.associationId).toBe(a.associationId);
    const role2 = 'arn:aws:iam::111122223333:role/other';
    expect(call(svc, 'POST', `/clusters/c1/pod-identity-associations/${a.associationId}`, { roleArn: role2 }).association.roleArn).toBe(role2);
    expect(svc.find('c1', 'ns', 'sa')?.roleArn).toBe(role2);
  });
});
