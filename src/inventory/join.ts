// The inventory's decisions, pure: one row per claim, the checks of a claim
// against what AWS and the cluster show, and the roles awi tagged that no
// claim accounts for. No clients, no clock.
import type { AwsWorkloadIdentityClaim } from '../api/types.js';
import { parseArn } from '../compiler/arn.js';
import { compileClaim } from '../compiler/compile.js';
import { MANAGED_BY, TAG } from '../compiler/tags.js';
import type { PlatformConfig } from '../config/types.js';
import { RELEASED_TAG } from '../controller/plan.js';

/** A role as listed in AWS, with its tags. */
export interface AwsRole {
  arn: string;
  name: string;
  path: string;
  accountId: string;
  tags: Record<string, string>;
  /** ISO time, when known. */
  created?: string;
}

/** What a claim's binding looks like from outside: associations for its ServiceAccount, or the ServiceAccount's annotation. */
export type ObservedBinding =
  | { mechanism: 'PodIdentity'; associations: { associationId: string; roleArn: string }[] }
  | { mechanism: 'IRSA'; serviceAccount?: { roleArnAnnotation?: string } };

export interface AwsCheck {
  /** ok | missing | not owned | unknown: <why> */
  role: string;
  /** ok | differs: <tag keys> | - (no role to compare) */
  tags: string;
  /** ok | missing | elsewhere: <role ARN> | no ServiceAccount | unknown: <why> */
  binding: string;
  /** True when nothing above needs attention. */
  ok: boolean;
}

export interface InventoryRow {
  cluster: string;
  namespace: string;
  name: string;
  serviceAccount: string;
  mechanism: string;
  roleArn: string;
  owner: string;
  environment: string;
  /** Status of the Ready condition: True, False or Unknown. */
  ready: string;
  reason: string;
  /** lastTransitionTime of the Ready condition (ISO), or "". */
  lastChange: string;
  aws?: AwsCheck;
}

export type OrphanStatus = 'no claim' | 'not the claim\'s role' | 'released';

export interface OrphanRole {
  accountId: string;
  roleArn: string;
  /** From the role's ownership tags. */
  namespace: string;
  claim: string;
  owner: string;
  environment: string;
  created: string;
  status: OrphanStatus;
}

export interface Inventory {
  cluster: string;
  claims: InventoryRow[];
  /** Only when AWS was consulted. */
  orphans?: OrphanRole[];
}

