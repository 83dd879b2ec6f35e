// Shared types of the AWS fake (testbed/awsfake): options, clusters, fault rules,
// call log entries. No I/O here.
import type { JSONWebKeySet } from 'jose';

/** pino-compatible; the fake logs little (start, stop, unexpected errors, denials at debug). */
export interface FakeLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ClusterConfig {
  /** EKS cluster name (DescribeCluster, Pod Identity, EKS Auth). */
  name: string;
  /** Defaults to the fake's region. */
  region?: string;
  /** Defaults to the fake's account. */
  accountId?: string;
  /** The service-account token issuer (`iss` of TokenRequest JWTs), e.g. https://127.0.0.1:6443. */
  issuer: string;
  /** Kubeconfig used to read `<server>/openid/v1/jwks` (and the endpoint and CA for DescribeCluster). */
  kubeconfigPath?: string;
  /** A fixed key set instead of reading it from the cluster (tests without a control plane). */
  jwks?: JSONWebKeySet;
  /** Kubernetes version reported by DescribeCluster; default 1.34. */
  version?: string;
}

export interface AwsFakeOptions {
  /** 0 or absent: a free port on 127.0.0.1. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** The moto account (MOTO_ACCOUNT_ID); default 111122223333. */
  accountId?: string;
  /** Default region (ARNs, unsigned requests); default us-east-1. */
  region?: string;
  clusters?: ClusterConfig[];
  /** Path of moto_server; default $AWI_MOTO_SERVER or <project>/.cache/venv/bin/moto_server. */
  motoServerPath?: string;
  /** IAM propagation lag in ms (see propagation.ts); default 0. */
  propagationLagMs?: number;
  logger?: FakeLogger;
}

export type ServiceName = 'iam' | 'sts' | 'eks' | 'eks-auth';

export type FaultKind = 'throttle' | 'unavailable' | 'internal' | 'latency';

/**
 * One fault rule. `api` is `<service>:<Operation>` with `*` globbing
 * ("iam:CreateRole", "iam:*", "eks:*PodIdentityAssociation", "*").
 *
 * Which matching calls are hit: every one by default; `rate` (0..1) hits that
 * fraction, deterministically: without `seed` exactly floor(n * rate) of the
 * first n matching calls (evenly spread, e.g. 0.5 hits calls 2, 4, 6...), with
 * `seed` a seeded PRNG decides each call (bursty but reproducible);
 * `everyNth` hits calls N, 2N, 3N...
 * When: from `fromMs` (epoch ms) until `untilMs` (epoch ms), or for `forMs`
 * after the rule was set. `maxCount` caps the number of injections.
 */
export interface FaultRule {
  api: string;
  fault: FaultKind;
  rate?: number;
  seed?: number;
  everyNth?: number;
  fromMs?: number;
  untilMs?: number;
  forMs?: number;
  /** Added delay for `latency` rules (also allowed on error rules: delay, then fail). */
  latencyMs?: number;
  maxCount?: number;
  /** Overrides the error message. */
  message?: string;
}

export interface CallLogEntry {
  seq: number;
  /** ISO time the request arrived. */
  time: string;
  api: string;
  status: number;
  /** "ok", or the error code returned (Throttling, AccessDenied, ResourceInUseException, ...). */
  outcome: string;
  /** Set when a fault rule produced this outcome (or added latency). */
  fault?: FaultKind;
  latencyMs?: number;
  durationMs: number;
  /**
   * What the fake decided for this call, where that is not visible in the
   * response (EKS Auth AssumeRoleForPodIdentity: the roles assumed, the session
   * tags passed or null when disabled, the session policy).
   */
  detail?: Record<string, unknown>;
}
