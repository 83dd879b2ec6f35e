// Guardrails: what the platform lets a namespace claim.
//
// Every guardrail whose namespace patterns match applies, and the strictest
// answer wins (accounts, regions, services, resource and role patterns
// intersect; managed policies, raw statements and wildcard actions need every
// match to allow them; forbidden actions and pins add up). So adding a
// guardrail can only narrow what a namespace may do, and the order of the
// list does not matter.
//
// The platform config is the only source of a namespace's reach: every
// resource a grant reaches must match a pattern of every applying guardrail
// (placeholders such as {namespace} expanded for the claim), roles to assume
// must match allowedAssumeRoleArns, and a namespace that matches no guardrail
// reaches no resource at all (DEFAULT guardrail below).
//
// Rules that hold whatever the config says: IAM and STS writes are never
// granted (sts:AssumeRole only through assumeRoles and its allow-list); a
// raw resource with a wildcard anywhere is refused; every ARN a claim names
// must be in an allowed account and in the cluster's partition; the claim's
// region must exist in that partition; strings that go into the policy must
// be characters IAM accepts.

import { forbiddenEntriesFor, isIamOrStsWrite, servicePrefix } from './actions.js';
import { parseArn, partitionOf } from './arn.js';
import { globCovers, globMatch, hasWildcard } from './glob.js';
import { ecrRepositoryArn } from './intents/ecr.js';
import type { Grant } from './intents/index.js';
import { isKnownRegion } from './regions.js';
import { unscopedGrantVerdict } from './unscoped-actions.js';
import type { ClaimSpec } from '../api/types.js';
import type { PlatformConfig, ValuePinConfig } from '../config/types.js';
import type { Problem } from './types.js';

/** Forbidden actions of a namespace that matches no guardrail (it reaches no resource either). */
export const DEFAULT_FORBIDDEN_ACTIONS = ['iam:*', 'sts:*', 'organizations:*', 'account:*'];

/**
 * AWS-managed policies whose grants are known, by lower-case name (IAM policy
 * names are case-insensitive): refused where what they grant is refused.
 * A Map, so that a name such as "constructor" finds nothing instead of a
 * property of Object.prototype.
 */
export const BROAD_MANAGED_POLICIES: ReadonlyMap<string, readonly string[]> = new Map(
  Object.entries({
    AdministratorAccess: ['*'],
    'AdministratorAccess-Amplify': ['*'],
    'AdministratorAccess-AWSElasticBeanstalk': ['*'],
    PowerUserAccess: ['*'],
    IAMFullAccess: ['iam:*'],
    IAMUserChangePassword: ['iam:ChangePassword'],
    AmazonS3FullAccess: ['s3:*'],
    AmazonSQSFullAccess: ['sqs:*'],
    AmazonSNSFullAccess: ['sns:*'],
    AmazonDynamoDBFullAccess: ['dynamodb:*'],
    SecretsManagerReadWrite: ['secretsmanager:*'],
    AmazonSSMFullAccess: ['ssm:*'],
    AWSKeyManagementServicePowerUser: ['kms:*'],
    AWSOrganizationsFullAccess: ['organizations:*'],
    AmazonEC2FullAccess: ['ec2:*'],
    AWSLambda_FullAccess: ['lambda:*'],
    AmazonEKSClusterPolicy: ['eks:*'],
  }).map(([name, actions]) => [name.toLowerCase(), actions]),
);

/** Values the placeholders of resource patterns, role patterns and pins take for one claim. */
export interface PlaceholderValues {
  namespace: string;
  cluster: string;
  account: string;
  region: string;
  partition: string;
}

export function expandPlaceholders(pattern: string, values: PlaceholderValues): string {
  return pattern.replace(/\{(namespace|cluster|account|region|partition)\}/g, (_, key: keyof PlaceholderValues) => values[key]);
}

