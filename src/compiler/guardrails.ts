// Guardrails: what the platform lets a namespace claim.
//
// Every guardrail whose namespace patterns match applies, and the strictest
// answer wins (accounts, services and patterns intersect; managed policies and
// raw statements need every match to allow them; forbidden actions add up).
// So adding a guardrail can only narrow what a namespace may do, and the order
// of the list does not matter. A namespace no guardrail matches gets the
// default guardrail: only the accounts listed in the configuration, no managed
// policies, no raw statements, and DEFAULT_FORBIDDEN_ACTIONS.

import { forbiddenEntriesFor, servicePrefix } from './actions.js';
import { parseArn } from './arn.js';
import { globMatch, hasWildcard } from './glob.js';
import type { Grant } from './intents/index.js';
import type { ClaimSpec } from '../api/types.js';
import type { PlatformConfig } from '../config/types.js';
import type { Problem } from './types.js';

export const DEFAULT_FORBIDDEN_ACTIONS = ['*', 'iam:*', 'iam:PassRole', 'sts:*', 'organizations:*', 'kms:*', 's3:*'];

/** AWS-managed policies whose grants are known: refused where the actions they grant are forbidden. */
export const BROAD_MANAGED_POLICIES: Record<string, string[]> = {
  AdministratorAccess: ['*'],
  PowerUserAccess: ['*'],
  IAMFullAccess: ['iam:*'],
  AmazonS3FullAccess: ['s3:*'],
  AmazonSQSFullAccess: ['sqs:*'],
  AmazonSNSFullAccess: ['sns:*'],
  AmazonDynamoDBFullAccess: ['dynamodb:*'],
  SecretsManagerReadWrite: ['secretsmanager:*'],
  AmazonSSMFullAccess: ['ssm:*'],
  AWSKeyManagementServicePowerUser: ['kms:*'],
};

export interface EffectiveGuardrail {
  /** For messages: which guardrails apply, e.g. `namespaces matching *-prod (guardrails[0])`. */
  source: string;
  allowedAccounts: string[];
  /** Undefined: every service. */
  allowedServices?: string[];
  /** Each set comes from one guardrail; a resource must match a pattern of every set. */
  resourcePatternSets: string[][];
  allowManagedPolicies: boolean;
  managedPolicyPatternSets: string[][];
  allowRawStatements: boolean;
  forbiddenActions: string[];
}

export function effectiveGuardrail(namespace: string, config: PlatformConfig): EffectiveGuardrail {
  const matches = config.guardrails
    .map((guardrail, index) => ({ guardrail, index, patterns: guardrail.namespaces.filter((p) => globMatch(p, namespace)) }))
    .filter((m) => m.patterns.length > 0);
  if (matches.length === 0) {
    return {
      source: `namespace ${namespace} (it matches no guardrail, so the defaults apply)`,
      allowedAccounts: config.accounts.map((a) => a.accountId),
      resourcePatternSets: [],
      allowManagedPolicies: false,
      managedPolicyPatternSets: [],
      allowRawStatements: false,
      forbiddenActions: DEFAULT_FORBIDDEN_ACTIONS,
    };
  }
  const guardrails = matches.map((m) => m.guardrail);
  const serviceLists = guardrails.flatMap((g) => (g.allowedServices ? [g.allowedServices] : []));
  return {
    source: `namespaces matching ${matches.map((m) => `${m.patterns.join(', ')} (guardrails[${m.index}])`).join(' and ')}`,
    allowedAccounts: intersect(guardrails.map((g) => g.allowedAccounts)),
    ...(serviceLists.length ? { allowedServices: intersect(serviceLists) } : {}),
    resourcePatternSets: guardrails.flatMap((g) => (g.allowedResourcePatterns ? [g.allowedResourcePatterns] : [])),
    allowManagedPolicies: guardrails.every((g) => g.allowManagedPolicies),
    managedPolicyPatternSets: guardrails.flatMap((g) => (g.allowedManagedPolicyArns ? [g.allowedManagedPolicyArns] : [])),
    allowRawStatements: guardrails.every((g) => g.allowRawStatements),
    forbiddenActions: [...new Set(guardrails.flatMap((g) => g.forbiddenActions))],
  };
}

