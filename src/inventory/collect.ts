// Gathers what the inventory shows: claims from the cluster and, with --aws,
// the live state of their roles (tags, trust, permission policies), their
// bindings (every field of the association, or the ServiceAccount), the IRSA
// OIDC providers (once per provider), every ServiceAccount annotated with a
// role and every association on the cluster, and every role under the awi
// path. Reads only. The sources are an interface so the gathering logic can
// be tested without servers.
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { DescribePodIdentityAssociationCommand, type EKSClient, ListPodIdentityAssociationsCommand } from '@aws-sdk/client-eks';
import {
  GetOpenIDConnectProviderCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  type IAMClient,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  ListRolesCommand,
  ListRoleTagsCommand,
} from '@aws-sdk/client-iam';
import type { AwsWorkloadIdentityClaim } from '../api/types.js';
import { AwsClientFactory } from '../aws/clients.js';
import { awsErrorMessage, isNotFound } from '../aws/errors.js';
import { parseArn } from '../compiler/arn.js';
import type { PlatformConfig } from '../config/types.js';
import { ClaimClient } from '../kube/claims.js';
import { isKubeNotFound } from '../kube/errors.js';
import {
  checkClaim,
  claimRow,
  expectedState,
  federatedProviders,
  findBindings,
  findOrphans,
  isoSeconds,
  sortRows,
  type AwsRole,
  type ClaimObservation,
  type Inventory,
  type LiveAssociation,
  type LiveServiceAccount,
  type Observed,
  type OidcProviderState,
  type RolePolicies,
} from './join.js';

export interface InventorySources {
  listClaims(namespace?: string): Promise<AwsWorkloadIdentityClaim[]>;
  /** Every ServiceAccount (in the namespace, or all), with labels and annotations. */
  listServiceAccounts(namespace?: string): Promise<LiveServiceAccount[]>;
  /** Every Pod Identity association on the cluster (in the namespace, or all), described. */
  listAssociations(namespace?: string): Promise<LiveAssociation[]>;
  /** Every role under the path in one account, with its tags and trust policy. */
  listRoles(accountId: string, pathPrefix: string): Promise<AwsRole[]>;
  /** One role by name, with its tags; undefined when it does not exist. */
  getRole(accountId: string, name: string): Promise<AwsRole | undefined>;
  /** The inline policies (with their documents) and attached managed policies of a role. */
  rolePolicies(accountId: string, roleName: string): Promise<RolePolicies>;
  /** An IAM OIDC provider by ARN; undefined when it does not exist. */
  oidcProvider(accountId: string, arn: string): Promise<OidcProviderState | undefined>;
}

export interface InventoryOptions {
  config: PlatformConfig;
  /** Only this namespace; all namespaces when absent. */
  namespace?: string;
  /** Check each claim against AWS and look for orphaned roles and bindings outside awi. */
  aws: boolean;
}

export async function collectInventory(opts: InventoryOptions, sources: InventorySources): Promise<Inventory> {
  const { config } = opts;
  const claims = await sources.listClaims(opts.namespace);
  const rows = claims.map((claim) => ({ claim, row: claimRow(claim, config) }));
  if (!opts.aws) return { cluster: config.cluster.name, claims: sortRows(rows.map((r) => r.row)) };

  // Every role under the path, per account the controller may act in.
  const listed: AwsRole[] = [];
  for (const account of config.accounts) listed.push(...(await sources.listRoles(account.accountId, config.roles.path)));
  const byArn = new Map(listed.map((r) => [r.arn, r]));
  const serviceAccounts = await sources.listServiceAccounts(opts.namespace);
  const associations = await sources.listAssociations(opts.namespace);
  const saByKey = new Map(serviceAccounts.map((sa) => [`${sa.namespace}/${sa.name}`, sa]));
  const providers = new ProviderCache(sources);

  for (const { claim, row } of rows) {
    const expected = expectedState(claim, config);
    const role = row.roleArn ? await lookupRole(row.roleArn, config.roles.path, byArn, sources) : undefined;
    const mechanism = expected?.desired.mechanism ?? row.mechanism;
    const key = `${row.namespace}/${row.serviceAccount}`;
    const obs: ClaimObservation = {
      role,
      binding:
        mechanism === 'IRSA'
          ? { mechanism: 'IRSA', ...(saByKey.has(key) ? { serviceAccount: saByKey.get(key)! } : {}) }
          : { mechanism: 'PodIdentity', associations: associations.filter((a) => a.namespace === row.namespace && a.serviceAccount === row.serviceAccount) },
    };
    if (role && !('error' in role)) obs.policies = await observe(() => sources.rolePolicies(role.accountId, role.name));
    if (mechanism === 'IRSA' && expected) obs.providers = await providers.lookup(federatedProviders(expected.desired));
    row.aws = checkClaim(claim, row, expected, obs);
  }
  const allRows = sortRows(rows.map((r) => r.row));
  return {
    cluster: config.cluster.name,
    claims: allRows,
    orphans: findOrphans(listed, allRows, [config.cluster.arn, config.cluster.name], opts.namespace),
    bindings: findBindings(claims, serviceAccounts, associations),
  };
}

