// EKS Auth AssumeRoleForPodIdentity (what the Pod Identity agent calls):
// verifies the pod's service-account token, finds the association of its
// namespace/ServiceAccount, checks that the role trusts pods.eks.amazonaws.com
// (sts:AssumeRole and, unless session tags are disabled, sts:TagSession) and
// answers credentials minted by moto, in the real response shape.
import { randomUUID } from 'node:crypto';
import type { EksService } from './eks.js';
import { audiences, serviceAccountOf, TokenError, type TokenVerifier } from './jwks.js';
import type { MotoIam, RoleInfo } from './moto-iam.js';
import type { PropagationTracker } from './propagation.js';
import { AwsError, jsonResponse, type FakeResponse } from './protocol.js';
import { EKS_AUTH_PATH } from './router.js';
import { evaluateTrust, type TrustRequest } from './trust-evaluation.js';
import type { FakeLogger } from './types.js';

export const PODS_PRINCIPAL = 'pods.eks.amazonaws.com';
const TOKEN_RE = /^[A-Za-z0-9-_=]+\.[A-Za-z0-9-_=]+\.[A-Za-z0-9-_=]+$/;
/** Pod Identity credentials are valid for 6 hours. */
const CREDENTIAL_SECONDS = 6 * 3600;

export interface EksAuthDeps {
  eks: EksService;
  verifier: TokenVerifier;
  iam: MotoIam;
  propagation: PropagationTracker;
  logger?: FakeLogger;
}

export function eksAuthOperation(method: string, path: string): string {
  return method === 'POST' && EKS_AUTH_PATH.test(path) ? 'AssumeRoleForPodIdentity' : 'Unknown';
}