function intersect(lists: string[][]): string[] {
  const [first = [], ...rest] = lists;
  return first.filter((item) => rest.every((list) => list.includes(item)));
}

function violation(field: string, rule: string, message: string): Problem {
  return { reason: 'GuardrailViolation', field, rule, message };
}

export interface GuardrailInputs {
  spec: ClaimSpec;
  grants: Grant[];
  config: PlatformConfig;
  guardrail: EffectiveGuardrail;
}

export function checkGuardrails({ spec, grants, config, guardrail }: GuardrailInputs): Problem[] {
  return [
    ...checkAccounts(spec, config, guardrail),
    ...checkSessionDuration(spec, config),
    ...checkGrants(grants, guardrail),
    ...checkManagedPolicies(spec, guardrail),
    ...checkRawStatementsAllowed(spec, guardrail),
  ];
}

function checkAccounts(spec: ClaimSpec, config: PlatformConfig, g: EffectiveGuardrail): Problem[] {
  const problems: Problem[] = [];
  const allowed = (account: string) => g.allowedAccounts.includes(account);
  const notAllowed = (account: string) =>
    `account ${account} is not allowed for ${g.source}; allowed accounts: ${g.allowedAccounts.join(', ') || 'none'}`;
  const account = spec.aws.accountId;
  if (!allowed(account)) {
    problems.push(violation('spec.aws.accountId', 'account-allowed', notAllowed(account)));
  } else if (!config.accounts.some((a) => a.accountId === account)) {
    problems.push(
      violation('spec.aws.accountId', 'account-known', `the controller cannot act in account ${account}: it is not in the platform configuration's accounts`),
    );
  }
  // Keys and roles named by ARN may live in other accounts: those must be allowed too.
  spec.permissions.kms?.forEach((entry, i) => {
    const keyAccount = parseArn(entry.key)?.account;
    if (keyAccount && keyAccount !== account && !allowed(keyAccount)) {
      problems.push(violation(`spec.permissions.kms[${i}].key`, 'account-allowed', notAllowed(keyAccount)));
    }
  });
  spec.permissions.assumeRoles?.forEach((entry, i) => {
    const roleAccount = parseArn(entry.roleArn)?.account;
    if (roleAccount && !allowed(roleAccount)) {
      problems.push(violation(`spec.permissions.assumeRoles[${i}].roleArn`, 'account-allowed', notAllowed(roleAccount)));
    }
  });
  return problems;
}

function checkSessionDuration(spec: ClaimSpec, config: PlatformConfig): Problem[] {
  const max = config.roles.maxSessionDurationSeconds;
  if (spec.maxSessionDurationSeconds === undefined || spec.maxSessionDurationSeconds <= max) return [];
  return [
    violation('spec.maxSessionDurationSeconds', 'session-duration', `${spec.maxSessionDurationSeconds} seconds is longer than the platform allows (${max} seconds)`),
  ];
}

