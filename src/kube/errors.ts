// HTTP status of a @kubernetes/client-node ApiException, if it is one.
export function kubeStatus(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}
export const isKubeNotFound = (err: unknown): boolean => kubeStatus(err) === 404;
export const isKubeConflict = (err: unknown): boolean => kubeStatus(err) === 409;
