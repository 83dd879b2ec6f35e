// Prerequisites a binding needs outside awi's reach, installed once per
// account or cluster by the platform team: for IRSA, the IAM OIDC provider of
// every issuer the role's trust names (with sts.amazonaws.com among its client
// ids); for Pod Identity, the Pod Identity agent. Missing, the claim is not
// Ready, whatever awi wrote. Pure decisions first, then one cached adapter:
// prerequisites are per account / per cluster, so they are looked up once per
// TTL, not once per claim.
import { GetOpenIDConnectProviderCommand, type IAMClient } from '@aws-sdk/client-iam';
import { DescribeAddonCommand, type EKSClient } from '@aws-sdk/client-eks';
import { AppsV1Api, type KubeConfig } from '@kubernetes/client-node';
import { awsErrorCode } from '../aws/errors.js';
import type { Mechanism, PolicyDocument } from '../compiler/types.js';
import { kubeStatus } from '../kube/errors.js';

/** The audience IRSA tokens carry; the provider must list it as a client id. */
export const STS_AUDIENCE = 'sts.amazonaws.com';
export const POD_IDENTITY_AGENT = 'eks-pod-identity-agent';
export const AGENT_NAMESPACE = 'kube-system';

export type OidcProviderState = { arn: string; exists: false } | { arn: string; exists: true; clientIds: string[] };
export interface AgentState {
  present: boolean;
  /** Where it was found, or what was looked at. */
  detail: string;
}

export interface PrerequisiteProblem {
  reason: 'OIDCProviderMissing' | 'PodIdentityAgentMissing';
  message: string;
}

/** OIDC provider ARNs a trust policy names as federated principals, sorted. */
export function trustedOidcProviders(trust: PolicyDocument): string[] {
  const arns = trust.Statement.flatMap((s) => {
    const f = s.Principal?.Federated;
    return f === undefined ? [] : Array.isArray(f) ? f : [f];
  });
  return [...new Set(arns.filter((a) => a.includes(':oidc-provider/')))].sort();
}

/** Mechanisms a trust policy lets in (both during a mechanism switch). */
export function trustedMechanisms(trust: PolicyDocument): Mechanism[] {
  const out: Mechanism[] = [];
  if (trustedOidcProviders(trust).length) out.push('IRSA');
  const pods = trust.Statement.some((s) => {
    const svc = s.Principal?.Service;
    return (Array.isArray(svc) ? svc : svc ? [svc] : []).includes('pods.eks.amazonaws.com');
  });
  if (pods) out.push('PodIdentity');
  return out;
}

/**
 * The first missing prerequisite of a desired trust, or undefined. `providers`
 * holds the state of every provider the trust names; `agent` is needed only
 * when the trust lets Pod Identity in.
 */
export function missingPrerequisite(trust: PolicyDocument, providers: OidcProviderState[], agent: AgentState | undefined): PrerequisiteProblem | undefined {
  const mechanisms = trustedMechanisms(trust);
  if (mechanisms.includes('IRSA')) {
    const byArn = new Map(providers.map((p) => [p.arn, p]));
    const missing = trustedOidcProviders(trust).filter((arn) => !byArn.get(arn)?.exists);
    if (missing.length) {
      return {
        reason: 'OIDCProviderMissing',
        message: `IAM OIDC provider ${missing.join(', ')} does not exist, so STS refuses every IRSA token for this role. Create it (eksctl utils associate-iam-oidc-provider, or aws iam create-open-id-connect-provider --url https://${hostPathOf(missing[0]!)} --client-id-list ${STS_AUDIENCE}); the claim recovers on its own.`,
      };
    }
    const noAudience = providers.filter((p): p is Extract<OidcProviderState, { exists: true }> => p.exists && trustedOidcProviders(trust).includes(p.arn) && !p.clientIds.includes(STS_AUDIENCE));
    if (noAudience.length) {
      return {
        reason: 'OIDCProviderMissing',
        message: `IAM OIDC provider ${noAudience.map((p) => p.arn).join(', ')} does not list ${STS_AUDIENCE} among its client ids (it lists ${noAudience[0]!.clientIds.join(', ') || 'none'}), so STS refuses IRSA tokens. Add it: aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn ${noAudience[0]!.arn} --client-id ${STS_AUDIENCE}; the claim recovers on its own.`,
      };
    }
  }
  if (mechanisms.includes('PodIdentity') && agent && !agent.present) {
    return {
      reason: 'PodIdentityAgentMissing',
      message: `The EKS Pod Identity agent is not installed (${agent.detail}), so pods get no credentials through the association. Install the EKS add-on ${POD_IDENTITY_AGENT} (aws eks create-addon --cluster-name <cluster> --addon-name ${POD_IDENTITY_AGENT}); the claim recovers on its own.`,
    };
  }
  return undefined;
}

