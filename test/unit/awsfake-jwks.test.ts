// Service-account token verification of the AWS fake (testbed/awsfake/jwks.ts), with jose-made keys.
import { beforeAll, describe, expect, it } from '@jest/globals';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JSONWebKeySet } from 'jose';
import { audiences, issuerHostPath, serviceAccountOf, TokenError, TokenVerifier } from '../../testbed/awsfake/jwks.js';
import type { ClusterConfig } from '../../testbed/awsfake/types.js';

const ISSUER = 'https://127.0.0.1:6443';
const NOW = 1_800_000_000;

let key1: { publicKey: CryptoKey; privateKey: CryptoKey };
let key2: { publicKey: CryptoKey; privateKey: CryptoKey };
let jwks1: JSONWebKeySet;
let jwks12: JSONWebKeySet;

beforeAll(async () => {
  key1 = await generateKeyPair('RS256');
  key2 = await generateKeyPair('RS256');
  const j1 = { ...(await exportJWK(key1.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const j2 = { ...(await exportJWK(key2.publicKey)), kid: 'k2', alg: 'RS256', use: 'sig' };
  jwks1 = { keys: [j1] };
  jwks12 = { keys: [j1, j2] };
});

function token(opts: { kid?: string; key?: CryptoKey; iss?: string; exp?: number; sub?: string; aud?: string[]; ns?: string } = {}): Promise<string> {
  const sub = opts.sub ?? 'system:serviceaccount:demo:s3-reader';
  return new SignJWT({ 'kubernetes.io': { namespace: opts.ns ?? 'demo', serviceaccount: { name: 's3-reader', uid: 'u' } } })
    .setProtectedHeader({ alg: 'RS256', kid: opts.kid ?? 'k1' })
    .setIssuer(opts.iss ?? ISSUER)
    .setSubject(sub)
    .setAudience(opts.aud ?? ['sts.amazonaws.com'])
    .setIssuedAt(NOW - 60)
    .setExpirationTime(opts.exp ?? NOW + 600)
    .sign(opts.key ?? key1.privateKey);
}

function verifier(loads: JSONWebKeySet[], clock: { ms: number } = { ms: NOW * 1000 }): { v: TokenVerifier; calls: () => number; cluster: ClusterConfig } {
  let n = 0;
  const cluster: ClusterConfig = { name: 'c', issuer: ISSUER };
  const v = new TokenVerifier(
    () => [cluster],
    async () => loads[Math.min(n++, loads.length - 1)]!,
    () => clock.ms,
  );
  return { v, calls: () => n, cluster };
}

async function kindOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (err instanceof TokenError) return err.kind;
    throw err;
  }
}

describe('TokenVerifier', () => {
  it('accepts a token signed by the cluster key and caches the key set', async () => {
    const { v, calls, cluster } = verifier([jwks1]);
    const claims = await v.verify(cluster, await token());
    expect(claims.sub).toBe('system:serviceaccount:demo:s3-reader');
    await v.verify(cluster, await token());
    expect(calls()).toBe(1);
  });

  it('rejects expired tokens as expired, other failures as invalid', async () => {
    const { v, cluster } = verifier([jwks1]);
    expect(await kindOf(v.verify(cluster, await token({ exp: NOW - 60 })))).toBe('expired');
    expect(await kindOf(v.verify(cluster, await token({ iss: 'https://other' })))).toBe('invalid');
    expect(await kindOf(v.verify(cluster, await token({ key: key2.privateKey })))).toBe('invalid'); // kid k1, wrong key
    const t = await token();
    expect(await kindOf(v.verify(cluster, t.slice(0, -4) + 'AAAA'))).toBe('invalid');
    expect(await kindOf(v.verify(cluster, 'not.a.jwt'))).toBe('malformed');
  });

  it('reads the key set again for an unknown kid (key rotation)', async () => {
    const clock = { ms: NOW * 1000 };
    const { v, calls, cluster } = verifier([jwks1, jwks12], clock);
    await v.verify(cluster, await token());
    const rotated = await token({ kid: 'k2', key: key2.privateKey });
    await expect(v.verify(cluster, rotated)).resolves.toMatchObject({ iss: ISSUER });
    expect(calls()).toBe(2);
    // A kid nobody has: at most one forced read per second, not one per token.
    const stranger = await token({ kid: 'k9', key: key2.privateKey });
    expect(await kindOf(v.verify(cluster, stranger))).toBe('invalid');
    expect(calls()).toBe(2);
    clock.ms += 2000;
    expect(await kindOf(v.verify(cluster, stranger))).toBe('invalid');
    expect(await kindOf(v.verify(cluster, stranger))).toBe('invalid');
    expect(calls()).toBe(3);
  });

  it('finds the cluster by issuer, ignoring a trailing slash', () => {
    const { v } = verifier([jwks1]);
    expect(v.clusterForIssuer(`${ISSUER}/`)?.name).toBe('c');
    expect(v.clusterForIssuer('https://127.0.0.1:6444')).toBeUndefined();
    expect(v.clusterForIssuer(undefined)).toBeUndefined();
  });
});

describe('claims helpers', () => {
  it('serviceAccountOf reads sub and checks it against the kubernetes.io claim', () => {
    expect(serviceAccountOf({ sub: 'system:serviceaccount:demo:s3-reader' })).toEqual({ namespace: 'demo', serviceAccount: 's3-reader' });
    expect(serviceAccountOf({ sub: 'system:serviceaccount:demo:s3-reader', 'kubernetes.io': { namespace: 'other' } })).toBeUndefined();
    expect(serviceAccountOf({ sub: 'system:node:n1' })).toBeUndefined();
  });

  it('audiences and issuerHostPath', () => {
    expect(audiences({ aud: 'a' })).toEqual(['a']);
    expect(audiences({ aud: ['a', 'b'] })).toEqual(['a', 'b']);
    expect(audiences({})).toEqual([]);
    expect(issuerHostPath('https://127.0.0.1:6443')).toBe('127.0.0.1:6443');
    expect(issuerHostPath('https://oidc.eks.eu-west-1.amazonaws.com/id/ABC/')).toBe('oidc.eks.eu-west-1.amazonaws.com/id/ABC');
  });
});
