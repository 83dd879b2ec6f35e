// Client side of the AWS fake, for tests and the demo: the admin API client,
// SDK client config, and a signed EKS Auth AssumeRoleForPodIdentity call
// (there is no eks-auth SDK client on npm).
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Addon, AddonInstall, AssociationView } from './eks.js';
import type { CallLogEntry, ClusterConfig, FaultRule } from './types.js';

export type { CallLogEntry, ClusterConfig, FaultKind, FaultRule } from './types.js';

export type { Addon, AddonInstall, AddonStatus, AssociationView } from './eks.js';

export type FaultRuleStatus = FaultRule & { seen: number; injected: number };

export class AwsFakeClient {
  readonly baseUrl: string;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  /** Empties moto (IAM, STS), associations, fault rules, counters and log; lag back to its start value. */
  async reset(): Promise<void> {
    await this.call('POST', '/_fake/reset');
  }

  /** Calls received per API since the last reset: {"iam:CreateRole": 3, "eks:CreatePodIdentityAssociation": 1}. */
  calls(): Promise<Record<string, number>> {
    return this.call('GET', '/_fake/calls');
  }

  async resetCalls(): Promise<void> {
    await this.call('POST', '/_fake/calls/reset');
  }

  callLog(filter: { api?: string; sinceSeq?: number } = {}): Promise<CallLogEntry[]> {
    const q = new URLSearchParams();
    if (filter.api) q.set('api', filter.api);
    if (filter.sinceSeq !== undefined) q.set('since', String(filter.sinceSeq));
    const qs = q.toString();
    return this.call('GET', `/_fake/calls/log${qs ? `?${qs}` : ''}`);
  }

  /** Replaces the fault rules. */
  async setFaults(rules: FaultRule[]): Promise<FaultRuleStatus[]> {
    return this.call('PUT', '/_fake/faults', rules);
  }

  async clearFaults(): Promise<void> {
    await this.call('DELETE', '/_fake/faults');
  }

  /** The current rules with how many calls each saw and hit. */
  faults(): Promise<FaultRuleStatus[]> {
    return this.call('GET', '/_fake/faults');
  }

  async setPropagationLag(ms: number): Promise<void> {
    await this.call('PUT', '/_fake/propagation', { lagMs: ms });
  }

  async propagationLag(): Promise<number> {
    return (await this.call<{ lagMs: number }>('GET', '/_fake/propagation')).lagMs;
  }

  /** Every Pod Identity association, across clusters, in creation order. */
  associations(): Promise<AssociationView[]> {
    return this.call('GET', '/_fake/associations');
  }

  /** Installs an EKS add-on (e.g. `eks-pod-identity-agent`) in a cluster: DescribeAddon / ListAddons then show it. */
  installAddon(clusterName: string, addonName: string, opts: AddonInstall = {}): Promise<Addon> {
    return this.call('PUT', `/_fake/addons/${encodeURIComponent(clusterName)}/${encodeURIComponent(addonName)}`, opts);
  }

  /** Removes an installed add-on (rejects when it is not installed). */
  async removeAddon(clusterName: string, addonName: string): Promise<void> {
    await this.call('DELETE', `/_fake/addons/${encodeURIComponent(clusterName)}/${encodeURIComponent(addonName)}`);
  }

  /** Every installed add-on, all clusters. */
  addons(): Promise<Addon[]> {
    return this.call('GET', '/_fake/addons');
  }

  clusters(): Promise<ClusterConfig[]> {
    return this.call('GET', '/_fake/clusters');
  }

  async setClusters(clusters: ClusterConfig[]): Promise<void> {
    await this.call('PUT', '/_fake/clusters', clusters);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(this.baseUrl + path, {
      method,
      ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`AWS fake ${method} ${path}: HTTP ${res.status}: ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }
}

const TEST_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };

/** Config for a real AWS SDK v3 client (IAM, STS, EKS) talking to the fake. */
export function awsClientConfig(
  endpoint: string,
  region: string = process.env.AWS_REGION ?? 'us-east-1',
): { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } } {
  return { endpoint, region, credentials: { ...TEST_CREDENTIALS } };
}

export interface AssumeRoleForPodIdentityResult {
  subject: { namespace: string; serviceAccount: string };
  audience: string;
  podIdentityAssociation: { associationArn: string; associationId: string };
  assumedRoleUser: { arn: string; assumeRoleId: string };
  credentials: { sessionToken: string; secretAccessKey: string; accessKeyId: string; expiration: Date };
}

/** An error answered by EKS Auth; `name` is the error code (AccessDeniedException, ...), like SDK exceptions. */
export class EksAuthError extends Error {
  readonly $metadata: { httpStatusCode: number };
  constructor(code: string, status: number, message: string) {
    super(message);
    this.name = code;
    this.$metadata = { httpStatusCode: status };
  }
}

/**
 * EKS Auth AssumeRoleForPodIdentity, SigV4-signed for service `eks-auth` (what
 * the Pod Identity agent sends). Resolves to the response (expiration as a
 * Date) or rejects with an EksAuthError.
 */
export async function assumeRoleForPodIdentity(
  endpoint: string,
  clusterName: string,
  token: string,
  opts: { region?: string; credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } } = {},
): Promise<AssumeRoleForPodIdentityResult> {
  const url = new URL(`/clusters/${encodeURIComponent(clusterName)}/assume-role-for-pod-identity`, endpoint);
  const body = JSON.stringify({ token });
  const signer = new SignatureV4({
    service: 'eks-auth',
    region: opts.region ?? process.env.AWS_REGION ?? 'us-east-1',
    credentials: opts.credentials ?? TEST_CREDENTIALS,
    sha256: Sha256,
  });
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
  const res = await fetch(url, { method: 'POST', headers: signed.headers, body });
  const text = await res.text();
  if (!res.ok) {
    let message = text;
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? text;
    } catch {
      // not JSON
    }
    throw new EksAuthError(res.headers.get('x-amzn-errortype')?.split(':')[0] ?? `HTTP${res.status}`, res.status, message);
  }
  const out = JSON.parse(text) as Omit<AssumeRoleForPodIdentityResult, 'credentials'> & {
    credentials: Omit<AssumeRoleForPodIdentityResult['credentials'], 'expiration'> & { expiration: number };
  };
  return { ...out, credentials: { ...out.credentials, expiration: new Date(out.credentials.expiration * 1000) } };
}

/** AWS calls that change something, from the fake's counters. */
export function writeCalls(calls: Record<string, number>): Record<string, number> {
  const write = /^(iam|eks):(Create|Put|Update|Tag|Untag|Delete|Attach|Detach)/;
  return Object.fromEntries(Object.entries(calls).filter(([api, n]) => write.test(api) && n > 0));
}
