// The platform configuration after validation and defaulting: every field
// the compiler and the controller read is present.

import type { DeletionPolicy, Mechanism } from '../compiler/types.js';

export interface OidcIssuerConfig {
  /** The issuer URL, e.g. https://oidc.eks.<region>.amazonaws.com/id/<id>. */
  url: string;
  /** The URL without https:// and trailing slash: the prefix of the condition keys (<hostPath>:sub). */
  hostPath: string;
  /** Explicit OIDC provider ARN; by default it is derived from the role's account and hostPath. */
  providerArn?: string;
}

export interface ClusterConfig {
  name: string;
  accountId: string;
  region: string;
  /** aws, aws-cn or aws-us-gov, from the region. */
  partition: string;
  /** arn:<partition>:eks:<region>:<account>:cluster/<name> */
  arn: string;
  /** Issuers IRSA roles trust: one trust statement each (several clusters may share a role). */
  oidcIssuers: OidcIssuerConfig[];
}

export interface RolesConfig {
  /** IAM path, e.g. /awi/. */
  path: string;
  /** e.g. {cluster}-{namespace}-{serviceAccount}; placeholders: cluster, namespace, serviceAccount, claim, account. */
  nameTemplate: string;
  permissionsBoundaryArn?: string;
  /** Default and ceiling of a role's MaxSessionDuration; a claim may ask for less. */
  maxSessionDurationSeconds: number;
  /** Tags every role carries, besides the awi.dev/* ownership tags. */
  tags: Record<string, string>;
}

export interface AccountConfig {
  accountId: string;
  /** Role the controller assumes to act in this account; absent for the controller's own account. */
  assumeRoleArn?: string;
  externalId?: string;
}

/** Resources a guardrail grants to some of its namespaces only (a queue another team owns, a KMS key). */
export interface SharedResourcesConfig {
  /** Namespace names or globs, within the guardrail's own namespaces. */
  namespaces: string[];
  /** ARN globs, with the same placeholders as allowedResourcePatterns. */
  resourcePatterns: string[];
}

/**
 * A claim field that becomes a role tag (owner, environment), pinned by the
 * platform: either one of `allowed` (placeholders allowed, e.g.
 * "{namespace}"), or the value of a label of the claim's namespace.
 */
export interface ValuePinConfig {
  allowed?: string[];
  fromNamespaceLabel?: string;
}

export interface GuardrailConfig {
  /** Namespace names or globs ("*" and "?"), e.g. "*-prod". */
  namespaces: string[];
  allowedAccounts: string[];
  /** Regions a claim (and every ARN it names) may use; absent: every region of the cluster's partition. */
  allowedRegions?: string[];
  /** IAM service prefixes a claim may use (s3, sqs, sns, dynamodb, kms, secretsmanager, ssm, sts, ...); absent: all. */
  allowedServices?: string[];
  /**
   * ARN globs every granted resource must match, for every namespace of the
   * guardrail. Placeholders {namespace}, {cluster}, {account}, {region},
   * {partition} are replaced per claim, so one guardrail isolates every team.
   * Required: the platform config is the only source of a namespace's reach.
   */
  allowedResourcePatterns: string[];
  /** More patterns for some namespaces of the guardrail only. */
  sharedResources?: SharedResourcesConfig[];
  /** Role ARN globs spec.permissions.assumeRoles may name (same placeholders); absent: none. */
  allowedAssumeRoleArns?: string[];
  allowManagedPolicies: boolean;
  /** ARN globs of the managed policies that may be attached; required when allowManagedPolicies. */
  allowedManagedPolicyArns?: string[];
  allowRawStatements: boolean;
  /** Whether raw statements may grant action patterns (s3:Get*, *); default false. */
  allowWildcardActions: boolean;
  /**
   * Whether claims may set an association session policy (spec.podIdentity.sessionPolicy); default false.
   * AWS requires session tags off with one, so the role's trust pins only the cluster, not namespace and ServiceAccount.
   */
  allowSessionPolicies: boolean;
  /** Actions that may never be granted: an entry forbids every action it matches (see compiler/actions.ts). */
  forbiddenActions: string[];
  owner?: ValuePinConfig;
  environment?: ValuePinConfig;
}

export interface LimitsConfig {
  /** Trust policy size quota of the accounts: 2,048 by default, raisable to 4,096. */
  trustPolicyMaxChars: number;
  /** Managed policies per role quota: 10 by default, raisable to 20. */
  managedPoliciesPerRole: number;
}

export interface ControllerConfig {
  resyncSeconds: number;
  /** A reconcile uses the shared observation of awi's roles when it is at most this old (0: pages read after it began). */
  observeSeconds: number;
  resyncJitterRatio: number;
  concurrency: number;
  backoffBaseSeconds: number;
  backoffMaxSeconds: number;
  rateLimitPerSecond: number;
  rateLimitBurst: number;
  watchIdleSeconds: number;
  /** Credential verification: a token exchanged per claim after each change and every intervalSeconds. */
  verification: { enabled: boolean; intervalSeconds: number };
  /** A mechanism switch keeps the old trust at most this long for pods still using it. */
  switchMaxSeconds: number;
  /** awi's share of each account's AWS API quotas (see src/aws/budget.ts). */
  awsBudget: AwsBudgetConfig;
}

export interface AwsBudgetConfig {
  iamCallsPerSecond: number;
  eksCallsPerSecond: number;
  stsCallsPerSecond: number;
  burst: number;
  maxAttempts: number;
}

export interface PlatformConfig {
  cluster: ClusterConfig;
  defaults: { mechanism: Mechanism; deletionPolicy: DeletionPolicy };
  roles: RolesConfig;
  /** Accounts the controller may act in; the cluster's own account when the file lists none. */
  accounts: AccountConfig[];
  guardrails: GuardrailConfig[];
  limits: LimitsConfig;
  controller: ControllerConfig;
}
