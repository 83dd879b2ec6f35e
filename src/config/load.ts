// Loading the platform configuration: YAML -> JSON Schema (ajv, with
// defaults) -> semantic checks -> a typed, complete PlatformConfig.

import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { dedupe, translateAjvErrors, type SchemaIssue } from '../api/ajv.js';
import { validateConfigSchema as validator } from '../api/validators.js';
import { eksClusterArn, issuerHostPath, partitionOf } from '../compiler/arn.js';
import { policySize } from '../compiler/canonical.js';
import { trustPolicy } from '../compiler/trust.js';
import type { OidcIssuerConfig, PlatformConfig } from './types.js';

export class ConfigError extends Error {
  readonly issues: SchemaIssue[];
  constructor(issues: SchemaIssue[], source = 'platform configuration') {
    super(`invalid ${source}:\n${issues.map((i) => `  ${i.field || '(root)'}: ${i.rule}: ${i.message}`).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** Validates and completes a configuration object (as parsed from YAML). Throws ConfigError. */
export function parsePlatformConfig(input: unknown, source?: string): PlatformConfig {
  // ajv fills defaults in place: work on a copy so the caller's object is untouched.
  const raw = structuredClone(input ?? {}) as RawConfig;
  if (!validator(raw)) {
    throw new ConfigError(translateAjvErrors(validator.errors).map(({ field, rule, message }) => ({ field, rule, message })), source);
  }
  const issues = semanticIssues(raw);
  if (issues.length) throw new ConfigError(issues, source);
  const config = complete(raw);
  const trust = trustFitIssue(config);
  if (trust) throw new ConfigError([trust], source);
  return config;
}

/** Reads a YAML (or JSON) file. Throws ConfigError for unreadable, unparsable or invalid files. */
export function loadPlatformConfig(path: string): PlatformConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([{ field: '', rule: 'readable', message: (err as Error).message }], path);
  }
  const doc = YAML.parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length) {
    throw new ConfigError(
      doc.errors.map((e) => ({ field: '', rule: 'yaml', message: e.message.split('\n')[0] ?? e.message })),
      path,
    );
  }
  return parsePlatformConfig(doc.toJS(), path);
}

// The shape ajv guarantees after defaulting.
interface RawConfig {
  cluster: { name: string; accountId: string; region: string; oidcIssuer?: string; oidcIssuers?: { url: string; providerArn?: string }[] };
  defaults: PlatformConfig['defaults'];
  roles: PlatformConfig['roles'];
  accounts?: PlatformConfig['accounts'];
  guardrails: PlatformConfig['guardrails'];
  limits: PlatformConfig['limits'];
  controller: PlatformConfig['controller'];
}

function semanticIssues(raw: RawConfig): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  const template = raw.roles.nameTemplate;
  if (!template.includes('{namespace}') || !(template.includes('{serviceAccount}') || template.includes('{claim}'))) {
    issues.push({
      field: 'roles.nameTemplate',
      rule: 'template-placeholders',
      message: 'must contain {namespace} and {serviceAccount} or {claim}, or two claims would share a role',
    });
  }
  for (const key of Object.keys(raw.roles.tags)) {
    const field = `roles.tags[${JSON.stringify(key)}]`;
    if (/^aws:/i.test(key) || key.startsWith('awi.dev/')) {
      issues.push({ field, rule: 'reserved-tag-key', message: 'tag keys starting with aws: or awi.dev/ are reserved' });
    } else if (!/^[\p{L}\p{Z}\p{N}_.:/=+@-]{1,128}$/u.test(key)) {
      issues.push({ field, rule: 'tag-key', message: 'must be a tag key: 1-128 letters, digits, spaces and _.:/=+@-' });
    }
  }
  (raw.cluster.oidcIssuers ?? []).forEach((issuer, i) => {
    if (issuer.providerArn && !issuer.providerArn.endsWith(`:oidc-provider/${issuerHostPath(issuer.url)}`)) {
      issues.push({
        field: `cluster.oidcIssuers[${i}].providerArn`,
        rule: 'provider-matches-issuer',
        message: `must end with :oidc-provider/${issuerHostPath(issuer.url)}`,
      });
    }
  });
  const seenAccounts = new Set<string>();
  (raw.accounts ?? []).forEach((account, i) => {
    if (seenAccounts.has(account.accountId)) {
      issues.push({ field: `accounts[${i}].accountId`, rule: 'duplicate', message: `account ${account.accountId} is listed twice` });
    }
    seenAccounts.add(account.accountId);
    // Without a role to assume, the controller's own credentials would create the
    // role in the cluster's account while status names the other one.
    if (account.accountId !== raw.cluster.accountId && !account.assumeRoleArn) {
      issues.push({
        field: `accounts[${i}].assumeRoleArn`,
        rule: 'assume-role-required',
        message: `account ${account.accountId} is not the cluster's account ${raw.cluster.accountId}: name the role the controller assumes there (see deploy/aws/README.md)`,
      });
    }
  });
  raw.guardrails.forEach((guardrail, i) => issues.push(...guardrailIssues(guardrail, `guardrails[${i}]`)));
  return dedupe(issues);
}

