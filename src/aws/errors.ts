// Classifies AWS SDK errors into what the reconciler needs to know.

export function awsErrorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { name?: string; Code?: string; code?: string };
  return e.Code ?? e.code ?? e.name;
}

const notFoundCodes = new Set(['NoSuchEntity', 'NoSuchEntityException', 'ResourceNotFoundException']);
const throttleCodes = new Set(['Throttling', 'ThrottlingException', 'TooManyRequestsException', 'RequestLimitExceeded']);

export const isNotFound = (err: unknown): boolean => notFoundCodes.has(awsErrorCode(err) ?? '');
export const isThrottled = (err: unknown): boolean => throttleCodes.has(awsErrorCode(err) ?? '');
export const isAlreadyExists = (err: unknown): boolean =>
  ['EntityAlreadyExists', 'EntityAlreadyExistsException', 'ResourceInUseException'].includes(awsErrorCode(err) ?? '');

/** 5xx, throttling and network failures: worth retrying with backoff. */
export function isRetryableAws(err: unknown): boolean {
  if (isThrottled(err)) return true;
  const meta = (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata;
  if (meta?.httpStatusCode !== undefined && meta.httpStatusCode >= 500) return true;
  const code = awsErrorCode(err) ?? '';
  return ['ServiceUnavailable', 'ServiceUnavailableException', 'InternalFailure', 'InternalError', 'ServiceFailure',
    'ServerException', 'ConcurrentModification', 'ConcurrentModificationException', 'ECONNRESET', 'ECONNREFUSED', 'TimeoutError'].includes(code);
}

export function awsErrorMessage(err: unknown): string {
  const code = awsErrorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  return code && !message.startsWith(code) ? `${code}: ${message}` : message;
}