export interface EffectiveGuardrail {
  /** For messages: which guardrails apply, e.g. `namespaces matching *-prod (guardrails[0])`. */
  source: string;
  /** True when no guardrail matches the namespace. */
  isDefault: boolean;
  allowedAccounts: string[];
  /** Undefined: every region of the cluster's partition. */
  allowedRegions?: string[];
  /** Undefined: every service. */
  allowedServices?: string[];
  /** Each set comes from one guardrail (its patterns and the shared resources of this namespace); a resource must match a pattern of every set. Unexpanded. */
  resourcePatternSets: string[][];
  /** Each set comes from one guardrail; an empty set (a guardrail without allowedAssumeRoleArns) allows no role. */
  assumeRolePatternSets: string[][];
  allowManagedPolicies: boolean;
  managedPolicyPatternSets: string[][];
  allowRawStatements: boolean;
  allowWildcardActions: boolean;
  /** Association session policies (which turn session tags off): every guardrail must allow. */
  allowSessionPolicies: boolean;
  forbiddenActions: string[];
  ownerPins: ValuePinConfig[];
  environmentPins: ValuePinConfig[];
}

export function effectiveGuardrail(namespace: string, config: PlatformConfig): EffectiveGuardrail {
  const matches = config.guardrails
    .map((guardrail, index) => ({ guardrail, index, patterns: guardrail.namespaces.filter((p) => globMatch(p, namespace)) }))
    .filter((m) => m.patterns.length > 0);
  if (matches.length === 0) {
    return {
      source: `namespace ${namespace} (it matches no guardrail, so the defaults apply: no resource, no role to assume)`,
      isDefault: true,
      allowedAccounts: config.accounts.map((a) => a.accountId),
      resourcePatternSets: [[]],
      assumeRolePatternSets: [[]],
      allowManagedPolicies: false,
      managedPolicyPatternSets: [],
      allowRawStatements: false,
      allowWildcardActions: false,
      allowSessionPolicies: false,
      forbiddenActions: DEFAULT_FORBIDDEN_ACTIONS,
      ownerPins: [],
      environmentPins: [],
    };
  }
  const guardrails = matches.map((m) => m.guardrail);
  const serviceLists = guardrails.flatMap((g) => (g.allowedServices ? [g.allowedServices] : []));
  const regionLists = guardrails.flatMap((g) => (g.allowedRegions ? [g.allowedRegions] : []));
  return {
    source: `namespaces matching ${matches.map((m) => `${m.patterns.join(', ')} (guardrails[${m.index}])`).join(' and ')}`,
    isDefault: false,
    allowedAccounts: intersect(guardrails.map((g) => g.allowedAccounts)),
    ...(regionLists.length ? { allowedRegions: intersect(regionLists) } : {}),
    ...(serviceLists.length ? { allowedServices: intersect(serviceLists) } : {}),
    resourcePatternSets: guardrails.map((g) => [
      ...g.allowedResourcePatterns,
      ...(g.sharedResources ?? []).filter((s) => s.namespaces.some((p) => globMatch(p, namespace))).flatMap((s) => s.resourcePatterns),
    ]),
    assumeRolePatternSets: guardrails.map((g) => g.allowedAssumeRoleArns ?? []),
    allowManagedPolicies: guardrails.every((g) => g.allowManagedPolicies),
    managedPolicyPatternSets: guardrails.flatMap((g) => (g.allowManagedPolicies ? [g.allowedManagedPolicyArns ?? []] : [])),
    allowRawStatements: guardrails.every((g) => g.allowRawStatements),
    allowWildcardActions: guardrails.every((g) => g.allowWildcardActions),
    allowSessionPolicies: guardrails.every((g) => g.allowSessionPolicies),
    forbiddenActions: [...new Set(guardrails.flatMap((g) => g.forbiddenActions))],
    ownerPins: guardrails.flatMap((g) => (g.owner ? [g.owner] : [])),
    environmentPins: guardrails.flatMap((g) => (g.environment ? [g.environment] : [])),
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
  /** The claim's namespace and what the placeholders stand for. */
  values: PlaceholderValues;
  /** Labels of the claim's namespace; undefined when the caller could not read them (offline validation). */
  namespaceLabels?: Readonly<Record<string, string>>;
}

export function checkGuardrails(input: GuardrailInputs): Problem[] {
  const { spec, grants, config, guardrail } = input;
  return [
    ...checkRegion(spec, config, guardrail),
    ...checkAccounts(spec, config, guardrail),
    ...checkNamedArns(spec, grants, config, guardrail),
    ...checkSessionDuration(spec, config),
    ...checkPolicyCharacters(spec),
    ...checkGrants(grants, guardrail, input.values),
    ...checkManagedPolicies(spec, guardrail, input.values),
    ...checkRawStatementsAllowed(spec, guardrail),
    ...checkMetricNamespaces(spec),
    ...checkPins('owner', spec.owner, guardrail.ownerPins, input),
    ...checkPins('environment', spec.environment, guardrail.environmentPins, input),
  ];
}

// --- where: region, partition, accounts ---------------------------------------

function checkRegion(spec: ClaimSpec, config: PlatformConfig, g: EffectiveGuardrail): Problem[] {
  const region = spec.aws.region;
  const field = 'spec.aws.region';
  const clusterPartition = config.cluster.partition;
  if (partitionOf(region) !== clusterPartition) {
    return [
      violation(
        field,
        'region-partition',
        `region ${region} is in partition ${partitionOf(region)}, but the cluster ${config.cluster.name} is in ${clusterPartition}: a role there cannot be bound to this cluster`,
      ),
    ];
  }
  if (g.allowedRegions) {
    if (!g.allowedRegions.includes(region)) {
      return [violation(field, 'region-allowed', `region ${region} is not allowed for ${g.source}; allowed regions: ${g.allowedRegions.join(', ') || 'none'}`)];
    }
    return [];
  }
  if (!isKnownRegion(clusterPartition, region)) {
    return [
      violation(field, 'region-unknown', `region ${region} is not a region of partition ${clusterPartition}; a platform team may list a new region in the guardrail's allowedRegions`),
    ];
  }
  return [];
}

function notAllowedAccount(account: string, g: EffectiveGuardrail): string {
  return `account ${account} is not allowed for ${g.source}; allowed accounts: ${g.allowedAccounts.join(', ') || 'none'}`;
}

function checkAccounts(spec: ClaimSpec, config: PlatformConfig, g: EffectiveGuardrail): Problem[] {
  const account = spec.aws.accountId;
  if (!g.allowedAccounts.includes(account)) return [violation('spec.aws.accountId', 'account-allowed', notAllowedAccount(account, g))];
  if (!config.accounts.some((a) => a.accountId === account)) {
    return [
      violation('spec.aws.accountId', 'account-known', `the controller cannot act in account ${account}: it is not in the platform configuration's accounts`),
    ];
  }
  return [];
}

/** Every ARN the claim names itself (KMS keys, ECR repositories of another registry, roles to assume, raw resources, managed policies): account, partition, region. */
function checkNamedArns(spec: ClaimSpec, grants: Grant[], config: PlatformConfig, g: EffectiveGuardrail): Problem[] {
  const named: { field: string; arn: string }[] = [];
  spec.permissions.kms?.forEach((entry, i) => {
    if (entry.key.startsWith('arn:')) named.push({ field: `spec.permissions.kms[${i}].key`, arn: entry.key });
  });
  spec.permissions.ecrPull?.forEach((entry, i) => {
    if (entry.registryAccountId === undefined) return; // the claim's own account, checked as spec.aws.accountId
    const ctx = { partition: partitionOf(spec.aws.region), accountId: spec.aws.accountId, region: spec.aws.region };
    named.push({ field: `spec.permissions.ecrPull[${i}].registryAccountId`, arn: ecrRepositoryArn(entry, ctx) });
  });
  spec.permissions.assumeRoles?.forEach((entry, i) => named.push({ field: `spec.permissions.assumeRoles[${i}].roleArn`, arn: entry.roleArn }));
  for (const grant of grants) {
    if (!grant.raw || grant.effect === 'Deny') continue; // a Deny only narrows
    grant.resources.forEach((arn, j) => named.push({ field: `${grant.field}.resources[${j}]`, arn }));
  }
  spec.permissions.managedPolicyArns?.forEach((arn, i) => named.push({ field: `spec.permissions.managedPolicyArns[${i}]`, arn }));

  const problems: Problem[] = [];
  for (const { field, arn } of named) {
    const parsed = parseArn(arn);
    if (!parsed) continue; // "*" and other non-ARNs: the wildcard rule refuses them
    if (parsed.partition !== config.cluster.partition) {
      problems.push(violation(field, 'arn-partition', `${arn} is in partition ${parsed.partition || '(none)'}, not the cluster's partition ${config.cluster.partition}`));
    }
    const awsManagedPolicy = parsed.service === 'iam' && parsed.account === 'aws' && parsed.resource.startsWith('policy/');
    if (parsed.account !== '' && !awsManagedPolicy && !g.allowedAccounts.includes(parsed.account)) {
      problems.push(violation(field, 'account-allowed', notAllowedAccount(parsed.account, g)));
    }
    if (parsed.region !== '' && !hasWildcard(parsed.region) && parsed.partition === config.cluster.partition) {
      if (g.allowedRegions ? !g.allowedRegions.includes(parsed.region) : !isKnownRegion(config.cluster.partition, parsed.region)) {
        problems.push(
          violation(field, g.allowedRegions ? 'region-allowed' : 'region-unknown', `${arn} names region ${parsed.region}, which is not ${g.allowedRegions ? `allowed for ${g.source}` : `a region of partition ${config.cluster.partition}`}`),
        );
      }
    }
  }
  return problems;
}

function checkSessionDuration(spec: ClaimSpec, config: PlatformConfig): Problem[] {
  const max = config.roles.maxSessionDurationSeconds;
  if (spec.maxSessionDurationSeconds === undefined || spec.maxSessionDurationSeconds <= max) return [];
  return [
    violation('spec.maxSessionDurationSeconds', 'session-duration', `${spec.maxSessionDurationSeconds} seconds is longer than the platform allows (${max} seconds)`),
  ];
}

// --- characters ------------------------------------------------------------------

/**
 * IAM accepts in a policy document only tab, line feed, carriage return and
 * the characters U+0020 to U+00FF (IAM User Guide, "IAM JSON policy grammar":
 * policy character set). Anything else is refused here, naming the
 * character, instead of by IAM on every retry.
 */
export function outsideIamCharacters(value: string): string | undefined {
  for (const c of value) {
    const code = c.codePointAt(0)!;
    if (code === 0x09 || code === 0x0a || code === 0x0d || (code >= 0x20 && code <= 0xff)) continue;
    return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  return undefined;
}

function checkPolicyCharacters(spec: ClaimSpec): Problem[] {
  const strings: { field: string; value: string }[] = [];
  const p = spec.permissions;
  p.s3?.forEach((e, i) => {
    strings.push({ field: `spec.permissions.s3[${i}].bucket`, value: e.bucket });
    if (e.prefix !== undefined) strings.push({ field: `spec.permissions.s3[${i}].prefix`, value: e.prefix });
  });
  p.sqs?.forEach((e, i) => strings.push({ field: `spec.permissions.sqs[${i}].queue`, value: e.queue }));
  p.sns?.forEach((e, i) => strings.push({ field: `spec.permissions.sns[${i}].topic`, value: e.topic }));
  p.dynamodb?.forEach((e, i) => strings.push({ field: `spec.permissions.dynamodb[${i}].table`, value: e.table }));
  p.secretsManager?.forEach((e, i) => {
    if (e.name !== undefined) strings.push({ field: `spec.permissions.secretsManager[${i}].name`, value: e.name });
    if (e.namePrefix !== undefined) strings.push({ field: `spec.permissions.secretsManager[${i}].namePrefix`, value: e.namePrefix });
  });
  p.ssmParameters?.forEach((e, i) => strings.push({ field: `spec.permissions.ssmParameters[${i}].path`, value: e.path }));
  p.ecrPull?.forEach((e, i) => strings.push({ field: `spec.permissions.ecrPull[${i}].repository`, value: e.repository }));
  p.assumeRoles?.forEach((e, i) => {
    if (e.externalId !== undefined) strings.push({ field: `spec.permissions.assumeRoles[${i}].externalId`, value: e.externalId });
  });
  p.rawStatements?.forEach((s, i) => {
    const base = `spec.permissions.rawStatements[${i}]`;
    s.actions.forEach((a, j) => strings.push({ field: `${base}.actions[${j}]`, value: a }));
    s.resources.forEach((r, j) => strings.push({ field: `${base}.resources[${j}]`, value: r }));
    for (const [operator, block] of Object.entries(s.conditions ?? {})) {
      for (const [key, values] of Object.entries(block)) {
        strings.push({ field: `${base}.conditions.${operator}`, value: key });
        values.forEach((v) => strings.push({ field: `${base}.conditions.${operator}[${JSON.stringify(key)}]`, value: v }));
      }
    }
  });
  const problems: Problem[] = [];
  for (const { field, value } of strings) {
    const bad = outsideIamCharacters(value);
    if (bad) {
      problems.push({
        reason: 'InvalidSpec',
        field,
        rule: 'iam-policy-characters',
        message: `contains ${bad}; IAM policies accept only tab, line feed, carriage return and the characters U+0020 to U+00FF`,
      });
    }
  }
  return problems;
}

// --- what: actions and resources -----------------------------------------------

function checkGrants(grants: Grant[], g: EffectiveGuardrail, values: PlaceholderValues): Problem[] {
  const problems: Problem[] = [];
  const resourceSets = g.resourcePatternSets.map((set) => set.map((p) => expandPlaceholders(p, values)));
  const roleSets = g.assumeRolePatternSets.map((set) => set.map((p) => expandPlaceholders(p, values)));
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
      const field = grant.raw ? `${grant.field}.actions[${j}]` : grant.field;
      const entries = forbiddenEntriesFor(action, g.forbiddenActions);
      if (entries.length) {
        problems.push(violation(field, 'action-forbidden', `action ${action} is forbidden for ${g.source} (forbiddenActions: ${entries.join(', ')})`));
      }
      if (hasWildcard(action) && !g.allowWildcardActions) {
        problems.push(violation(field, 'action-not-wildcard', `action ${action} is a pattern; name the actions (allowWildcardActions is off for ${g.source})`));
      }
      if (!grant.assumeRole && isIamOrStsWrite(action)) {
        problems.push(
          violation(field, 'iam-sts-write', `action ${action} changes identities or mints credentials (an IAM or STS write): awi never grants it; to chain into a role use spec.permissions.assumeRoles`),
        );
      }
    });
    // A few actions exist only on "*" (unscoped-actions.ts): such a grant reaches no named resource, so no pattern applies.
    const unscoped = grant.resources.includes('*') ? unscopedGrantVerdict(grant.actions, grant.resources, grant.condition) : undefined;
    if (unscoped?.ok) continue;
    grant.resources.forEach((resource, j) => {
      if (grant.raw && (hasWildcard(resource) || !parseArn(resource))) {
        const why = resource === '*' && unscoped?.why ? `: ${unscoped.why}` : '';
        problems.push(
          violation(`${grant.field}.resources[${j}]`, 'resource-not-wildcard', `resource ${resource} is not one named resource: a raw statement names each resource in full, without "*" or "?" anywhere${why}`),
        );
      }
    });
    if (grant.assumeRole) {
      problems.push(...checkAssumeRole(grant, roleSets, g));
      continue;
    }
    (grant.reach ?? grant.resources).forEach((resource, j) => {
      const field = grant.raw ? `${grant.field}.resources[${j}]` : grant.field;
      const unmatched = resourceSets.find((set) => !set.some((p) => globCovers(p, resource)));
      if (unmatched) {
        problems.push(
          violation(
            field,
            'resource-allowed',
            g.isDefault
              ? `resource ${resource} is outside what ${g.source} may reach`
              : `resource ${resource} is outside what ${g.source} may reach (allowedResourcePatterns for ${values.namespace}: ${unmatched.join(', ') || 'none'})`,
          ),
        );
      }
    });
  }
  return problems;
}

