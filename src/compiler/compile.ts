// claim + platform configuration -> desired state, or every reason it cannot
// be. Pure: no I/O, no clock, no randomness; the same input gives the same
// output, byte for byte.
//
// Order of checks: the schema (what the CRD's OpenAPI schema enforces) and
// the CEL twins first, reported together; only a structurally valid claim is
// compiled and then checked against guardrails and IAM limits, again
// reporting everything found.

import { validateClaimStructure } from '../api/validate.js';
import type { AwsWorkloadIdentityClaim } from '../api/types.js';
import type { PlatformConfig } from '../config/types.js';
import { partitionOf, iamRoleArn } from './arn.js';
import { policyDigest } from './canonical.js';
import { checkGuardrails, effectiveGuardrail, outsideIamCharacters, type EffectiveGuardrail } from './guardrails.js';
import { compileIntents } from './intents/index.js';
import { checkLimits } from './limits.js';
import { renderTemplate, roleName, shortenRoleName, type RoleNameVariables } from './names.js';
import {
  PENDING_EXTERNAL_ID,
  SESSION_POLICY_MAX_CHARS,
  SOURCE_ROLE_SUFFIX,
  podIdentityServiceStatement,
  sessionPolicyDocument,
  sessionPolicyJson,
  sourceRolePermissions,
} from './pod-identity.js';
import { dedupeProblems } from './problems.js';
import { checkSpecRules } from './spec-rules.js';
import { buildStatements, policyDocument } from './statements.js';
import { roleTags, serviceAccountLabels } from './tags.js';
import { ROLE_ARN_ANNOTATION } from '../ownership.js';
import { trustPolicy } from './trust.js';
import type { ClaimSpec } from '../api/types.js';
import { canonicalJson } from './canonical.js';
import type { CompileOptions, CompileResult, DesiredBinding, DesiredSourceRole, DesiredState, Mechanism, PolicyDocument, Problem } from './types.js';

export const PERMISSION_POLICY_NAME = 'awi-permissions';
export { ROLE_ARN_ANNOTATION as IRSA_ROLE_ARN_ANNOTATION } from '../ownership.js';

/**
 * Compiles a claim (any object: it is validated here) with the platform
 * configuration. Never throws for a bad claim: problems are returned.
 */
export function compileClaim(claim: unknown, config: PlatformConfig, options: CompileOptions = {}): CompileResult {
  const celProblems = checkSpecRules(claim);
  const explainedFields = new Set(celProblems.map((p) => p.field));
  const structural = [...validateClaimStructure(claim, { explainedFields }), ...celProblems];
  const namespace = (claim as { metadata?: { namespace?: unknown } })?.metadata?.namespace;
  if (typeof namespace !== 'string' || namespace === '') {
    structural.push({ reason: 'InvalidSpec', field: 'metadata.namespace', rule: 'required', message: 'is required: a claim is namespaced' });
  }
  if (structural.length) return { ok: false, problems: dedupeProblems(structural) };
  return compileValid(claim as AwsWorkloadIdentityClaim & { metadata: { namespace: string } }, config, options);
}