// Characters a namespace name can contain: a wildcard next to {namespace}
// with only these in between could reach into another namespace's names
// ("{namespace}-*" for namespace "team" matches "team-admin-...").
const NAMESPACE_CHAR = /[a-z0-9-]/;

/** Why a pattern's {namespace} is not delimited from its wildcards, or undefined. */
export function namespacePlaceholderAmbiguity(pattern: string): string | undefined {
  const marker = '{namespace}';
  for (let at = pattern.indexOf(marker); at >= 0; at = pattern.indexOf(marker, at + 1)) {
    // The runs of namespace characters right after and right before the placeholder, and what ends them.
    let end = at + marker.length;
    while (end < pattern.length && NAMESPACE_CHAR.test(pattern[end]!)) end++;
    let start = at;
    while (start > 0 && NAMESPACE_CHAR.test(pattern[start - 1]!)) start--;
    const runAfter = pattern.slice(at + marker.length, end);
    const runBefore = pattern.slice(start, at);
    if (pattern[end] === '*' || pattern[end] === '?') {
      return `a wildcard follows {namespace}${runAfter ? ` after "${runAfter}"` : ''} with only characters a namespace name may contain in between, so namespace "team" would reach the names of namespace "team-x"; put a character no namespace name contains right after it (/ _ . : or an upper-case letter), e.g. {namespace}_* or {namespace}/*`;
    }
    if (pattern[start - 1] === '*' || pattern[start - 1] === '?') {
      return `a wildcard precedes {namespace}${runBefore ? ` before "${runBefore}"` : ''} with only characters a namespace name may contain in between, so namespace "x" would reach the names of namespace "team-x"; put a character no namespace name contains right before it`;
    }
  }
  return undefined;
}

function guardrailIssues(guardrail: RawConfig['guardrails'][number], at: string): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  const patternIssues = (patterns: string[] | undefined, field: string) =>
    (patterns ?? []).forEach((pattern, j) => {
      const why = namespacePlaceholderAmbiguity(pattern);
      if (why) issues.push({ field: `${field}[${j}]`, rule: 'namespace-placeholder-delimited', message: why });
    });
  patternIssues(guardrail.allowedResourcePatterns, `${at}.allowedResourcePatterns`);
  guardrail.sharedResources?.forEach((shared, k) => patternIssues(shared.resourcePatterns, `${at}.sharedResources[${k}].resourcePatterns`));
  patternIssues(guardrail.allowedAssumeRoleArns, `${at}.allowedAssumeRoleArns`);
  if (guardrail.allowManagedPolicies && !guardrail.allowedManagedPolicyArns?.length) {
    issues.push({
      field: `${at}.allowedManagedPolicyArns`,
      rule: 'required-with-managed-policies',
      message: 'allowManagedPolicies needs the list of managed policy ARNs (or ARN globs) a claim may attach: any policy would include AdministratorAccess',
    });
  }
  guardrail.forbiddenActions.forEach((action, j) => {
    if (action === '*') {
      issues.push({
        field: `${at}.forbiddenActions[${j}]`,
        rule: 'forbids-everything',
        message: '"*" forbids every action (an entry forbids every action it matches); wildcard grants are refused by allowWildcardActions: false, the default',
      });
    }
  });
  return issues;
}