function checkAssumeRole(grant: Grant, roleSets: string[][], g: EffectiveGuardrail): Problem[] {
  const field = `${grant.field}.roleArn`;
  const problems: Problem[] = [];
  for (const roleArn of grant.resources) {
    const unmatched = roleSets.find((set) => !set.some((p) => globCovers(p, roleArn)));
    if (unmatched) {
      problems.push(
        violation(
          field,
          'assume-role-allowed',
          `role ${roleArn} is not one ${g.source} may assume (allowedAssumeRoleArns: ${unmatched.join(', ') || 'none: the platform lists the roles a namespace may chain into'})`,
        ),
      );
    }
  }
  return problems;
}

// --- managed policies and raw statements -------------------------------------------

function checkManagedPolicies(spec: ClaimSpec, g: EffectiveGuardrail, values: PlaceholderValues): Problem[] {
  const arns = spec.permissions.managedPolicyArns ?? [];
  if (arns.length === 0) return [];
  if (!g.allowManagedPolicies) {
    return [violation('spec.permissions.managedPolicyArns', 'managed-policies-allowed', `managed policies are not allowed for ${g.source}`)];
  }
  const sets = g.managedPolicyPatternSets.map((set) => set.map((p) => expandPlaceholders(p, values)));
  const problems: Problem[] = [];
  arns.forEach((arn, i) => {
    const field = `spec.permissions.managedPolicyArns[${i}]`;
    // Case-insensitive, as IAM compares policy names; an empty list allows none.
    const unmatched = sets.find((set) => !set.some((p) => globMatch(p, arn, true)));
    if (unmatched || sets.length === 0) {
      problems.push(
        violation(field, 'managed-policy-allowed', `managed policy ${arn} is not allowed for ${g.source} (allowedManagedPolicyArns: ${(unmatched ?? []).join(', ') || 'none'})`),
      );
    }
    const awsManaged = /^arn:[^:]+:iam::aws:policy\/(?:.*\/)?([^/]+)$/.exec(arn)?.[1];
    const grants = awsManaged ? BROAD_MANAGED_POLICIES.get(awsManaged.toLowerCase()) ?? [] : [];
    for (const action of grants) {
      const entries = forbiddenEntriesFor(action, g.forbiddenActions);
      if (isIamOrStsWrite(action)) {
        problems.push(violation(field, 'iam-sts-write', `managed policy ${arn} grants ${action}, which includes IAM or STS writes: awi never grants them`));
      } else if (entries.length) {
        problems.push(
          violation(field, 'action-forbidden', `managed policy ${arn} grants ${action}, which is forbidden for ${g.source} (forbiddenActions: ${entries.join(', ')})`),
        );
      } else if (hasWildcard(action) && !g.allowWildcardActions) {
        problems.push(violation(field, 'action-not-wildcard', `managed policy ${arn} grants ${action} on every resource (allowWildcardActions is off for ${g.source})`));
      }
    }
  });
  return problems;
}