function compileValid(
  claim: AwsWorkloadIdentityClaim & { metadata: { namespace: string } },
  config: PlatformConfig,
  options: CompileOptions,
): CompileResult {
  const { spec, metadata } = claim;
  const namespace = metadata.namespace;
  const { accountId, region } = spec.aws;
  const partition = partitionOf(region);
  const mechanism: Mechanism = spec.mechanism ?? config.defaults.mechanism;
  const problems: Problem[] = [];

  // Permissions, checked against the guardrails of the namespace.
  const grants = compileIntents(spec.permissions, { partition, accountId, region });
  const guardrail = effectiveGuardrail(namespace, config);
  if (guardrail.isDefault) {
    // Reach comes only from the platform config: a namespace it does not govern gets no identity
    // (not even an empty role, whose owner and environment tags would be the claim's word alone).
    return {
      ok: false,
      problems: [
        {
          reason: 'GuardrailViolation',
          field: 'metadata.namespace',
          rule: 'namespace-governed',
          message: `namespace ${namespace} matches no guardrail of the platform configuration, so it may not claim an AWS identity: ask the platform team to add it to a guardrail's namespaces`,
        },
      ],
    };
  }
  const values = { namespace, cluster: config.cluster.name, account: accountId, region, partition };
  problems.push(
    ...checkGuardrails({ spec, grants, config, guardrail, values, ...(options.namespaceLabels ? { namespaceLabels: options.namespaceLabels } : {}) }),
  );
  const permissionDocument = policyDocument(buildStatements(grants));
  const managedPolicyArns = [...(spec.permissions.managedPolicyArns ?? [])].sort();

  // The role and who may assume it.
  const name = roleName(config.roles.nameTemplate, {
    cluster: config.cluster.name,
    namespace,
    serviceAccount: spec.serviceAccountName,
    claim: metadata.name,
    account: accountId,
  });
  const arn = iamRoleArn(partition, accountId, config.roles.path, name);
  const trusted = options.alsoTrust && options.alsoTrust !== mechanism ? [mechanism, options.alsoTrust] : [mechanism];
  if (trusted.includes('IRSA') && config.cluster.oidcIssuers.length === 0) {
    problems.push({
      reason: 'InvalidSpec',
      field: 'spec.mechanism',
      rule: 'irsa-issuer-configured',
      message: 'IRSA needs an OIDC issuer in the platform configuration (cluster.oidcIssuer); use PodIdentity or ask the platform team',
    });
  }
  const accountRefused = problems.some((p) => p.field === 'spec.aws.accountId');
  const crossAccount = trusted.includes('PodIdentity') && accountId !== config.cluster.accountId;
  if (crossAccount && !accountRefused && !config.accounts.some((a) => a.accountId === accountId && a.assumeRoleArn)) {
    // EKS chains into another account's role through a source role, which the controller must be able to trust from there.
    problems.push({
      reason: 'InvalidSpec',
      field: 'spec.mechanism',
      rule: 'pod-identity-same-account',
      message: `Pod Identity binds a role in account ${accountId} through a source role in the cluster's account ${config.cluster.accountId}, and the platform configuration gives the controller no role to assume in ${accountId} (accounts[].assumeRoleArn); ask the platform team, or use mechanism IRSA`,
    });
  }
  const sessionPolicy = spec.podIdentity?.sessionPolicy;
  const sessionTags = !sessionPolicy?.length;
  const sessionPolicyDoc = sessionPolicy?.length ? sessionPolicyDocument(sessionPolicy) : undefined;
  problems.push(...checkSessionPolicy({ spec, mechanism, guardrail, document: sessionPolicyDoc }));
  const sourceName = crossAccount ? sourceRoleName(config.roles.nameTemplate, { cluster: config.cluster.name, namespace, serviceAccount: spec.serviceAccountName, claim: metadata.name, account: accountId }) : undefined;
  const sourceArn = sourceName ? iamRoleArn(partition, config.cluster.accountId, config.roles.path, sourceName) : undefined;
  const trustInputs = { config, accountId, partition, namespace, serviceAccount: spec.serviceAccountName };
  const trustDocument = trustPolicy(trusted, {
    ...trustInputs,
    podIdentity: sourceArn
      ? { kind: 'chain', sourceRoleArn: sourceArn, externalId: options.associationExternalId ?? PENDING_EXTERNAL_ID, sessionTags }
      : { kind: 'direct', sessionTags },
  });
  const tags = roleTags({
    cluster: config.cluster.arn,
    namespace,
    claim: metadata.name,
    ...(metadata.uid ? { claimUid: metadata.uid } : {}),
    owner: spec.owner,
    environment: spec.environment,
    defaults: config.roles.tags,
  });

  problems.push(
    ...checkLimits({
      config,
      permissionPolicy: permissionDocument,
      trustPolicy: trustDocument,
      managedPolicyCount: managedPolicyArns.length,
      tagCount: Object.keys(tags).length,
      roleName: name,
    }),
  );
  if (problems.length) return { ok: false, problems: dedupeProblems(problems) };

  const binding: DesiredBinding =
    mechanism === 'PodIdentity'
      ? {
          kind: 'PodIdentityAssociation',
          clusterName: config.cluster.name,
          namespace,
          serviceAccount: spec.serviceAccountName,
          roleArn: sourceArn ?? arn,
          tags: { ...tags },
          ...(sourceArn ? { targetRoleArn: arn } : {}),
          ...(sessionPolicyDoc ? { disableSessionTags: true, policy: sessionPolicyJson(sessionPolicyDoc) } : {}),
        }
      : { kind: 'IRSAAnnotation', namespace, serviceAccount: spec.serviceAccountName, annotations: { [ROLE_ARN_ANNOTATION]: arn } };
  // Only while the binding is Pod Identity: during a switch to IRSA the old association (and its source role) is retired by the controller.
  const sourceRole: DesiredSourceRole | undefined =
    sourceName && sourceArn && mechanism === 'PodIdentity'
      ? {
          accountId: config.cluster.accountId,
          name: sourceName,
          path: config.roles.path,
          arn: sourceArn,
          description: `Managed by awi: EKS Pod Identity source role of claim ${namespace}/${metadata.name} (ServiceAccount ${spec.serviceAccountName}) in cluster ${config.cluster.name}; chains into ${arn}`,
          ...(config.roles.permissionsBoundaryArn ? { permissionsBoundaryArn: config.roles.permissionsBoundaryArn } : {}),
          maxSessionDurationSeconds: config.roles.maxSessionDurationSeconds,
          tags: { ...tags },
          trustPolicy: { Version: '2012-10-17', Statement: [podIdentityServiceStatement(trustInputs, sessionTags)] },
          permissionPolicy: { name: PERMISSION_POLICY_NAME, document: sourceRolePermissions(arn, sessionTags) },
        }
      : undefined;

  const desired: DesiredState = {
    claim: {
      namespace,
      name: metadata.name,
      ...(metadata.uid ? { uid: metadata.uid } : {}),
      ...(metadata.generation !== undefined ? { generation: metadata.generation } : {}),
    },
    accountId,
    region,
    mechanism,
    deletionPolicy: spec.deletionPolicy ?? config.defaults.deletionPolicy,
    role: {
      name,
      path: config.roles.path,
      arn,
      description: `Managed by awi for claim ${namespace}/${metadata.name} (ServiceAccount ${spec.serviceAccountName}) in cluster ${config.cluster.name}`,
      ...(config.roles.permissionsBoundaryArn ? { permissionsBoundaryArn: boundaryInAccount(config.roles.permissionsBoundaryArn, config.cluster.accountId, accountId) } : {}),
      maxSessionDurationSeconds: spec.maxSessionDurationSeconds ?? config.roles.maxSessionDurationSeconds,
      tags,
      trustPolicy: trustDocument,
    },
    permissionPolicy: { name: PERMISSION_POLICY_NAME, document: permissionDocument },
    managedPolicyArns,
    binding,
    ...(sourceRole ? { sourceRole } : {}),
    serviceAccount: {
      namespace,
      name: spec.serviceAccountName,
      labels: serviceAccountLabels(namespace, metadata.name),
      annotations: binding.kind === 'IRSAAnnotation' ? { ...binding.annotations } : {},
    },
    digests: { policy: policyDigest(permissionDocument), trust: policyDigest(trustDocument) },
  };
  return { ok: true, desired };
}