/**
 * The trust policy of a claim with a short namespace and ServiceAccount
 * (one character each) trusting every configured issuer, alone and during a
 * mechanism switch (Pod Identity as well): when even that does not fit
 * limits.trustPolicyMaxChars, no IRSA claim (or no switch) could ever work.
 * The message says how many issuers fit. Longer names are the compiler's
 * per-claim trust-policy-size check.
 */
function trustFitIssue(config: PlatformConfig): SchemaIssue | undefined {
  const issuers = config.cluster.oidcIssuers;
  if (issuers.length === 0) return undefined;
  const max = config.limits.trustPolicyMaxChars;
  const sizeWith = (count: number, dual: boolean) => {
    const trimmed = { ...config, cluster: { ...config.cluster, oidcIssuers: issuers.slice(0, count) } };
    const input = { config: trimmed, accountId: config.cluster.accountId, partition: config.cluster.partition, namespace: 'n', serviceAccount: 's' };
    return policySize(trustPolicy(dual ? ['IRSA', 'PodIdentity'] : ['IRSA'], input));
  };
  const fitting = (dual: boolean) => {
    let count = 0;
    while (count < issuers.length && sizeWith(count + 1, dual) <= max) count++;
    return count;
  };
  const single = sizeWith(issuers.length, false);
  const dual = sizeWith(issuers.length, true);
  if (dual <= max) return undefined;
  const n = (x: number) => x.toLocaleString('en-US');
  return {
    field: 'cluster.oidcIssuers',
    rule: 'trust-policy-fits',
    message:
      single > max
        ? `${issuers.length} issuers make a trust policy of at least ${n(single)} characters, over limits.trustPolicyMaxChars ${n(max)}: at most ${fitting(false)} issuers fit (${fitting(true)} during a mechanism switch, which trusts Pod Identity too); trust fewer issuers or raise the quota (at most 4,096)`
        : `${issuers.length} issuers fit a trust policy (${n(single)} characters) but not the dual trust of a mechanism switch (${n(dual)} characters, over limits.trustPolicyMaxChars ${n(max)}): at most ${fitting(true)} issuers fit during a switch; trust fewer issuers or raise the quota (at most 4,096)`,
  };
}

function complete(raw: RawConfig): PlatformConfig {
  const { name, accountId, region } = raw.cluster;
  const partition = partitionOf(region);
  const issuers = new Map<string, OidcIssuerConfig>();
  const addIssuer = (url: string, providerArn?: string) => {
    const hostPath = issuerHostPath(url);
    if (!issuers.has(hostPath)) issuers.set(hostPath, { url, hostPath, ...(providerArn ? { providerArn } : {}) });
  };
  if (raw.cluster.oidcIssuer) addIssuer(raw.cluster.oidcIssuer);
  for (const issuer of raw.cluster.oidcIssuers ?? []) addIssuer(issuer.url, issuer.providerArn);

  return {
    cluster: { name, accountId, region, partition, arn: eksClusterArn(partition, region, accountId, name), oidcIssuers: [...issuers.values()] },
    defaults: raw.defaults,
    roles: raw.roles,
    accounts: raw.accounts && raw.accounts.length ? raw.accounts : [{ accountId }],
    guardrails: raw.guardrails,
    limits: raw.limits,
    controller: raw.controller,
  };
}
