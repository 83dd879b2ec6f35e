// Gathers what the inventory shows: claims from the cluster and, with --aws,
// the live state of their roles and bindings and every role under the awi
// path. Reads only. The sources are an interface so the gathering logic can
// be tested without servers.
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { DescribePodIdentityAssociationCommand, type EKSClient, ListPodIdentityAssociationsCommand } from '@aws-sdk/client-eks';
import { GetRoleCommand, type IAMClient, ListRolesCommand, ListRoleTagsCommand } from '@aws-sdk/client-iam';
import type { AwsWorkloadIdentityClaim } from '../api/types.js';
import { AwsClientFactory } from '../aws/clients.js';
import { awsErrorMessage, isNotFound } from '../aws/errors.js';
import { parseArn } from '../compiler/arn.js';
import type { PlatformConfig } from '../config/types.js';
import { ROLE_ARN_ANNOTATION } from '../controller/plan.js';
import { ClaimClient } from '../kube/claims.js';
import { isKubeNotFound } from '../kube/errors.js';
import { checkClaim, claimRow, findOrphans, isoSeconds, sortRows, type AwsRole, type Inventory, type ObservedBinding } from './join.js';

export interface InventorySources {
  listClaims(namespace?: string): Promise<AwsWorkloadIdentityClaim[]>;
  /** undefined: no such ServiceAccount. */
  serviceAccount(namespace: string, name: string): Promise<{ roleArnAnnotation?: string } | undefined>;
  /** Every role under the path in one account, with its tags. */
  listRoles(accountId: string, pathPrefix: string): Promise<AwsRole[]>;
  /** One role by name, with its tags; undefined when it does not exist. */
  getRole(accountId: string, name: string): Promise<AwsRole | undefined>;
  /** The Pod Identity associations of one ServiceAccount on the cluster. */
  associations(namespace: string, serviceAccount: string): Promise<{ associationId: string; roleArn: string }[]>;
}

export interface InventoryOptions {
  config: PlatformConfig;
  /** Only this namespace; all namespaces when absent. */
  namespace?: string;
  /** Check each claim against AWS and look for orphaned roles. */
  aws: boolean;
}

export async function collectInventory(opts: InventoryOptions, sources: InventorySources): Promise<Inventory> {
  const { config } = opts;
  const claims = await sources.listClaims(opts.namespace);
  const rows = claims.map((claim) => ({ claim, row: claimRow(claim, config) }));
  if (!opts.aws) return { cluster: config.cluster.arn, claims: sortRows(rows.map((r) => r.row)) };

  // Every role under the path, per account the controller may act in.
  const listed: AwsRole[] = [];
  for (const account of config.accounts) listed.push(...(await sources.listRoles(account.accountId, config.roles.path)));
  const byArn = new Map(listed.map((r) => [r.arn, r]));

  for (const { claim, row } of rows) {
    const role = row.roleArn ? await lookupRole(row.roleArn, config.roles.path, byArn, sources) : undefined;
    const binding = await observeBinding(row.mechanism, row.namespace, row.serviceAccount, sources);
    row.aws = checkClaim(claim, row, role, binding);
  }
  const allRows = sortRows(rows.map((r) => r.row));
  return { cluster: config.cluster.arn, claims: allRows, orphans: findOrphans(listed, allRows, config.cluster.arn, opts.namespace) };
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
  try {
    return await sources.getRole(parsed.account, name);
  } catch (err) {
    return { error: awsErrorMessage(err) };
  }
}

async function observeBinding(mechanism: string, namespace: string, serviceAccount: string, sources: InventorySources): Promise<ObservedBinding | { error: string }> {
  try {
    if (mechanism === 'IRSA') {
      const sa = await sources.serviceAccount(namespace, serviceAccount);
      return { mechanism: 'IRSA', ...(sa ? { serviceAccount: sa } : {}) };
    }
    return { mechanism: 'PodIdentity', associations: await sources.associations(namespace, serviceAccount) };
  } catch (err) {
    return { error: awsErrorMessage(err) };
  }
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

/** Claims and ServiceAccounts from the cluster; roles and associations from AWS, through the controller's client factory. */
export function clusterSources(config: PlatformConfig, kc: KubeConfig, aws = new AwsClientFactory({ region: config.cluster.region, accounts: config.accounts })): InventorySources {
  const claims = new ClaimClient(kc);
  const core = kc.makeApiClient(CoreV1Api);
  const iam = (accountId: string): IAMClient => aws.forAccount(accountId).iam;
  // Associations live with the cluster, in the cluster's account.
  const eks = (): EKSClient => aws.forAccount(config.cluster.accountId).eks;
  return {
    listClaims: (namespace) => claims.list(namespace),
    async serviceAccount(namespace, name) {
      try {
        const sa = await core.readNamespacedServiceAccount({ namespace, name });
        const annotation = sa.metadata?.annotations?.[ROLE_ARN_ANNOTATION];
        return annotation === undefined ? {} : { roleArnAnnotation: annotation };
      } catch (err) {
        if (isKubeNotFound(err)) return undefined;
        throw err;
      }
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
        };
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async associations(namespace, serviceAccount) {
      const clusterName = config.cluster.name;
      const ids: string[] = [];
      let nextToken: string | undefined;
      do {
        const page = await eks().send(new ListPodIdentityAssociationsCommand({ clusterName, namespace, serviceAccount, ...(nextToken ? { nextToken } : {}) }));
        ids.push(...(page.associations ?? []).flatMap((a) => (a.associationId ? [a.associationId] : [])));
        nextToken = page.nextToken;
      } while (nextToken);
      const found: { associationId: string; roleArn: string }[] = [];
      for (const associationId of ids) {
        const { association } = await eks().send(new DescribePodIdentityAssociationCommand({ clusterName, associationId }));
        found.push({ associationId, roleArn: association?.roleArn ?? '' });
      }
      return found;
    },
  };
}