/**
 * The boundary policy is named once, in the cluster's account; a role in
 * another account needs the policy of the same path and name in its own
 * account (a policy cannot bound a role across accounts).
 */
export function boundaryInAccount(boundaryArn: string, clusterAccountId: string, roleAccountId: string): string {
  const prefix = `:${clusterAccountId}:policy/`;
  return roleAccountId === clusterAccountId || !boundaryArn.includes(prefix) ? boundaryArn : boundaryArn.replace(prefix, `:${roleAccountId}:policy/`);
}

/** The source role's name: the claim role's name with a suffix, cut to IAM's 64 characters like any role name. */
export function sourceRoleName(template: string, vars: RoleNameVariables): string {
  return shortenRoleName(`${renderTemplate(template, vars)}${SOURCE_ROLE_SUFFIX}`);
}

interface SessionPolicyInputs {
  spec: ClaimSpec;
  mechanism: Mechanism;
  guardrail: EffectiveGuardrail;
  document: PolicyDocument | undefined;
}

/** A session policy: Pod Identity only, where every guardrail allows it (it turns session tags off), within STS's size. */
function checkSessionPolicy({ spec, mechanism, guardrail, document }: SessionPolicyInputs): Problem[] {
  if (!document) return [];
  const field = 'spec.podIdentity.sessionPolicy';
  const problems: Problem[] = [];
  if (mechanism !== 'PodIdentity') {
    problems.push({ reason: 'InvalidSpec', field, rule: 'session-policy-mechanism', message: `a session policy is a setting of the Pod Identity association; mechanism ${mechanism} has none: remove it or use PodIdentity` });
  }
  if (!guardrail.allowSessionPolicies) {
    problems.push({
      reason: 'GuardrailViolation',
      field,
      rule: 'session-policy-allowed',
      message: `session policies are not allowed for ${guardrail.source}: AWS requires session tags off with one, so the role could not be pinned to this namespace and ServiceAccount (only to the cluster); ask the platform team for allowSessionPolicies`,
    });
  }
  const json = canonicalJson(document);
  if (json.length > SESSION_POLICY_MAX_CHARS) {
    problems.push({ reason: 'LimitExceeded', field, rule: 'session-policy-size', message: `the session policy is ${json.length} characters; AWS allows at most ${SESSION_POLICY_MAX_CHARS}: name fewer actions or resources` });
  }
  spec.podIdentity?.sessionPolicy?.forEach((statement, i) => {
    const strings = [...statement.actions, ...statement.resources, ...Object.entries(statement.conditions ?? {}).flatMap(([op, block]) => [op, ...Object.entries(block).flatMap(([k, v]) => [k, ...v])])];
    const bad = strings.map(outsideIamCharacters).find((c) => c !== undefined);
    if (bad) {
      problems.push({ reason: 'InvalidSpec', field: `${field}[${i}]`, rule: 'iam-policy-characters', message: `contains ${bad}; IAM policies accept only tab, line feed, carriage return and the characters U+0020 to U+00FF` });
    }
  });
  return problems;
}