export async function assumeRoleForPodIdentity(deps: EksAuthDeps, method: string, path: string, body: Buffer): Promise<FakeResponse> {
  const m = EKS_AUTH_PATH.exec(path);
  if (method !== 'POST' || !m) throw new AwsError('UnknownOperationException', 404, `No operation for ${method} ${path}`);
  const clusterName = decodeURIComponent(m[1]!);
  let token: unknown;
  try {
    token = (JSON.parse(body.toString('utf8') || '{}') as { token?: unknown }).token;
  } catch {
    throw new AwsError('InvalidRequestException', 400, 'The request body is not valid JSON.');
  }
  if (typeof token !== 'string' || token === '') throw new AwsError('InvalidParameterException', 400, 'token is required.');
  if (!TOKEN_RE.test(token)) throw new AwsError('InvalidTokenException', 400, 'The service account token is not a valid JWT.');

  const cluster = deps.eks.cluster(clusterName);
  if (!cluster) throw new AwsError('ResourceNotFoundException', 404, `No cluster found for name: ${clusterName}.`);

  let claims;
  try {
    claims = await deps.verifier.verify(cluster, token);
  } catch (err) {
    if (err instanceof TokenError) {
      if (err.kind === 'expired') throw new AwsError('ExpiredTokenException', 400, 'The service account token has expired.');
      throw new AwsError('InvalidTokenException', 400, `The service account token is invalid: ${err.message}`);
    }
    throw err;
  }
  if (!audiences(claims).includes(PODS_PRINCIPAL)) {
    throw new AwsError('InvalidTokenException', 400, `The service account token audience must include ${PODS_PRINCIPAL}.`);
  }
  const subject = serviceAccountOf(claims);
  if (!subject) throw new AwsError('InvalidTokenException', 400, 'The token is not a Kubernetes service account token.');

  const assoc = deps.eks.find(cluster.name, subject.namespace, subject.serviceAccount);
  if (!assoc) {
    throw new AwsError(
      'ResourceNotFoundException',
      404,
      `No Pod Identity Association found for service account ${subject.serviceAccount} in namespace ${subject.namespace} in cluster ${cluster.name}.`,
    );
  }

  const clusterArn = deps.eks.clusterArn(cluster);
  const k8s = (claims['kubernetes.io'] ?? {}) as { pod?: { name?: string; uid?: string } };
  const podName = k8s.pod?.name;
  const sessionTags: Record<string, string> = {
    'eks-cluster-arn': clusterArn,
    'eks-cluster-name': cluster.name,
    'kubernetes-namespace': subject.namespace,
    'kubernetes-service-account': subject.serviceAccount,
    ...(podName ? { 'kubernetes-pod-name': podName } : {}),
    ...(k8s.pod?.uid ? { 'kubernetes-pod-uid': k8s.pod.uid } : {}),
  };
  const context: TrustRequest['context'] = {
    'aws:SourceAccount': cluster.accountId ?? clusterArn.split(':')[4],
    'aws:SourceArn': clusterArn,
  };
  if (!assoc.disableSessionTags) {
    for (const [k, v] of Object.entries(sessionTags)) context[`aws:RequestTag/${k}`] = v;
    context['aws:TagKeys'] = Object.keys(sessionTags);
  }

  const denied = (why: string): AwsError => {
    deps.logger?.debug({ cluster: cluster.name, ...subject, why }, 'AssumeRoleForPodIdentity denied');
    return new AwsError('AccessDeniedException', 400, `Not authorized to assume the role of the Pod Identity association ${assoc.associationId}: ${why}`);
  };
  const role = await deps.iam.getRole(assoc.roleArn);
  if (!role) throw denied(`role ${assoc.roleArn} does not exist`);
  checkTrust(role, { type: 'Service', id: PODS_PRINCIPAL }, context, assoc.disableSessionTags, deps.propagation, denied);

  // Cross-account: the association's role then assumes the target role.
  let finalRole: RoleInfo = role;
  if (assoc.targetRoleArn) {
    const target = await deps.iam.getRole(assoc.targetRoleArn);
    if (!target) throw denied(`target role ${assoc.targetRoleArn} does not exist`);
    const targetContext = { ...context, ...(assoc.externalId ? { 'sts:ExternalId': assoc.externalId } : {}) };
    checkTrust(target, { type: 'AWS', id: role.arn }, targetContext, assoc.disableSessionTags, deps.propagation, denied);
    finalRole = target;
  }

  const session = `eks-${cluster.name}-${podName ?? subject.serviceAccount}-${randomUUID()}`.slice(0, 64).replace(/[^\w+=,.@-]/g, '-');
  const creds = await deps.iam.mintCredentials(finalRole.arn, session, CREDENTIAL_SECONDS);
  return jsonResponse({
    subject,
    audience: PODS_PRINCIPAL,
    podIdentityAssociation: { associationArn: assoc.associationArn, associationId: assoc.associationId },
    assumedRoleUser: {
      arn: `arn:aws:sts::${finalRole.accountId}:assumed-role/${finalRole.roleName}/${session}`,
      assumeRoleId: `${finalRole.roleId}:${session}`,
    },
    credentials: {
      sessionToken: creds.sessionToken,
      secretAccessKey: creds.secretAccessKey,
      accessKeyId: creds.accessKeyId,
      expiration: Math.floor(creds.expiration.getTime() / 1000),
    },
  });
}

function checkTrust(
  role: RoleInfo,
  principal: TrustRequest['principal'],
  context: TrustRequest['context'],
  disableSessionTags: boolean,
  propagation: PropagationTracker,
  denied: (why: string) => AwsError,
): void {
  if (!role.trustPolicy) throw denied(`the trust policy of ${role.arn} cannot be parsed`);
  const actions = disableSessionTags ? ['sts:AssumeRole'] : ['sts:AssumeRole', 'sts:TagSession'];
  for (const action of actions) {
    const d = evaluateTrust(role.trustPolicy, { action, principal, context });
    if (!d.allowed) throw denied(`the trust policy of ${role.arn} does not allow ${principal.id} to ${action}: ${d.reason}`);
  }
  if (!propagation.assumable(role.roleName)) throw denied(`${role.arn} is not assumable yet (IAM propagation)`);
}