/** RFC 3339 to the second, as Kubernetes prints times: 2026-11-23T10:00:00Z. */
export function isoSeconds(time: string | Date): string {
  const d = new Date(time);
  return Number.isNaN(d.getTime()) ? String(time) : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const byKey = <T extends { namespace: string }>(key: (x: T) => string) => (a: T, b: T) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

/**
 * The claim's role ARN: the one the controller reported, else the one the
 * claim compiles to (a claim not reconciled yet), else "".
 */
export function claimRoleArn(claim: AwsWorkloadIdentityClaim, config: PlatformConfig): string {
  if (claim.status?.roleArn) return claim.status.roleArn;
  const compiled = compileClaim(claim, config);
  return compiled.ok ? compiled.desired.role.arn : '';
}

export function claimRow(claim: AwsWorkloadIdentityClaim, config: PlatformConfig): InventoryRow {
  const ready = claim.status?.conditions?.find((c) => c.type === 'Ready');
  return {
    cluster: config.cluster.arn, // as the ownership tag awi.dev/cluster carries it
    namespace: claim.metadata.namespace ?? '',
    name: claim.metadata.name,
    serviceAccount: claim.spec?.serviceAccountName ?? '',
    mechanism: claim.status?.mechanism ?? claim.spec?.mechanism ?? config.defaults.mechanism,
    roleArn: claimRoleArn(claim, config),
    owner: claim.spec?.owner ?? '',
    environment: claim.spec?.environment ?? '',
    ready: ready?.status ?? 'Unknown',
    reason: ready?.reason ?? '',
    lastChange: ready?.lastTransitionTime ? isoSeconds(ready.lastTransitionTime) : '',
  };
}

/** The ownership tags the controller writes on the claim's role (tags.ts), as the inventory checks them. */
export function expectedOwnershipTags(claim: AwsWorkloadIdentityClaim, cluster: string): Record<string, string> {
  return {
    [TAG.managedBy]: MANAGED_BY,
    [TAG.cluster]: cluster,
    [TAG.namespace]: claim.metadata.namespace ?? '',
    [TAG.claim]: claim.metadata.name,
    ...(claim.metadata.uid ? { [TAG.claimUid]: claim.metadata.uid } : {}),
    [TAG.owner]: claim.spec?.owner ?? '',
    [TAG.environment]: claim.spec?.environment ?? '',
  };
}

/** The tags that say which claim a role belongs to; a role differing in one of them is not this claim's. */
const IDENTITY_TAGS: string[] = [TAG.managedBy, TAG.cluster, TAG.namespace, TAG.claim];

export function checkClaim(
  claim: AwsWorkloadIdentityClaim,
  row: InventoryRow,
  role: AwsRole | undefined | { error: string },
  binding: ObservedBinding | { error: string },
): AwsCheck {
  let roleState: string;
  let tags = '-';
  if (!row.roleArn) roleState = 'unknown: the claim does not compile';
  else if (role && 'error' in role) roleState = `unknown: ${role.error}`;
  else if (!role) roleState = 'missing';
  else {
    const expected = expectedOwnershipTags(claim, row.cluster);
    const differing = Object.keys(expected).filter((k) => role.tags[k] !== expected[k]).sort();
    roleState = differing.some((k) => IDENTITY_TAGS.includes(k)) ? 'not owned' : 'ok';
    tags = differing.length ? `differs: ${differing.join(',')}` : 'ok';
  }

  let bindingState: string;
  if ('error' in binding) bindingState = `unknown: ${binding.error}`;
  else if (binding.mechanism === 'PodIdentity') {
    const ours = binding.associations.filter((a) => a.roleArn === row.roleArn);
    const other = binding.associations.find((a) => a.roleArn !== row.roleArn);
    bindingState = ours.length && !other ? 'ok' : other ? `elsewhere: ${other.roleArn}` : 'missing';
  } else if (!binding.serviceAccount) bindingState = 'no ServiceAccount';
  else {
    const annotation = binding.serviceAccount.roleArnAnnotation;
    bindingState = annotation === undefined ? 'missing' : annotation === row.roleArn ? 'ok' : `elsewhere: ${annotation}`;
  }
  return { role: roleState, tags, binding: bindingState, ok: roleState === 'ok' && tags === 'ok' && bindingState === 'ok' };
}

/**
 * Roles tagged as awi's for this cluster that no claim accounts for: no claim
 * of that namespace and name, or a claim whose role is another one (its
 * ServiceAccount or the name template changed). Released roles (deletionPolicy
 * Retain) are listed as such.
 */
export function findOrphans(roles: AwsRole[], rows: InventoryRow[], cluster: string, namespace?: string): OrphanRole[] {
  const claimRoles = new Map(rows.map((r) => [`${r.namespace}/${r.name}`, r.roleArn]));
  const orphans: OrphanRole[] = [];
  for (const role of roles) {
    const t = role.tags;
    if (t[TAG.managedBy] !== MANAGED_BY || t[TAG.cluster] !== cluster) continue;
    const ns = t[TAG.namespace] ?? '';
    if (namespace !== undefined && ns !== namespace) continue;
    const key = `${ns}/${t[TAG.claim] ?? ''}`;
    const claimRole = claimRoles.get(key);
    if (claimRole === role.arn) continue;
    orphans.push({
      accountId: role.accountId || (parseArn(role.arn)?.account ?? ''),
      roleArn: role.arn,
      namespace: ns,
      claim: t[TAG.claim] ?? '',
      owner: t[TAG.owner] ?? '',
      environment: t[TAG.environment] ?? '',
      created: role.created ?? '',
      status: t[RELEASED_TAG] === 'true' ? 'released' : claimRole === undefined ? 'no claim' : "not the claim's role",
    });
  }
  return orphans.sort(byKey((o) => `${o.namespace}/${o.claim}/${o.roleArn}`));
}

export function sortRows(rows: InventoryRow[]): InventoryRow[] {
  return [...rows].sort(byKey((r) => `${r.namespace}/${r.name}`));
}