const hostPathOf = (providerArn: string): string => providerArn.split(':oidc-provider/')[1] ?? providerArn;

// --- adapter ----------------------------------------------------------------

export interface PrerequisiteCheckerOptions {
  /** IAM client of the account a provider lives in. */
  iamFor(accountId: string): IAMClient;
  /** EKS client of the cluster's account (DescribeAddon). */
  eks: EKSClient;
  clusterName: string;
  kubeConfig: KubeConfig;
  /** How long a present prerequisite is trusted without asking again. */
  ttlMs: number;
  /** How long a missing one is remembered: short, so that a fix shows quickly. */
  missingTtlMs: number;
  now?: () => number;
}

interface Cached<T> {
  value: T;
  until: number;
}

export class PrerequisiteChecker {
  private readonly providers = new Map<string, Cached<OidcProviderState>>();
  private agentCache: Cached<AgentState> | undefined;
  private readonly apps: AppsV1Api;
  private readonly now: () => number;

  constructor(private readonly o: PrerequisiteCheckerOptions) {
    this.apps = o.kubeConfig.makeApiClient(AppsV1Api);
    this.now = o.now ?? Date.now;
  }

  /** State of every OIDC provider the trust names, and of the agent if the trust lets Pod Identity in. */
  async check(trust: PolicyDocument): Promise<PrerequisiteProblem | undefined> {
    const providers = await Promise.all(trustedOidcProviders(trust).map((arn) => this.oidcProvider(arn)));
    const agent = trustedMechanisms(trust).includes('PodIdentity') ? await this.agent() : undefined;
    return missingPrerequisite(trust, providers, agent);
  }

  /** Forget what is cached, e.g. after a failed credential exchange. */
  invalidate(): void {
    this.providers.clear();
    this.agentCache = undefined;
  }

  async oidcProvider(arn: string): Promise<OidcProviderState> {
    const hit = this.providers.get(arn);
    if (hit && hit.until > this.now()) return hit.value;
    const account = arn.split(':')[4] ?? '';
    let value: OidcProviderState;
    try {
      const out = await this.o.iamFor(account).send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn }));
      value = { arn, exists: true, clientIds: out.ClientIDList ?? [] };
    } catch (err) {
      if (awsErrorCode(err) !== 'NoSuchEntity' && awsErrorCode(err) !== 'NoSuchEntityException') throw err;
      value = { arn, exists: false };
    }
    this.providers.set(arn, { value, until: this.now() + (value.exists ? this.o.ttlMs : this.o.missingTtlMs) });
    return value;
  }

  /** The agent's DaemonSet in kube-system, else the EKS add-on. */
  async agent(): Promise<AgentState> {
    const hit = this.agentCache;
    if (hit && hit.until > this.now()) return hit.value;
    let value = await this.agentDaemonSet();
    if (!value.present) value = await this.agentAddon(value.detail);
    this.agentCache = { value, until: this.now() + (value.present ? this.o.ttlMs : this.o.missingTtlMs) };
    return value;
  }

  private async agentDaemonSet(): Promise<AgentState> {
    try {
      await this.apps.readNamespacedDaemonSet({ namespace: AGENT_NAMESPACE, name: POD_IDENTITY_AGENT });
      return { present: true, detail: `DaemonSet ${AGENT_NAMESPACE}/${POD_IDENTITY_AGENT}` };
    } catch (err) {
      const code = kubeStatus(err);
      // Not found, or not readable here: the add-on is the other place to look.
      if (code === 404 || code === 403) return { present: false, detail: `no DaemonSet ${AGENT_NAMESPACE}/${POD_IDENTITY_AGENT}` };
      throw err;
    }
  }

  private async agentAddon(daemonSetDetail: string): Promise<AgentState> {
    try {
      const out = await this.o.eks.send(new DescribeAddonCommand({ clusterName: this.o.clusterName, addonName: POD_IDENTITY_AGENT }));
      const status = out.addon?.status ?? 'UNKNOWN';
      const present = status !== 'CREATE_FAILED' && status !== 'DELETING';
      return { present, detail: `EKS add-on ${POD_IDENTITY_AGENT} is ${status}` };
    } catch (err) {
      if (awsErrorCode(err) !== 'ResourceNotFoundException') throw err;
      return { present: false, detail: `${daemonSetDetail} and no EKS add-on ${POD_IDENTITY_AGENT}` };
    }
  }
}
