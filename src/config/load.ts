// Loading the platform configuration: YAML -> JSON Schema (ajv, with
// defaults) -> semantic checks -> a typed, complete PlatformConfig.

import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import type { ValidateFunction } from 'ajv';
import { createAjv, dedupe, translateAjvErrors, type SchemaIssue } from '../api/ajv.js';
import { eksClusterArn, issuerHostPath, partitionOf } from '../compiler/arn.js';
import { platformConfigSchema } from './schema.js';
import type { OidcIssuerConfig, PlatformConfig } from './types.js';

export class ConfigError extends Error {
  readonly issues: SchemaIssue[];
  constructor(issues: SchemaIssue[], source = 'platform configuration') {
    super(`invalid ${source}:\n${issues.map((i) => `  ${i.field || '(root)'}: ${i.rule}: ${i.message}`).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

let validator: ValidateFunction | undefined;

/** Validates and completes a configuration object (as parsed from YAML). Throws ConfigError. */
export function parsePlatformConfig(input: unknown, source?: string): PlatformConfig {
  validator ??= createAjv({ useDefaults: true }).compile(platformConfigSchema);
  // ajv fills defaults in place: work on a copy so the caller's object is untouched.
  const raw = structuredClone(input ?? {}) as RawConfig;
  if (!validator(raw)) {
    throw new ConfigError(translateAjvErrors(validator.errors).map(({ field, rule, message }) => ({ field, rule, message })), source);
  }
  const issues = semanticIssues(raw);
  if (issues.length) throw new ConfigError(issues, source);
  return complete(raw);
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
  });
  return dedupe(issues);
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
