// Credentials verified, not assumed: mint a short-lived token for the
// claim's ServiceAccount, exchange it exactly as a pod would (STS
// AssumeRoleWithWebIdentity for IRSA, EKS Auth AssumeRoleForPodIdentity for
// Pod Identity), check which role came back, and throw the credentials away.
// Pure verdicts first, then the adapter that does the I/O.
import { createHash, createHmac } from 'node:crypto';
import { AssumeRoleWithWebIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { awsErrorCode, isRetryableAws } from '../aws/errors.js';
import { LABEL, MANAGED_BY } from '../compiler/tags.js';
import type { Mechanism } from '../compiler/types.js';
import type { ConditionInput } from './conditions.js';
import type { ObservedServiceAccount } from './managers/service-account.js';

export const CREDENTIALS_VERIFIED = 'CredentialsVerified';
/** Audiences of the tokens each mechanism exchanges. */
export const AUDIENCE: Record<Mechanism, string> = { IRSA: 'sts.amazonaws.com', PodIdentity: 'pods.eks.amazonaws.com' };
/** The shortest lifetime the TokenRequest API allows. */
export const TOKEN_SECONDS = 600;
/** The shortest session STS grants; the credentials are discarded at once anyway. */
const SESSION_SECONDS = 900;
const SESSION_NAME = 'awi-verify';

export type ExchangeResult =
  | { ok: true; assumedRoleArn: string }
  | { ok: false; code: string; message: string; retryable: boolean };

/** arn:aws:sts::123:assumed-role/name/session -> { account, roleName }. IAM paths are not part of it. */
export function parseAssumedRole(arn: string): { account: string; roleName: string } | undefined {
  const m = /^arn:[\w-]+:sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(arn);
  return m ? { account: m[1]!, roleName: m[2]! } : undefined;
}

/** arn:aws:iam::123:role/path/name -> { account, roleName }. */
export function parseRoleArn(arn: string): { account: string; roleName: string } | undefined {
  const m = /^arn:[\w-]+:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(arn);
  return m ? { account: m[1]!, roleName: m[2]! } : undefined;
}

export function sameRole(assumedRoleArn: string, roleArn: string): boolean {
  const a = parseAssumedRole(assumedRoleArn);
  const r = parseRoleArn(roleArn);
  return !!a && !!r && a.account === r.account && a.roleName === r.roleName;
}

export interface VerdictContext {
  mechanism: Mechanism;
  serviceAccount: string;
  roleArn: string;
  /** awi wrote something this claim's binding depends on this recently (ms), or undefined. */
  sinceLastWriteMs?: number;
  /** Within this long after a write, a refusal is IAM propagation, not a failure. */
  propagationGraceMs: number;
}

/** Refusals that IAM's or EKS's eventual consistency explains right after a write. */
const propagationCodes = new Set(['AccessDenied', 'AccessDeniedException', 'InvalidIdentityToken', 'ResourceNotFoundException', 'NoSuchEntity']);

export function verificationCondition(r: ExchangeResult, c: VerdictContext): ConditionInput {
  const how = c.mechanism === 'IRSA' ? 'STS AssumeRoleWithWebIdentity' : 'EKS Auth AssumeRoleForPodIdentity';
  if (r.ok) {
    if (sameRole(r.assumedRoleArn, c.roleArn)) {
      // Not the session name: it differs at every exchange, and status would change at every re-verification.
      return { type: CREDENTIALS_VERIFIED, status: 'True', reason: 'Verified', message: `A token of ServiceAccount ${c.serviceAccount} exchanged through ${how} gave ${withoutSession(r.assumedRoleArn)}, a session of ${c.roleArn}.` };
    }
    return { type: CREDENTIALS_VERIFIED, status: 'False', reason: 'UnexpectedRole', message: `A token of ServiceAccount ${c.serviceAccount} exchanged through ${how} gave ${r.assumedRoleArn}, not a session of the claimed role ${c.roleArn}: pods get another identity than the claim says.` };
  }
  const refused = `${how} refused a token of ServiceAccount ${c.serviceAccount}: ${r.code}: ${r.message}`;
  if (c.sinceLastWriteMs !== undefined && c.sinceLastWriteMs < c.propagationGraceMs && propagationCodes.has(r.code)) {
    return { type: CREDENTIALS_VERIFIED, status: 'False', reason: 'IAMPropagating', message: `Written ${Math.round(c.sinceLastWriteMs / 1000)} s ago; waiting for AWS to propagate it (${refused}).` };
  }
  if (r.retryable) return { type: CREDENTIALS_VERIFIED, status: 'Unknown', reason: 'VerificationUnavailable', message: `Could not verify: ${refused}. Retrying.` };
  return { type: CREDENTIALS_VERIFIED, status: 'False', reason: 'VerificationFailed', message: `${refused}.` };
}

/** arn:aws:sts::123:assumed-role/name/session -> arn:aws:sts::123:assumed-role/name/…: the session name is new at every exchange. */
export function withoutSession(assumedRoleArn: string): string {
  const m = /^(arn:[^:]+:sts::\d+:assumed-role\/[^/]+)\//.exec(assumedRoleArn);
  return m ? `${m[1]}/…` : assumedRoleArn;
}

/** awi mints tokens only for ServiceAccounts it manages. */
export function mayMintFor(sa: Pick<ObservedServiceAccount, 'labels'>): boolean {
  return sa.labels[LABEL.managedBy] === MANAGED_BY && !!sa.labels[LABEL.claim];
}

// --- adapter ----------------------------------------------------------------

export interface CredentialVerifierOptions {
  kubeConfig: KubeConfig;
  /** STS client for AssumeRoleWithWebIdentity (unsigned: the token is the credential). */
  sts: STSClient;
  region: string;
  clusterName: string;
  /** Credentials that sign EKS Auth calls (the controller's own; eks-auth:AssumeRoleForPodIdentity). */
  credentials: () => Promise<AwsCredentialIdentity>;
  /** EKS Auth endpoint; default the regional one, or AWS_ENDPOINT_URL_EKS_AUTH / AWS_ENDPOINT_URL like the SDKs. */
  eksAuthEndpoint?: string;
  /** Runs the EKS Auth call (no SDK client, so no middleware) within the controller's AWS call budget. */
  budget?: <T>(call: () => Promise<T>) => Promise<T>;
  fetch?: typeof fetch;
}

export class CredentialVerifier {
  private readonly core: CoreV1Api;
  private readonly endpoint: string;

  constructor(private readonly o: CredentialVerifierOptions) {
    this.core = o.kubeConfig.makeApiClient(CoreV1Api);
    this.endpoint = o.eksAuthEndpoint ?? process.env.AWS_ENDPOINT_URL_EKS_AUTH ?? process.env.AWS_ENDPOINT_URL ?? `https://eks-auth.${o.region}.api.aws`;
  }

  /**
   * Exchanges a fresh token of `sa` through `mechanism`. For IRSA the role is
   * the one the ServiceAccount's annotation names (what the webhook gives
   * pods); absent, there is nothing a pod could exchange.
   */
  async exchange(sa: ObservedServiceAccount, mechanism: Mechanism, irsaRoleArn: string | undefined): Promise<ExchangeResult> {
    if (!mayMintFor(sa)) throw new Error(`refusing to mint a token for ServiceAccount ${sa.namespace}/${sa.name}: awi does not manage it`);
    if (mechanism === 'IRSA' && !irsaRoleArn) return { ok: false, code: 'NoRoleAnnotation', message: 'the ServiceAccount has no eks.amazonaws.com/role-arn annotation', retryable: false };
    const token = await this.mintToken(sa, AUDIENCE[mechanism]);
    try {
      return mechanism === 'IRSA' ? await this.webIdentity(token, irsaRoleArn!) : await this.podIdentity(token);
    } catch (err) {
      return { ok: false, code: awsErrorCode(err) ?? 'Error', message: err instanceof Error ? err.message : String(err), retryable: isRetryableAws(err) };
    }
  }

  private async mintToken(sa: ObservedServiceAccount, audience: string): Promise<string> {
    const out = await this.core.createNamespacedServiceAccountToken({
      namespace: sa.namespace,
      name: sa.name,
      body: { spec: { audiences: [audience], expirationSeconds: TOKEN_SECONDS } },
    });
    const token = out.status?.token;
    if (!token) throw new Error(`TokenRequest for ServiceAccount ${sa.namespace}/${sa.name} returned no token`);
    return token;
  }

  private async webIdentity(token: string, roleArn: string): Promise<ExchangeResult> {
    const out = await this.o.sts.send(new AssumeRoleWithWebIdentityCommand({ RoleArn: roleArn, RoleSessionName: SESSION_NAME, WebIdentityToken: token, DurationSeconds: SESSION_SECONDS }));
    const arn = out.AssumedRoleUser?.Arn;
    if (!arn) return { ok: false, code: 'NoAssumedRole', message: 'STS answered without an assumed role', retryable: false };
    return { ok: true, assumedRoleArn: arn };
  }

  /** POST /clusters/{name}/assume-role-for-pod-identity, SigV4-signed for service eks-auth (no SDK client exists on npm). */
  private podIdentity(token: string): Promise<ExchangeResult> {
    return this.o.budget ? this.o.budget(() => this.podIdentityCall(token)) : this.podIdentityCall(token);
  }

  private async podIdentityCall(token: string): Promise<ExchangeResult> {
    const url = new URL(`/clusters/${encodeURIComponent(this.o.clusterName)}/assume-role-for-pod-identity`, this.endpoint);
    const body = JSON.stringify({ token });
    const signer = new SignatureV4({ service: 'eks-auth', region: this.o.region, credentials: this.o.credentials, sha256: NodeSha256 });
    const signed = await signer.sign({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query: {},
      headers: { host: url.host, 'content-type': 'application/json' },
      body,
    });
    const res = await (this.o.fetch ?? fetch)(url, { method: 'POST', headers: signed.headers, body });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // An error page without JSON: the status says enough.
    }
    if (!res.ok) {
      const type = res.headers.get('x-amzn-errortype') ?? (json.__type as string | undefined) ?? `HTTP${res.status}`;
      const code = type.split(':')[0]!.split('#').pop()!;
      const message = (json.message as string | undefined) ?? (json.Message as string | undefined) ?? text.slice(0, 300);
      return { ok: false, code, message, retryable: res.status >= 500 || res.status === 429 || code.includes('Throttl') };
    }
    const arn = (json.assumedRoleUser as { arn?: string } | undefined)?.arn;
    if (!arn) return { ok: false, code: 'NoAssumedRole', message: 'EKS Auth answered without an assumed role', retryable: false };
    return { ok: true, assumedRoleArn: arn };
  }
}

/** SHA-256 / HMAC-SHA-256 for the signer, from node:crypto. */
class NodeSha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBuffer(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
  reset(): void {
    // Not reused by the signer.
  }
}

function toBuffer(d: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof d === 'string') return Buffer.from(d, 'utf8');
  if (ArrayBuffer.isView(d)) return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  return Buffer.from(d);
}