/** CloudWatch reserves namespaces starting with "AWS/" for AWS services: publishing there is refused by CloudWatch. */
function checkMetricNamespaces(spec: ClaimSpec): Problem[] {
  const problems: Problem[] = [];
  spec.permissions.cloudwatchMetrics?.forEach((entry, i) => {
    if (/^aws\//i.test(entry.namespace)) {
      problems.push({
        reason: 'InvalidSpec',
        field: `spec.permissions.cloudwatchMetrics[${i}].namespace`,
        rule: 'metric-namespace-reserved',
        message: `namespace ${entry.namespace} starts with "AWS/", which CloudWatch reserves for AWS services; choose your own namespace`,
      });
    }
  });
  return problems;
}

function checkRawStatementsAllowed(spec: ClaimSpec, g: EffectiveGuardrail): Problem[] {
  if (!spec.permissions.rawStatements?.length || g.allowRawStatements) return [];
  return [violation('spec.permissions.rawStatements', 'raw-statements-allowed', `raw statements are not allowed for ${g.source}`)];
}

// --- pinned tags -------------------------------------------------------------------

function checkPins(name: 'owner' | 'environment', value: string, pins: ValuePinConfig[], input: GuardrailInputs): Problem[] {
  const field = `spec.${name}`;
  const rule = `${name}-pinned`;
  const problems: Problem[] = [];
  for (const pin of pins) {
    if (pin.allowed) {
      const allowed = pin.allowed.map((v) => expandPlaceholders(v, input.values));
      if (!allowed.includes(value)) {
        problems.push(violation(field, rule, `${name} "${value}" is not allowed for ${input.guardrail.source}; allowed: ${allowed.join(', ')}`));
      }
    } else if (pin.fromNamespaceLabel) {
      const label = pin.fromNamespaceLabel;
      const labels = input.namespaceLabels;
      const expected = labels && Object.hasOwn(labels, label) ? labels[label] : undefined;
      if (!labels) {
        problems.push(violation(field, rule, `${name} must equal the label ${label} of namespace ${input.values.namespace}, and its labels were not available to check it`));
      } else if (expected === undefined) {
        problems.push(violation(field, rule, `${name} is taken from the label ${label} of namespace ${input.values.namespace}, which the namespace does not carry: ask the platform team to label it`));
      } else if (expected !== value) {
        problems.push(violation(field, rule, `${name} must be "${expected}" (label ${label} of namespace ${input.values.namespace}), not "${value}"`));
      }
    }
  }
  return problems;
}
