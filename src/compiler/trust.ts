// The role's trust policy: who may assume it, as narrowly as each mechanism
// allows.
//
// Pod Identity: the EKS Pod Identity service (pods.eks.amazonaws.com) with
// sts:AssumeRole and sts:TagSession, pinned to this cluster, namespace and
// ServiceAccount through the session tags EKS sets (so another association,
// in another namespace or cluster, cannot use the role; the association must
// keep session tags enabled).
//
// IRSA: one statement per configured OIDC issuer, sts:AssumeRoleWithWebIdentity
// from the issuer's OIDC provider in the role's account, with StringEquals on
// the exact subject and audience (never StringLike, never a wildcard subject).

import { oidcProviderArn, parseArn } from './arn.js';
import { shortHash } from './canonical.js';
import type { OidcIssuerConfig, PlatformConfig } from '../config/types.js';
import type { Mechanism, PolicyDocument, PolicyStatement } from './types.js';
import { chainedTrustStatements, podIdentityServiceStatement } from './pod-identity.js';

export const POD_IDENTITY_PRINCIPAL = 'pods.eks.amazonaws.com';
export const IRSA_AUDIENCE = 'sts.amazonaws.com';

export interface TrustInputs {
  config: PlatformConfig;
  /** Account the role lives in. */
  accountId: string;
  partition: string;
  namespace: string;
  serviceAccount: string;
}

/**
 * How Pod Identity reaches the role: directly (the association's roleArn), or
 * chained from a source role in the cluster's account (targetRoleArn, with
 * the association's external id). sessionTags false: a session policy.
 */
export type PodIdentityTrust =
  | { kind: 'direct'; sessionTags: boolean }
  | { kind: 'chain'; sourceRoleArn: string; externalId: string; sessionTags: boolean };

export function podIdentityStatement(input: TrustInputs): PolicyStatement {
  return {
    Sid: 'EksPodIdentity',
    Effect: 'Allow',
    Principal: { Service: POD_IDENTITY_PRINCIPAL },
    Action: ['sts:AssumeRole', 'sts:TagSession'],
    Condition: {
      StringEquals: {
        'aws:RequestTag/eks-cluster-arn': input.config.cluster.arn,
        'aws:RequestTag/kubernetes-namespace': input.namespace,
        'aws:RequestTag/kubernetes-service-account': input.serviceAccount,
      },
    },
  };
}

/** The provider must live in the role's account: an explicit ARN is used only when it does. */
export function providerArnFor(issuer: OidcIssuerConfig, input: TrustInputs): string {
  if (issuer.providerArn && parseArn(issuer.providerArn)?.account === input.accountId) return issuer.providerArn;
  return oidcProviderArn(input.partition, input.accountId, issuer.hostPath);
}

export function irsaStatements(input: TrustInputs): PolicyStatement[] {
  return input.config.cluster.oidcIssuers.map((issuer) => ({
    Sid: `Irsa${shortHash(issuer.hostPath, 8)}`,
    Effect: 'Allow',
    Principal: { Federated: providerArnFor(issuer, input) },
    Action: ['sts:AssumeRoleWithWebIdentity'],
    Condition: {
      StringEquals: {
        [`${issuer.hostPath}:aud`]: IRSA_AUDIENCE,
        [`${issuer.hostPath}:sub`]: `system:serviceaccount:${input.namespace}:${input.serviceAccount}`,
      },
    },
  }));
}

/** Trust for each mechanism given (the current one, plus the old one during a switch). */
export function trustPolicy(mechanisms: Mechanism[], input: TrustInputs & { podIdentity?: PodIdentityTrust }): PolicyDocument {
  const statements: PolicyStatement[] = [];
  const pi = input.podIdentity ?? { kind: 'direct', sessionTags: true };
  if (mechanisms.includes('PodIdentity')) {
    if (pi.kind === 'chain') statements.push(...chainedTrustStatements(input, pi.sourceRoleArn, pi.externalId, pi.sessionTags));
    else statements.push(pi.sessionTags ? podIdentityStatement(input) : podIdentityServiceStatement(input, false));
  }
  if (mechanisms.includes('IRSA')) statements.push(...irsaStatements(input));
  return { Version: '2012-10-17', Statement: statements };
}
