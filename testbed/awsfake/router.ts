// Which service and operation a request is for. Signed requests name their
// service in the SigV4 credential scope (`Credential=AKID/date/region/<service>/aws4_request`,
// in the Authorization header or, presigned, in X-Amz-Credential). Unsigned ones
// (STS AssumeRoleWithWebIdentity is sent without a signature by the SDK) are
// recognised by their path or Action. Pure.
import type { ServiceName } from './types.js';

export interface SigningScope {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
}

const SCOPE_RE = /Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request/;

export function parseSigningScope(authorization: string | undefined, query?: URLSearchParams): SigningScope | undefined {
  let m = authorization ? SCOPE_RE.exec(authorization) : null;
  if (!m) {
    const cred = query?.get('X-Amz-Credential');
    if (cred) m = SCOPE_RE.exec(`Credential=${cred}`);
  }
  if (!m) return undefined;
  return { accessKeyId: m[1]!, date: m[2]!, region: m[3]!, service: m[4]! };
}

const KNOWN: ReadonlySet<string> = new Set<ServiceName>(['iam', 'sts', 'eks', 'eks-auth']);

/** STS actions, for unsigned query requests (everything else with an Action is IAM). */
const STS_ACTIONS = new Set([
  'AssumeRole',
  'AssumeRoleWithWebIdentity',
  'AssumeRoleWithSAML',
  'AssumeRoot',
  'DecodeAuthorizationMessage',
  'GetAccessKeyInfo',
  'GetCallerIdentity',
  'GetFederationToken',
  'GetSessionToken',
  'GetWebIdentityToken',
]);

export const EKS_AUTH_PATH = /^\/clusters\/([^/]+)\/assume-role-for-pod-identity\/?$/;

/**
 * The service of a request, or undefined (unknown service: the caller answers 400).
 * `action` is the query-protocol Action, when there is one.
 */
export function routeService(scope: SigningScope | undefined, path: string, action: string | undefined): ServiceName | undefined {
  if (scope) return KNOWN.has(scope.service) ? (scope.service as ServiceName) : undefined;
  if (EKS_AUTH_PATH.test(path)) return 'eks-auth';
  if (path === '/clusters' || path.startsWith('/clusters/')) return 'eks';
  if (action) return STS_ACTIONS.has(action) ? 'sts' : 'iam';
  return undefined;
}

export interface RestRoute<Op extends string> {
  method: string;
  /** Path template with `{param}` segments. */
  path: string;
  operation: Op;
}

/** Matches a REST path against templates; params are URI-decoded. */
export function matchRoute<Op extends string>(
  routes: ReadonlyArray<RestRoute<Op>>,
  method: string,
  path: string,
): { operation: Op; params: Record<string, string> } | undefined {
  const segs = path.replace(/\/+$/, '').split('/');
  for (const r of routes) {
    if (r.method !== method) continue;
    const tpl = r.path.split('/');
    if (tpl.length !== segs.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < tpl.length && ok; i++) {
      const t = tpl[i]!;
      const s = segs[i]!;
      if (t.startsWith('{') && t.endsWith('}')) {
        if (s === '') ok = false;
        else {
          try {
            params[t.slice(1, -1)] = decodeURIComponent(s);
          } catch {
            ok = false;
          }
        }
      } else if (t !== s) ok = false;
    }
    if (ok) return { operation: r.operation, params };
  }
  return undefined;
}