async function observe<T>(read: () => Promise<T>): Promise<Observed<T>> {
  try {
    return await read();
  } catch (err) {
    return { error: awsErrorMessage(err) };
  }
}

/** IAM OIDC providers are per account, not per claim: each is read once. */
class ProviderCache {
  private cache = new Map<string, Promise<Observed<OidcProviderState | undefined>>>();

  constructor(private readonly sources: InventorySources) {}

  async lookup(arns: string[]): Promise<Observed<Record<string, OidcProviderState | undefined>>> {
    const out: Record<string, OidcProviderState | undefined> = {};
    for (const arn of arns) {
      let p = this.cache.get(arn);
      if (!p) this.cache.set(arn, (p = observe(() => this.sources.oidcProvider(parseArn(arn)?.account ?? '', arn))));
      const state = await p;
      if (state && 'error' in state) return state;
      out[arn] = state;
    }
    return out;
  }
}

async function lookupRole(arn: string, path: string, listed: Map<string, AwsRole>, sources: InventorySources): Promise<AwsRole | undefined | { error: string }> {
  const found = listed.get(arn);
  if (found) return found;
  const parsed = parseArn(arn);
  if (!parsed) return { error: `not an ARN: ${arn}` };
  // role/<path>/<name>: a role under the listed path that was not listed does not exist.
  const resource = parsed.resource.replace(/^role/, '');
  const name = resource.slice(resource.lastIndexOf('/') + 1);
  if (resource.slice(0, resource.lastIndexOf('/') + 1) === path) return undefined;
  // Under another path (the configured one changed since): ask for it by name.
  return observe(() => sources.getRole(parsed.account, name));
}

// --- the real sources ---------------------------------------------------------

/** Lists roles under a path (paginated), then reads each role's tags (paginated): ListRoles does not return tags. */
export async function listRolesWithTags(iam: Pick<IAMClient, 'send'>, accountId: string, pathPrefix: string): Promise<AwsRole[]> {
  const roles: AwsRole[] = [];
  let marker: string | undefined;
  do {
    const page = await iam.send(new ListRolesCommand({ PathPrefix: pathPrefix, ...(marker ? { Marker: marker } : {}) }));
    for (const r of page.Roles ?? []) {
      if (!r.RoleName || !r.Arn) continue;
      roles.push({
        arn: r.Arn,
        name: r.RoleName,
        path: r.Path ?? '/',
        accountId: parseArn(r.Arn)?.account ?? accountId,
        tags: await roleTags(iam, r.RoleName),
        ...(r.CreateDate ? { created: isoSeconds(r.CreateDate) } : {}),
        ...(r.AssumeRolePolicyDocument ? { trustPolicy: r.AssumeRolePolicyDocument } : {}),
      });
    }
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  return roles;
}

async function roleTags(iam: Pick<IAMClient, 'send'>, roleName: string): Promise<Record<string, string>> {
  const tags: Record<string, string> = {};
  let marker: string | undefined;
  do {
    const page = await iam.send(new ListRoleTagsCommand({ RoleName: roleName, ...(marker ? { Marker: marker } : {}) }));
    for (const t of page.Tags ?? []) if (t.Key) tags[t.Key] = t.Value ?? '';
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  return tags;
}

/** Inline policies with their documents (ListRolePolicies, GetRolePolicy) and attached managed policies (ListAttachedRolePolicies), paginated. */
export async function readRolePolicies(iam: Pick<IAMClient, 'send'>, roleName: string): Promise<RolePolicies> {
  const names: string[] = [];
  let marker: string | undefined;
  do {
    const page = await iam.send(new ListRolePoliciesCommand({ RoleName: roleName, ...(marker ? { Marker: marker } : {}) }));
    names.push(...(page.PolicyNames ?? []));
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  const inline: Record<string, string> = {};
  for (const name of names) {
    const out = await iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: name }));
    inline[name] = out.PolicyDocument ?? '';
  }
  const attached: string[] = [];
  do {
    const page = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: roleName, ...(marker ? { Marker: marker } : {}) }));
    attached.push(...(page.AttachedPolicies ?? []).flatMap((p) => (p.PolicyArn ? [p.PolicyArn] : [])));
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  return { inline, attached: attached.sort() };
}