function checkGrants(grants: Grant[], g: EffectiveGuardrail): Problem[] {
  const problems: Problem[] = [];
  for (const grant of grants) {
    const services = [...new Set(grant.actions.map(servicePrefix))];
    if (g.allowedServices) {
      for (const service of services.filter((s) => !g.allowedServices!.includes(s))) {
        problems.push(
          violation(grant.field, 'service-allowed', `service ${service} is not allowed for ${g.source}; allowed services: ${g.allowedServices.join(', ') || 'none'}`),
        );
      }
    }
    // A Deny only narrows: forbidden actions and wildcard resources are fine there.
    if (grant.effect === 'Deny') continue;
    grant.actions.forEach((action, j) => {
      const entries = forbiddenEntriesFor(action, g.forbiddenActions);
      if (entries.length) {
        const field = grant.raw ? `${grant.field}.actions[${j}]` : grant.field;
        problems.push(
          violation(field, 'action-forbidden', `action ${action} is forbidden for ${g.source} (forbiddenActions: ${entries.join(', ')})`),
        );
      }
    });
    grant.resources.forEach((resource, j) => {
      const field = grant.raw ? `${grant.field}.resources[${j}]` : grant.field;
      if (grant.raw && wildcardOutsideName(resource)) {
        problems.push(
          violation(field, 'resource-not-wildcard', `resource ${resource} is a wildcard beyond one named resource: name the bucket, table, queue or key, and use a wildcard only below it`),
        );
      }
      const unmatched = g.resourcePatternSets.find((set) => !set.some((p) => globMatch(p, resource)));
      if (unmatched) {
        problems.push(
          violation(field, 'resource-allowed', `resource ${resource} is outside what ${g.source} may use (allowedResourcePatterns: ${unmatched.join(', ')})`),
        );
      }
    });
  }
  return problems;
}

// Services whose resource part starts with the name itself (no "type/" segment).
const NAME_FIRST_SERVICES = new Set(['s3', 'sqs', 'sns']);

/**
 * True when a wildcard reaches into the part of an ARN that names the
 * resource: "*", a wildcard account or service, arn:aws:s3:::*,
 * arn:aws:dynamodb:r:a:table/*. A wildcard below a named resource
 * (arn:aws:s3:::bucket/logs/*, .../table/t/index/*) is fine.
 */
export function wildcardOutsideName(resource: string): boolean {
  const arn = parseArn(resource);
  if (!arn) return hasWildcard(resource);
  if ([arn.partition, arn.service, arn.region, arn.account].some(hasWildcard)) return true;
  const segments = arn.resource.split(/[/:]/);
  const named = NAME_FIRST_SERVICES.has(arn.service) ? 1 : Math.min(2, segments.length);
  return segments.slice(0, named).some((s) => s === '' || hasWildcard(s));
}

function checkManagedPolicies(spec: ClaimSpec, g: EffectiveGuardrail): Problem[] {
  const arns = spec.permissions.managedPolicyArns ?? [];
  if (arns.length === 0) return [];
  if (!g.allowManagedPolicies) {
    return [violation('spec.permissions.managedPolicyArns', 'managed-policies-allowed', `managed policies are not allowed for ${g.source}`)];
  }
  const problems: Problem[] = [];
  arns.forEach((arn, i) => {
    const field = `spec.permissions.managedPolicyArns[${i}]`;
    const unmatched = g.managedPolicyPatternSets.find((set) => !set.some((p) => globMatch(p, arn)));
    if (unmatched) {
      problems.push(
        violation(field, 'managed-policy-allowed', `managed policy ${arn} is not allowed for ${g.source} (allowedManagedPolicyArns: ${unmatched.join(', ')})`),
      );
    }
    const awsManaged = /^arn:[^:]+:iam::aws:policy\/(?:.*\/)?([^/]+)$/.exec(arn)?.[1];
    for (const action of (awsManaged && BROAD_MANAGED_POLICIES[awsManaged]) || []) {
      const entries = forbiddenEntriesFor(action, g.forbiddenActions);
      if (entries.length) {
        problems.push(
          violation(field, 'action-forbidden', `managed policy ${arn} grants ${action}, which is forbidden for ${g.source} (forbiddenActions: ${entries.join(', ')})`),
        );
      }
    }
  });
  return problems;
}

function checkRawStatementsAllowed(spec: ClaimSpec, g: EffectiveGuardrail): Problem[] {
  if (!spec.permissions.rawStatements?.length || g.allowRawStatements) return [];
  return [violation('spec.permissions.rawStatements', 'raw-statements-allowed', `raw statements are not allowed for ${g.source}`)];
}
