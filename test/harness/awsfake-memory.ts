// The AWS fake's parts wired in memory for unit tests (no moto, no server):
// the in-memory EKS with one cluster, an IAM of roles and OIDC providers that
// records every credential mint, service-account tokens signed with a key the
// cluster's JWKS publishes, EKS Auth over them, and the AwsError catchers.
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JSONWebKeySet } from 'jose';
import { EksService } from '../../testbed/awsfake/eks.js';
import { assumeRoleForPodIdentity } from '../../testbed/awsfake/eksauth.js';
import { TokenVerifier } from '../../testbed/awsfake/jwks.js';
import type { IamBackend, MintedCredentials, OidcProviderInfo, RoleInfo } from '../../testbed/awsfake/moto-iam.js';
import { PropagationTracker } from '../../testbed/awsfake/propagation.js';
import { AwsError, type FakeResponse } from '../../testbed/awsfake/protocol.js';
import { parsePolicyDocument } from '../../testbed/awsfake/trust-evaluation.js';
import type { ClusterConfig } from '../../testbed/awsfake/types.js';

export type Json = Record<string, any>;

export interface FakeCluster {
  name: string;
  accountId: string;
  region: string;
  /** https://... */
  issuer: string;
  jwks?: JSONWebKeySet;
}

/** The fake's in-memory EKS, serving one cluster. */
export function eksService(cluster: FakeCluster): EksService {
  const clusters: ClusterConfig[] = [{ name: cluster.name, issuer: cluster.issuer, jwks: cluster.jwks ?? { keys: [] } }];
  return new EksService(() => clusters, { accountId: cluster.accountId, region: cluster.region });
}

/** One EKS REST call through the service's handler; the parsed JSON answer. Throws AwsError as the handler does. */
export function eksCall(eks: EksService, method: string, path: string, body?: unknown, query: URLSearchParams | Record<string, string> | string = ''): Json {
  const out = eks.handle({ method, path, query: new URLSearchParams(query), body: Buffer.from(body === undefined ? '' : JSON.stringify(body)) });
  return JSON.parse(String(out.body)) as Json;
}

/** The AwsError `fn` throws; fails the test when it throws nothing or something else. */
export function awsFailure(fn: () => unknown): AwsError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AwsError) return err;
    throw err;
  }
  throw new Error('expected an AWS error');
}

/** The AwsError `p` rejects with; fails the test when it resolves or rejects with something else. */
export async function awsRejection(p: Promise<unknown>): Promise<AwsError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AwsError) return err;
    throw err;
  }
  throw new Error('expected an AWS error');
}

/** IAM in memory: roles with trust policies and OIDC providers; records every credential mint. */
export class MemoryIam implements IamBackend {
  readonly roles = new Map<string, RoleInfo>();
  readonly providers = new Map<string, OidcProviderInfo>();
  readonly mints: Array<{ roleArn: string; sessionPolicy?: string }> = [];

  /** Creates or replaces the role `arn` with this trust policy; returns the ARN. */
  role(arn: string, trust: object): string {
    const [, , , , accountId, resource] = arn.split(':') as [string, string, string, string, string, string];
    const roleName = resource.split('/').pop()!;
    this.roles.set(arn, { arn, roleId: `AROA${roleName.toUpperCase()}`, roleName, accountId, trustPolicy: parsePolicyDocument(trust), maxSessionDuration: 3600 });
    return arn;
  }

  /** The IAM OIDC provider for `hostPath` (issuer without https://) in one account. */
  provider(accountId: string, hostPath: string, clientIds: string[]): void {
    const arn = `arn:aws:iam::${accountId}:oidc-provider/${hostPath}`;
    this.providers.set(arn, { arn, url: hostPath, clientIds });
  }

  async getRole(roleArn: string): Promise<RoleInfo | undefined> {
    return this.roles.get(roleArn);
  }

  async oidcProvider(accountId: string, hostPath: string, partition = 'aws'): Promise<OidcProviderInfo | undefined> {
    return this.providers.get(`arn:${partition}:iam::${accountId}:oidc-provider/${hostPath}`);
  }

  async mintCredentials(roleArn: string, _session: string, durationSeconds: number, sessionPolicy?: string): Promise<MintedCredentials> {
    this.mints.push({ roleArn, ...(sessionPolicy !== undefined ? { sessionPolicy } : {}) });
    return { accessKeyId: 'ASIAFAKE', secretAccessKey: 'secret', sessionToken: 'token', expiration: new Date(Date.now() + durationSeconds * 1000) };
  }
}

export interface TokenIssuer {
  /** What the cluster serves at /openid/v1/jwks. */
  jwks: JSONWebKeySet;
  /** A projected service-account token as the kubelet mints it for a pod. */
  podToken(o: { namespace: string; serviceAccount: string; audience: string[]; pod?: { name: string; uid: string } | null }): Promise<string>;
}

/** A cluster's service-account token signer (RS256, kid k1) for `issuer`. */
export async function tokenIssuer(issuer: string): Promise<TokenIssuer> {
  const key: { publicKey: CryptoKey; privateKey: CryptoKey } = await generateKeyPair('RS256');
  const jwks = { keys: [{ ...(await exportJWK(key.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] };
  return {
    jwks,
    podToken: ({ namespace, serviceAccount, audience, pod = { name: 'app-7d9f', uid: 'pod-uid-1' } }) => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ 'kubernetes.io': { namespace, serviceaccount: { name: serviceAccount, uid: 'sa-uid' }, ...(pod ? { pod } : {}) } })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setIssuer(issuer)
        .setSubject(`system:serviceaccount:${namespace}:${serviceAccount}`)
        .setAudience(audience)
        .setIssuedAt(now - 10)
        .setExpirationTime(now + 600)
        .sign(key.privateKey);
    },
  };
}

export interface ExchangeWorld {
  iam: MemoryIam;
  eks: EksService;
  verifier: TokenVerifier;
  /** EKS Auth AssumeRoleForPodIdentity with this token, as the Pod Identity agent calls it. */
  exchange(token: string): Promise<FakeResponse>;
  /** CreatePodIdentityAssociation on the cluster; the association as EKS answers it. */
  associate(body: Json): Json;
}

/** EKS, EKS Auth and IAM in memory for one cluster (IAM propagation instant). */
export function exchangeWorld(cluster: FakeCluster & { jwks: JSONWebKeySet }): ExchangeWorld {
  const iam = new MemoryIam();
  const eks = eksService(cluster);
  const verifier = new TokenVerifier(() => [{ name: cluster.name, issuer: cluster.issuer, jwks: cluster.jwks }]);
  const propagation = new PropagationTracker(0);
  return {
    iam,
    eks,
    verifier,
    exchange: (token) => assumeRoleForPodIdentity({ eks, verifier, iam, propagation }, 'POST', `/clusters/${cluster.name}/assume-role-for-pod-identity`, Buffer.from(JSON.stringify({ token }))),
    associate: (body) => eksCall(eks, 'POST', `/clusters/${cluster.name}/pod-identity-associations`, body).association as Json,
  };
}
