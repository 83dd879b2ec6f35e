// Which failures retry, with which Ready reason and message (src/controller/failure.ts).
import { describe, expect, it } from '@jest/globals';
import { classifyFailure } from '../../src/controller/failure.js';

/** An AWS SDK v3 service exception as the SDK throws it: name is the error code, $metadata the HTTP status. */
function awsError(name: string, message: string, httpStatusCode: number): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode } });
}
/** A @kubernetes/client-node ApiException: code is the HTTP status, body the Status object as JSON. */
function kubeError(code: number, message: string): Error {
  return Object.assign(new Error(`HTTP-Code: ${code}\nMessage: Unknown API Status Code!\nBody: ...\nHeaders: ...`), { code, body: JSON.stringify({ kind: 'Status', status: 'Failure', message, code }) });
}

describe('classifyFailure', () => {
  it.each([
    ['IAM throttling', awsError('Throttling', 'Rate exceeded', 400), { outcome: 'retry', reason: 'Throttled', message: 'Throttling: Rate exceeded', code: 'Throttling', maxDelayMs: 10_000 }],
    ['EKS throttling', awsError('ThrottlingException', 'Slow down', 400), { outcome: 'retry', reason: 'Throttled', message: 'ThrottlingException: Slow down', code: 'ThrottlingException', maxDelayMs: 10_000 }],
    ['an AWS 5xx', awsError('ServiceFailure', 'internal error', 500), { outcome: 'retry', reason: 'AWSUnavailable', message: 'ServiceFailure: internal error', code: 'ServiceFailure', maxDelayMs: 60_000 }],
    ['a 503 with an unknown code', awsError('SomethingNew', 'try later', 503), { outcome: 'retry', reason: 'AWSUnavailable', message: 'SomethingNew: try later', code: 'SomethingNew', maxDelayMs: 60_000 }],
    ['a connection reset', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), { outcome: 'retry', reason: 'AWSUnavailable', message: 'ECONNRESET: socket hang up', code: 'ECONNRESET', maxDelayMs: 60_000 }],
    ['AccessDenied (the controller policy does not allow it)', awsError('AccessDenied', 'not authorized to perform iam:CreateRole', 403),
      { outcome: 'retry', reason: 'AWSError', message: 'AccessDenied: not authorized to perform iam:CreateRole', code: 'AccessDenied' }],
    ['a message that already starts with its code is not repeated', awsError('LimitExceeded', 'LimitExceeded: roles per account', 409),
      { outcome: 'retry', reason: 'AWSError', message: 'LimitExceeded: roles per account', code: 'LimitExceeded' }],
    ['a Kubernetes API error: the Status message, not the client dump', kubeError(403, 'serviceaccounts is forbidden'),
      { outcome: 'retry', reason: 'KubernetesAPIError', message: 'The Kubernetes API answered 403: serviceaccounts is forbidden.', code: 403 }],
    ['a Kubernetes 409 (someone wrote in between): requeue, no status', kubeError(409, 'the object has been modified'), { outcome: 'conflict' }],
  ])('%s', (_name, err, want) => {
    expect(classifyFailure(err)).toEqual(want);
  });

  it('a transient AWS failure that outlasted the budget\'s retries comes back within a bounded delay; other failures back off as usual', () => {
    expect(classifyFailure(awsError('Throttling', 'Rate exceeded', 400))).toMatchObject({ maxDelayMs: 10_000 });
    expect(classifyFailure(awsError('InternalFailure', 'oops', 500))).toMatchObject({ maxDelayMs: 60_000 });
    expect(classifyFailure(awsError('AccessDenied', 'no', 403))).not.toHaveProperty('maxDelayMs');
    expect(classifyFailure(kubeError(500, 'etcd'))).not.toHaveProperty('maxDelayMs');
  });

  it('an AWS error with HTTP 409 is not a Kubernetes conflict (only the API server\'s 409 requeues without status)', () => {
    expect(classifyFailure(awsError('EntityAlreadyExists', 'exists', 409))).toMatchObject({ outcome: 'retry', reason: 'AWSError' });
  });
});
