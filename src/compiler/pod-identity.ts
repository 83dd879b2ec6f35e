// Pod Identity beyond the plain association: across accounts (EKS role
// chaining through a source role in the cluster's account) and the
// association's session policy.
//
// Across accounts (EKS User Guide, "Access AWS resources using EKS Pod
// Identity target IAM roles"): the association lives in the cluster's
// account, its roleArn is a role there (here: the source role, which trusts
// pods.eks.amazonaws.com pinned to cluster, namespace and ServiceAccount, as
// a same-account role does) and its targetRoleArn is the claim's role in the
// other account. EKS Auth assumes the source role, then the target role from
// it, passing sts:ExternalId = the externalId AWS generated for the
// association (returned by CreatePodIdentityAssociation). So the target
// role trusts exactly the source role ARN, for sts:AssumeRole with that
// external id (and sts:TagSession, with the same session-tag pins, when
// session tags are on). The external id exists only once the association
// does: the controller creates the association, then writes the target trust
// with the id it got back (CompileOptions.associationExternalId); before
// that the trust names PENDING_EXTERNAL_ID, which no association carries.
//
// Session policy: AWS requires disableSessionTags = true with one, so EKS
// sets no kubernetes-namespace / kubernetes-service-account tags and the
// trust can pin only the cluster (aws:SourceArn, aws:SourceAccount): any
// association in this cluster that names the role would get it. Whoever may
// create associations and pass awi's roles in the cluster's account (the
// controller) is then the only guard, so it is refused unless every
// guardrail of the namespace allows it (allowSessionPolicies).

import type { SessionPolicyStatement } from '../api/types.js';
import { canonicalJson, policyDigest } from './canonical.js';
import { tidyCondition } from './statements.js';
import { POD_IDENTITY_PRINCIPAL, type TrustInputs } from './trust.js';
import type { ConditionBlock, DesiredState, PolicyDocument, PolicyStatement } from './types.js';

/** Stands for the association's external id until the association exists: no association carries it. */
export const PENDING_EXTERNAL_ID = 'awi-pending-association';
/** AWS STS: a session policy's plain text is at most 2,048 characters. */
export const SESSION_POLICY_MAX_CHARS = 2048;
export const SOURCE_ROLE_SUFFIX = '-source';

/** The session tags EKS sets that pin cluster, namespace and ServiceAccount. */
export function sessionTagPins(input: TrustInputs): Record<string, string> {
  return {
    'aws:RequestTag/eks-cluster-arn': input.config.cluster.arn,
    'aws:RequestTag/kubernetes-namespace': input.namespace,
    'aws:RequestTag/kubernetes-service-account': input.serviceAccount,
  };
}

/**
 * The EKS Pod Identity service assuming the association's role. With session
 * tags off (a session policy) only the cluster can be pinned.
 */
export function podIdentityServiceStatement(input: TrustInputs, sessionTags: boolean): PolicyStatement {
  if (sessionTags) {
    return {
      Sid: 'EksPodIdentity',
      Effect: 'Allow',
      Principal: { Service: POD_IDENTITY_PRINCIPAL },
      Action: ['sts:AssumeRole', 'sts:TagSession'],
      Condition: { StringEquals: sessionTagPins(input) },
    };
  }
  return {
    Sid: 'EksPodIdentityCluster',
    Effect: 'Allow',
    Principal: { Service: POD_IDENTITY_PRINCIPAL },
    Action: ['sts:AssumeRole'],
    Condition: { StringEquals: { 'aws:SourceAccount': input.config.cluster.accountId, 'aws:SourceArn': input.config.cluster.arn } },
  };
}

/** The target role's trust: exactly the source role, with the association's external id. */
export function chainedTrustStatements(input: TrustInputs, sourceRoleArn: string, externalId: string, sessionTags: boolean): PolicyStatement[] {
  const pins = sessionTags ? sessionTagPins(input) : {};
  const assume: PolicyStatement = {
    Sid: 'EksPodIdentityChain',
    Effect: 'Allow',
    Principal: { AWS: sourceRoleArn },
    Action: ['sts:AssumeRole'],
    Condition: { StringEquals: { 'sts:ExternalId': externalId, ...pins } },
  };
  if (!sessionTags) return [assume];
  // EKS passes its session tags on: the same pins, for sts:TagSession.
  return [assume, { Sid: 'EksPodIdentityChainTags', Effect: 'Allow', Principal: { AWS: sourceRoleArn }, Action: ['sts:TagSession'], Condition: { StringEquals: pins } }];
}

/** What the source role may do: assume the claim's role (and tag that session), nothing else. */
export function sourceRolePermissions(targetRoleArn: string, sessionTags: boolean): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'ChainToClaimRole', Effect: 'Allow', Action: sessionTags ? ['sts:AssumeRole', 'sts:TagSession'] : ['sts:AssumeRole'], Resource: [targetRoleArn] },
    ],
  };
}

/** The claim's session policy statements as a policy document (compact JSON goes to the association). */
export function sessionPolicyDocument(statements: readonly SessionPolicyStatement[]): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: statements.map((s) => {
      const condition = tidyCondition(s.conditions as ConditionBlock | undefined);
      return { Effect: s.effect, Action: [...s.actions], Resource: [...s.resources], ...(condition ? { Condition: condition } : {}) };
    }),
  };
}

/** The association's `policy` string: canonical, so it compares equal to what AWS returns after a round trip. */
export function sessionPolicyJson(doc: PolicyDocument): string {
  return canonicalJson(doc);
}

/**
 * The desired state with the claim role's trust naming the association's
 * external id instead of the placeholder (the controller learns the id from
 * the association it created). Pure; the trust digest follows.
 */
export function withAssociationExternalId(desired: DesiredState, externalId: string | undefined): DesiredState {
  if (!desired.sourceRole || !externalId) return desired;
  const statements = desired.role.trustPolicy.Statement.map((s) => {
    const equals = s.Condition?.['StringEquals'];
    if (s.Sid !== 'EksPodIdentityChain' || !equals || equals['sts:ExternalId'] === undefined) return s;
    return { ...s, Condition: { ...s.Condition, StringEquals: { ...equals, 'sts:ExternalId': externalId } } };
  });
  const trustPolicy: PolicyDocument = { ...desired.role.trustPolicy, Statement: statements };
  return { ...desired, role: { ...desired.role, trustPolicy }, digests: { ...desired.digests, trust: policyDigest(trustPolicy) } };
}