/** Claims and ServiceAccounts from the cluster; roles, policies, providers and associations from AWS, through the controller's client factory. */
export function clusterSources(config: PlatformConfig, kc: KubeConfig, aws = new AwsClientFactory({ region: config.cluster.region, accounts: config.accounts })): InventorySources {
  const claims = new ClaimClient(kc);
  const core = kc.makeApiClient(CoreV1Api);
  const iam = (accountId: string): IAMClient => aws.forAccount(accountId).iam;
  // Associations live with the cluster, in the cluster's account.
  const eks = (): EKSClient => aws.forAccount(config.cluster.accountId).eks;
  return {
    listClaims: (namespace) => claims.list(namespace),
    async listServiceAccounts(namespace) {
      const out: LiveServiceAccount[] = [];
      let _continue: string | undefined;
      do {
        const page = namespace
          ? await core.listNamespacedServiceAccount({ namespace, limit: 500, ...(_continue ? { _continue } : {}) })
          : await core.listServiceAccountForAllNamespaces({ limit: 500, ...(_continue ? { _continue } : {}) });
        for (const sa of page.items) {
          out.push({ namespace: sa.metadata?.namespace ?? '', name: sa.metadata?.name ?? '', labels: sa.metadata?.labels ?? {}, annotations: sa.metadata?.annotations ?? {} });
        }
        _continue = page.metadata?._continue || undefined;
      } while (_continue);
      return out;
    },
    listRoles: (accountId, pathPrefix) => listRolesWithTags(iam(accountId), accountId, pathPrefix),
    async getRole(accountId, name) {
      try {
        const { Role: r } = await iam(accountId).send(new GetRoleCommand({ RoleName: name }));
        if (!r?.Arn || !r.RoleName) return undefined;
        return {
          arn: r.Arn, name: r.RoleName, path: r.Path ?? '/', accountId,
          tags: Object.fromEntries((r.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
          ...(r.CreateDate ? { created: isoSeconds(r.CreateDate) } : {}),
          ...(r.AssumeRolePolicyDocument ? { trustPolicy: r.AssumeRolePolicyDocument } : {}),
        };
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    rolePolicies: (accountId, roleName) => readRolePolicies(iam(accountId), roleName),
    async oidcProvider(accountId, arn) {
      try {
        const out = await iam(accountId).send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn }));
        return { arn, clientIds: out.ClientIDList ?? [] };
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async listAssociations(namespace) {
      const clusterName = config.cluster.name;
      const ids: string[] = [];
      let nextToken: string | undefined;
      do {
        const page = await eks().send(new ListPodIdentityAssociationsCommand({ clusterName, ...(namespace ? { namespace } : {}), ...(nextToken ? { nextToken } : {}) }));
        ids.push(...(page.associations ?? []).flatMap((a) => (a.associationId ? [a.associationId] : [])));
        nextToken = page.nextToken;
      } while (nextToken);
      // The list shows no role, target role, session settings or tags: describe each.
      const found: LiveAssociation[] = [];
      for (const associationId of ids) {
        let a;
        try {
          a = (await eks().send(new DescribePodIdentityAssociationCommand({ clusterName, associationId }))).association;
        } catch (err) {
          if (isNotFound(err)) continue; // deleted since the list
          throw err;
        }
        if (!a) continue;
        found.push({
          associationId,
          namespace: a.namespace ?? '',
          serviceAccount: a.serviceAccount ?? '',
          roleArn: a.roleArn ?? '',
          ...(a.targetRoleArn ? { targetRoleArn: a.targetRoleArn } : {}),
          ...(a.externalId ? { externalId: a.externalId } : {}),
          disableSessionTags: a.disableSessionTags ?? false,
          ...(a.policy ? { policy: a.policy } : {}),
          tags: a.tags ?? {},
        });
      }
      return found;
    },
  };
}
