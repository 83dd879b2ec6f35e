// The contract between the compiler (pure: claim + platform config -> desired
// state) and everything that acts on it (controller managers, `awi plan`).
// Keep this file free of I/O and of imports from adapters.

export type Mechanism = 'PodIdentity' | 'IRSA';
export type DeletionPolicy = 'Delete' | 'Retain';

/** An IAM condition block: operator -> condition key -> value(s). */
export type ConditionBlock = Record<string, Record<string, string | string[]>>;

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: { Service?: string | string[]; Federated?: string | string[]; AWS?: string | string[] };
  Action: string | string[];
  Resource?: string | string[];
  Condition?: ConditionBlock;
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

export interface DesiredRole {
  name: string;
  path: string;
  arn: string;
  description: string;
  permissionsBoundaryArn?: string;
  maxSessionDurationSeconds: number;
  /** Ownership ledger (awi.dev/*), owner, environment and config default tags. */
  tags: Record<string, string>;
  trustPolicy: PolicyDocument;
}

/**
 * Cross-account Pod Identity: the association's role, in the cluster's
 * account. EKS Auth assumes it (trust: pods.eks.amazonaws.com) and, from it,
 * the claim's role in the other account (the association's targetRoleArn,
 * with the association's external id). It may do nothing but that.
 */
export interface DesiredSourceRole extends DesiredRole {
  /** The cluster's account. */
  accountId: string;
  /** sts:AssumeRole (and sts:TagSession) on the claim's role, nothing else. */
  permissionPolicy: DesiredPermissionPolicy;
}

export interface DesiredPermissionPolicy {
  /** Inline policy name on the role. */
  name: string;
  document: PolicyDocument;
}

export interface PodIdentityBinding {
  kind: 'PodIdentityAssociation';
  clusterName: string;
  namespace: string;
  serviceAccount: string;
  roleArn: string;
  tags: Record<string, string>;
  /** Role chaining by EKS (cross-account): absent means pods get roleArn itself. */
  targetRoleArn?: string;
  /** Absent means false: EKS adds its session tags, which awi's trust policy requires. */
  disableSessionTags?: boolean;
  /** Session policy (JSON) that narrows what pods get; absent means none. */
  policy?: string;
}

export interface IrsaBinding {
  kind: 'IRSAAnnotation';
  namespace: string;
  serviceAccount: string;
  /** Annotations the ServiceAccount must carry, e.g. eks.amazonaws.com/role-arn. */
  annotations: Record<string, string>;
}

export type DesiredBinding = PodIdentityBinding | IrsaBinding;

export interface DesiredServiceAccount {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  /** Annotations awi owns on the ServiceAccount (empty for Pod Identity). */
  annotations: Record<string, string>;
}

export interface DesiredState {
  claim: { namespace: string; name: string; uid?: string; generation?: number };
  accountId: string;
  region: string;
  mechanism: Mechanism;
  deletionPolicy: DeletionPolicy;
  role: DesiredRole;
  permissionPolicy: DesiredPermissionPolicy;
  /** AWS-managed or customer-managed policy ARNs to attach (only where allowed). */
  managedPolicyArns: string[];
  binding: DesiredBinding;
  /**
   * Present for Pod Identity when the role is in another account than the
   * cluster: the association's roleArn (the binding's targetRoleArn is `role`).
   */
  sourceRole?: DesiredSourceRole;
  serviceAccount: DesiredServiceAccount;
  /** sha256 of the canonical JSON of the permission and trust policies, "sha256:<hex>". */
  digests: { policy: string; trust: string };
}

/** Why a claim cannot be compiled. Terminal: retrying will not help. */
export type ProblemReason = 'InvalidSpec' | 'GuardrailViolation' | 'LimitExceeded';

export interface Problem {
  reason: ProblemReason;
  /** JSON path into the claim, e.g. "spec.permissions.s3[0].bucket". */
  field: string;
  /** Short stable rule id, e.g. "bucket-not-pattern", "account-allowed". */
  rule: string;
  /** A sentence a person can act on. */
  message: string;
}

export type CompileResult = { ok: true; desired: DesiredState } | { ok: false; problems: Problem[] };

export interface CompileOptions {
  /**
   * During a mechanism switch the role must trust both the old and the new
   * mechanism until the new binding exists; the controller passes the old one here.
   */
  alsoTrust?: Mechanism;
  /**
   * Labels of the claim's namespace, for guardrails that pin owner or
   * environment to a namespace label (fromNamespaceLabel). Without them such
   * a claim is refused: the pin cannot be checked.
   */
  namespaceLabels?: Readonly<Record<string, string>>;
  /**
   * Cross-account Pod Identity: the externalId EKS generated for the claim's
   * association (returned by CreatePodIdentityAssociation and
   * DescribePodIdentityAssociation). The claim's role trusts the source role
   * only with it; until the association exists the trust names a placeholder
   * no association carries (PENDING_EXTERNAL_ID), so nobody can chain in.
   */
  associationExternalId?: string;
}
