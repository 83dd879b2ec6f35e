// STS AssumeRoleWithWebIdentity (IRSA), done properly: the token must come
// from a cluster we know (signature against its JWKS, issuer, expiry), the
// role's account must have an IAM OIDC provider for that issuer whose client
// ID list holds the token's audience, and the role's trust policy must allow
// that provider to sts:AssumeRoleWithWebIdentity with its conditions on
// `<issuer-host-path>:sub` / `:aud` satisfied. Credentials are minted by moto.
import { audiences, issuerHostPath, peekClaims, TokenError, type TokenVerifier } from './jwks.js';
import { parseRoleArn, type IamBackend } from './moto-iam.js';
import type { PropagationTracker } from './propagation.js';
import { AwsError, queryResponse, toXml, type FakeResponse } from './protocol.js';
import { evaluateTrust } from './trust-evaluation.js';
import type { FakeLogger } from './types.js';

export interface WebIdentityDeps {
  verifier: TokenVerifier;
  iam: IamBackend;
  propagation: PropagationTracker;
  logger?: FakeLogger;
}

const SESSION_RE = /^[\w+=,.@-]{2,64}$/;

function validation(field: string, value: string | null, constraint: string): AwsError {
  return new AwsError(
    'ValidationError',
    400,
    `1 validation error detected: Value ${value === null ? 'null' : `'${value}'`} at '${field}' failed to satisfy constraint: ${constraint}`,
  );
}

export async function assumeRoleWithWebIdentity(deps: WebIdentityDeps, params: URLSearchParams): Promise<FakeResponse> {
  const roleArn = params.get('RoleArn');
  const session = params.get('RoleSessionName');
  const token = params.get('WebIdentityToken');
  if (roleArn === null) throw validation('roleArn', null, 'Member must not be null');
  if (session === null) throw validation('roleSessionName', null, 'Member must not be null');
  if (token === null) throw validation('webIdentityToken', null, 'Member must not be null');
  if (!SESSION_RE.test(session)) throw validation('roleSessionName', session, 'Member must satisfy regular expression pattern: [\\w+=,.@-]* and have length between 2 and 64');
  const rawDuration = params.get('DurationSeconds');
  const duration = rawDuration === null ? 3600 : Number(rawDuration);
  if (!Number.isInteger(duration) || duration < 900 || duration > 43200) {
    throw validation('durationSeconds', rawDuration, 'Member must have value between 900 and 43200');
  }
  const parsedArn = parseRoleArn(roleArn);
  if (!parsedArn) throw validation('roleArn', roleArn, 'Member must be a valid role ARN');

  const denied = (why: string): AwsError => {
    deps.logger?.debug({ roleArn, why }, 'AssumeRoleWithWebIdentity denied');
    return new AwsError('AccessDenied', 403, 'Not authorized to perform sts:AssumeRoleWithWebIdentity');
  };

  let unverified;
  try {
    unverified = peekClaims(token);
  } catch {
    throw new AwsError('InvalidIdentityToken', 400, 'The web identity token is not a valid JWT.');
  }
  const iss = unverified.iss;
  if (!iss) throw new AwsError('InvalidIdentityToken', 400, 'The web identity token has no issuer (iss).');
  const hostPath = issuerHostPath(iss);
  const provider = await deps.iam.oidcProvider(parsedArn.accountId, hostPath, parsedArn.partition);
  if (!provider) throw new AwsError('InvalidIdentityToken', 400, `No OpenIDConnect provider found in your account for ${iss}`);

  const cluster = deps.verifier.clusterForIssuer(iss);
  if (!cluster) {
    throw new AwsError(
      'InvalidIdentityToken',
      400,
      'Couldn\'t retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements',
    );
  }
  let claims;
  try {
    claims = await deps.verifier.verify(cluster, token);
  } catch (err) {
    if (err instanceof TokenError && err.kind === 'expired') {
      const nowS = Math.floor(Date.now() / 1000);
      throw new AwsError('ExpiredTokenException', 400, `Token expired: current date/time ${nowS} must be before the expiration date/time ${err.exp ?? 'unknown'}`);
    }
    if (err instanceof TokenError) throw new AwsError('InvalidIdentityToken', 400, `The web identity token could not be verified: ${err.message}`);
    throw err;
  }
  const aud = audiences(claims).find((a) => provider.clientIds.includes(a));
  if (aud === undefined) throw new AwsError('InvalidIdentityToken', 400, 'Incorrect token audience');

  const role = await deps.iam.getRole(roleArn);
  if (!role) throw denied(`role ${roleArn} does not exist`);
  if (!role.trustPolicy) throw denied('trust policy does not parse');
  const sub = claims.sub ?? '';
  const decision = evaluateTrust(role.trustPolicy, {
    action: 'sts:AssumeRoleWithWebIdentity',
    principal: { type: 'Federated', id: provider.arn },
    context: {
      [`${hostPath}:sub`]: sub,
      [`${hostPath}:aud`]: aud,
      'aws:FederatedProvider': provider.arn,
    },
  });
  if (!decision.allowed) throw denied(decision.reason);
  if (!deps.propagation.assumable(role.roleName)) throw denied(`role not yet assumable (IAM propagation, ${deps.propagation.remainingMs(role.roleName)} ms left)`);
  if (duration > role.maxSessionDuration) {
    throw validation('durationSeconds', String(duration), `The requested DurationSeconds exceeds the MaxSessionDuration set for this role (${role.maxSessionDuration}).`);
  }

  const creds = await deps.iam.mintCredentials(role.arn, session, duration);
  return queryResponse(
    'AssumeRoleWithWebIdentity',
    toXml({
      Credentials: {
        AccessKeyId: creds.accessKeyId,
        SecretAccessKey: creds.secretAccessKey,
        SessionToken: creds.sessionToken,
        Expiration: creds.expiration,
      },
      SubjectFromWebIdentityToken: sub,
      AssumedRoleUser: {
        AssumedRoleId: `${role.roleId}:${session}`,
        Arn: `arn:aws:sts::${role.accountId}:assumed-role/${role.roleName}/${session}`,
      },
      Provider: provider.arn,
      Audience: aud,
    }),
  );
}

/** sts:AssumeRole is passed to moto, except while the role is still propagating. */
export function checkAssumeRolePropagation(propagation: PropagationTracker, params: URLSearchParams): void {
  const roleArn = params.get('RoleArn');
  const name = roleArn ? parseRoleArn(roleArn)?.roleName : undefined;
  if (name && !propagation.assumable(name)) {
    throw new AwsError('AccessDenied', 403, `User is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`);
  }
}
