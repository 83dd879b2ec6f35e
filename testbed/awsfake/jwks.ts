// Service-account token verification against the cluster's own keys: the key
// set is read from `<apiserver>/openid/v1/jwks` with the kubeconfig's
// credentials, cached, and read again when a token names an unknown `kid`.
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { kubeGetJson, loadKubeConfig } from '../harness/kube.js';
import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import type { ClusterConfig } from './types.js';

export type TokenErrorKind = 'malformed' | 'invalid' | 'expired';

export class TokenError extends Error {
  constructor(
    readonly kind: TokenErrorKind,
    message: string,
    /** For expired tokens: the exp claim (seconds). */
    readonly exp?: number,
  ) {
    super(message);
  }
}

export type JwksLoader = (cluster: ClusterConfig) => Promise<JSONWebKeySet>;

/** The unverified claims, or TokenError('malformed'). */
export function peekClaims(token: string): JWTPayload {
  try {
    return decodeJwt(token);
  } catch (err) {
    throw new TokenError('malformed', `token is not a JWT: ${(err as Error).message}`);
  }
}

/** The namespace and ServiceAccount of a Kubernetes service-account token. */
export function serviceAccountOf(claims: JWTPayload): { namespace: string; serviceAccount: string } | undefined {
  const k8s = claims['kubernetes.io'] as { namespace?: unknown; serviceaccount?: { name?: unknown } } | undefined;
  const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(claims.sub ?? '');
  if (!m) return undefined;
  const [, ns, sa] = m as unknown as [string, string, string];
  if (k8s && typeof k8s === 'object') {
    if (k8s.namespace !== undefined && k8s.namespace !== ns) return undefined;
    if (k8s.serviceaccount?.name !== undefined && k8s.serviceaccount.name !== sa) return undefined;
  }
  return { namespace: ns, serviceAccount: sa };
}

export function audiences(claims: JWTPayload): string[] {
  return claims.aud === undefined ? [] : Array.isArray(claims.aud) ? claims.aud : [claims.aud];
}

/** Strips the scheme and trailing slash: the form IAM uses for OIDC provider URLs and condition-key prefixes. */
export function issuerHostPath(issuer: string): string {
  return issuer.replace(/^https?:\/\//, '').replace(/\/+$/, '');
}

export class TokenVerifier {
  private cache = new Map<string, { jwks: JSONWebKeySet; refreshedAt?: number }>();

  constructor(
    private readonly clusters: () => ClusterConfig[],
    private readonly loader: JwksLoader = loadClusterJwks,
    private readonly now: () => number = Date.now,
  ) {}

  clusterForIssuer(iss: string | undefined): ClusterConfig | undefined {
    if (!iss) return undefined;
    const want = iss.replace(/\/+$/, '');
    return this.clusters().find((c) => c.issuer.replace(/\/+$/, '') === want);
  }

  invalidate(): void {
    this.cache.clear();
  }

  /**
   * Verifies signature, issuer (the cluster's), exp and nbf. Audience is left to
   * the caller: STS and EKS Auth each have their own rule and error.
   */
  async verify(cluster: ClusterConfig, token: string): Promise<JWTPayload> {
    const claims = peekClaims(token);
    try {
      return await this.verifyWith(await this.keys(cluster, false), cluster, token);
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERR_JWKS_NO_MATCHING_KEY') throw translate(err, claims);
    }
    // Unknown kid: the key may have rotated (or the cluster restarted); read the key set again.
    try {
      return await this.verifyWith(await this.keys(cluster, true), cluster, token);
    } catch (err) {
      throw translate(err, claims);
    }
  }

  private async verifyWith(jwks: JSONWebKeySet, cluster: ClusterConfig, token: string): Promise<JWTPayload> {
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
      issuer: cluster.issuer,
      currentDate: new Date(this.now()),
      clockTolerance: 5,
    });
    return payload;
  }

  private async keys(cluster: ClusterConfig, refresh: boolean): Promise<JSONWebKeySet> {
    const hit = this.cache.get(cluster.name);
    if (hit && !refresh) return hit.jwks;
    // Do not hammer the apiserver with tokens signed by keys it never had:
    // at most one forced re-read per second.
    if (hit?.refreshedAt !== undefined && refresh && this.now() - hit.refreshedAt < 1000) return hit.jwks;
    let jwks: JSONWebKeySet;
    try {
      jwks = await this.loader(cluster);
    } catch (err) {
      throw new TokenError('invalid', `could not read the key set of cluster ${cluster.name}: ${(err as Error).message}`);
    }
    this.cache.set(cluster.name, refresh ? { jwks, refreshedAt: this.now() } : { jwks });
    return jwks;
  }
}

function translate(err: unknown, claims: JWTPayload): TokenError {
  if (err instanceof TokenError) return err;
  const code = (err as { code?: string }).code;
  const msg = (err as Error).message;
  if (code === 'ERR_JWT_EXPIRED') return new TokenError('expired', `token expired: ${msg}`, claims.exp);
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') return new TokenError('invalid', `token claim check failed: ${msg}`);
  return new TokenError('invalid', `token signature could not be verified: ${msg}`);
}

// ---- reading the cluster --------------------------------------------------

/** Reads the key set of `cluster` (its fixed `jwks`, or `/openid/v1/jwks` through its kubeconfig). */
export async function loadClusterJwks(cluster: ClusterConfig): Promise<JSONWebKeySet> {
  if (cluster.jwks) return cluster.jwks;
  if (!cluster.kubeconfigPath) throw new Error(`cluster ${cluster.name} has neither jwks nor kubeconfigPath`);
  const jwks = await kubeGetJson<JSONWebKeySet>(loadKubeConfig(cluster.kubeconfigPath), '/openid/v1/jwks', { accept: 'application/jwk-set+json, application/json' });
  if (!Array.isArray(jwks.keys)) throw new Error('the apiserver answered /openid/v1/jwks without "keys"');
  return jwks;
}

/** The apiserver URL and base64 CA of a kubeconfig (DescribeCluster's endpoint and certificateAuthority). */
export function kubeconfigEndpoint(kubeconfigPath: string): { server: string; caData?: string } | undefined {
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    const c = kc.getCurrentCluster();
    if (!c) return undefined;
    const caData = c.caData ?? (c.caFile ? readFileSync(c.caFile).toString('base64') : undefined);
    return caData ? { server: c.server, caData } : { server: c.server };
  } catch {
    return undefined;
  }
}
