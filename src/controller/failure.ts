// What a failed reconcile means, like kube-rs's error_policy and ACK's typed
// requeue errors. Pure: an error in, the reason and message for Ready and the
// outcome for the work queue out.
import { awsErrorCode, awsErrorMessage, isRetryableAws, isThrottled } from '../aws/errors.js';
import { isKubeConflict, kubeStatus } from '../kube/errors.js';
import { kubeErrorMessage } from './conditions.js';

export type FailureReason = 'KubernetesAPIError' | 'Throttled' | 'AWSUnavailable' | 'AWSError';

export type Failure =
  /** Someone wrote the claim or its ServiceAccount in between (409): requeue at once, no status (the next look is fresh). */
  | { outcome: 'conflict' }
  /**
   * Worth another try with backoff; Ready says why. Every failure that reaches
   * the reconciler retries: refusals awi can decide itself (invalid spec,
   * guardrails, resources it does not own) are conditions, not errors.
   */
  | { outcome: 'retry'; reason: FailureReason; message: string; code: string | number | undefined; maxDelayMs?: number };

/**
 * Longest per-claim wait after a transient AWS failure that outlasted the call
 * budget's own retries. The budget already paces every call of the account
 * (and slows down when cutting relieves throttling), so a claim need not also
 * back off for minutes on its own: a busy account slows all claims evenly.
 * Throttling comes back sooner than a 5xx (an outage is not helped by haste).
 */
export const TRANSIENT_RETRY_MAX_MS: Partial<Record<FailureReason, number>> = { Throttled: 10_000, AWSUnavailable: 60_000 };

export function classifyFailure(err: unknown): Failure {
  if (isKubeConflict(err)) return { outcome: 'conflict' };
  const kube = kubeStatus(err);
  if (kube !== undefined) return { outcome: 'retry', reason: 'KubernetesAPIError', message: kubeErrorMessage(err, kube), code: kube };
  const reason: FailureReason = isThrottled(err) ? 'Throttled' : isRetryableAws(err) ? 'AWSUnavailable' : 'AWSError';
  const maxDelayMs = TRANSIENT_RETRY_MAX_MS[reason];
  return { outcome: 'retry', reason, message: awsErrorMessage(err), code: awsErrorCode(err), ...(maxDelayMs !== undefined ? { maxDelayMs } : {}) };
}
