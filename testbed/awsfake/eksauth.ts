// EKS Auth AssumeRoleForPodIdentity (what the Pod Identity agent calls):
// verifies the pod's service-account token, finds the association of its
// namespace/ServiceAccount, checks that the role trusts pods.eks.amazonaws.com
// (sts:AssumeRole and, unless the association disables session tags,
// sts:TagSession, with the six session tags EKS sets in the condition
// context), and answers credentials minted by moto, in the real response shape.
// With a target role the association's role then assumes the target role (role
// chaining): the target's trust must allow the association's role
// sts:AssumeRole (and sts:TagSession when tags are passed), with sts:ExternalId
// = the association's externalId; the pod gets the target role. The session
// policy goes with the final assume (into moto) and into the call log.
import { randomUUID } from 'node:crypto';
import type { EksService } from './eks.js';
import { audiences, serviceAccountOf, TokenError, type TokenVerifier } from './jwks.js';
import type { IamBackend, RoleInfo } from './moto-iam.js';
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
  iam: IamBackend;
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
  const denied = (why: string): AwsError => {
    deps.logger?.debug({ cluster: cluster.name, ...subject, why }, 'AssumeRoleForPodIdentity denied');
    return new AwsError('AccessDeniedException', 400, `Not authorized to assume the role of the Pod Identity association ${assoc.associationId}: ${why}`);
  };
  const tagsPassed = !assoc.disableSessionTags;
  const tagContext: TrustRequest['context'] = tagsPassed
    ? { ...Object.fromEntries(Object.entries(sessionTags).map(([k, v]) => [`aws:RequestTag/${k}`, v])), 'aws:TagKeys': Object.keys(sessionTags) }
    : {};
  // First hop: the EKS Auth service principal assumes the association's role.
  const role = await deps.iam.getRole(assoc.roleArn);
  if (!role) throw denied(`role ${assoc.roleArn} does not exist`);
  const serviceContext: TrustRequest['context'] = {
    'aws:SourceAccount': cluster.accountId ?? clusterArn.split(':')[4],
    'aws:SourceArn': clusterArn,
    ...tagContext,
  };
  checkTrust(role, { type: 'Service', id: PODS_PRINCIPAL }, serviceContext, tagsPassed, deps.propagation, denied);

  // Second hop (target role): the association's role session assumes the
  // target role, with the association's external ID and the same session tags.
  let finalRole: RoleInfo = role;
  if (assoc.targetRoleArn) {
    const target = await deps.iam.getRole(assoc.targetRoleArn);
    if (!target) throw denied(`target role ${assoc.targetRoleArn} does not exist`);
    const chainContext: TrustRequest['context'] = { ...(assoc.externalId ? { 'sts:ExternalId': assoc.externalId } : {}), ...tagContext };
    checkTrust(target, { type: 'AWS', id: role.arn }, chainContext, tagsPassed, deps.propagation, denied);
    finalRole = target;
  }

  const session = `eks-${cluster.name}-${podName ?? subject.serviceAccount}-${randomUUID()}`.slice(0, 64).replace(/[^\w+=,.@-]/g, '-');
  const creds = await deps.iam.mintCredentials(finalRole.arn, session, CREDENTIAL_SECONDS, assoc.policy);
  const response = jsonResponse({
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
  return {
    ...response,
    detail: {
      associationId: assoc.associationId,
      roleArn: role.arn,
      ...(assoc.targetRoleArn ? { targetRoleArn: assoc.targetRoleArn } : {}),
      assumedRoleArn: finalRole.arn,
      sessionTags: tagsPassed ? sessionTags : null,
      ...(assoc.policy !== undefined ? { sessionPolicy: assoc.policy } : {}),
    },
  };
}

function checkTrust(
  role: RoleInfo,
  principal: TrustRequest['principal'],
  context: TrustRequest['context'],
  tagsPassed: boolean,
  propagation: PropagationTracker,
  denied: (why: string) => AwsError,
): void {
  if (!role.trustPolicy) throw denied(`the trust policy of ${role.arn} cannot be parsed`);
  const actions = tagsPassed ? ['sts:AssumeRole', 'sts:TagSession'] : ['sts:AssumeRole'];
  for (const action of actions) {
    const d = evaluateTrust(role.trustPolicy, { action, principal, context });
    if (!d.allowed) throw denied(`the trust policy of ${role.arn} does not allow ${principal.id} to ${action}: ${d.reason}`);
  }
  if (!propagation.assumable(role.roleName)) throw denied(`${role.arn} is not assumable yet (IAM propagation)`);
}
