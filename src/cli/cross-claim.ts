// Checks no single claim can fail but a set of claims can: what `awi
// validate` sees across every file it is given. Each of these passes claim by
// claim and fails at run time, for the claim reconciled second:
// - the same claim (namespace/name) defined twice: the later apply silently
//   replaces the earlier one;
// - one ServiceAccount claimed by two claims (ServiceAccountConflict);
// - two claims whose roles get the same name in one account, e.g.
//   `team-a-prod/api` and `team-a/prod-api` under `{cluster}-{namespace}-{serviceAccount}`
//   (RoleNotOwned);
// and the totals per guardrail and per account, against the AWS quotas that
// count across claims (roles per account, associations per cluster).
// Pure: facts in, findings out.

import { globMatch } from '../compiler/glob.js';
import type { PlatformConfig } from '../config/types.js';

/** AWS's default quotas (DESIGN §5); a raised quota makes these warnings moot, so they never fail validation. */
export const ROLES_PER_ACCOUNT_QUOTA = 1000;
export const ASSOCIATIONS_PER_CLUSTER_QUOTA = 5000;

export interface ClaimFacts {
  /** Index of the claim in the caller's list; findings point back with it. */
  id: number;
  /** "file#1" (with line when known), for messages. */
  where: string;
  namespace: string;
  /** Absent when the claim has a generateName: every such claim is a new object. */
  name?: string;
  /** Set when the claim compiled: the identity it would get. */
  compiled?: { serviceAccount: string; accountId: string; roleName: string; mechanism: string; roleNameIsExact: boolean };
}

export interface CrossFinding {
  id: number;
  field: string;
  rule: string;
  level: 'error' | 'warning';
  message: string;
  /** Ids of the other claims involved. */
  related: number[];
}

export interface GuardrailTotal {
  guardrail: number;
  namespaces: string[];
  claims: number;
  valid: number;
  refused: number;
  /** Distinct roles the valid claims would create, per account. */
  rolesByAccount: Record<string, number>;
}

export interface Totals {
  guardrails: GuardrailTotal[];
  /** Claims in namespaces that match no guardrail (the defaults apply). */
  unguarded: { claims: number; valid: number; refused: number };
  rolesByAccount: Record<string, number>;
  podIdentityAssociations: number;
}

export function crossClaimFindings(claims: ClaimFacts[], config: PlatformConfig): CrossFinding[] {
  const findings: CrossFinding[] = [];
  const distinct: ClaimFacts[] = [];

  // The same object twice: the later definition wins, and it is the one to look at.
  const byIdentity = groupBy(claims.filter((c) => c.name !== undefined), (c) => `${c.namespace}/${c.name}`);
  const shadowed = new Set<number>();
  for (const [identity, group] of byIdentity) {
    for (const later of group.slice(1)) {
      shadowed.add(later.id);
      findings.push({
        id: later.id,
        field: 'metadata.name',
        rule: 'claim-defined-twice',
        level: 'error',
        message: `claim ${identity} is also defined at ${group[0]!.where}: applying both keeps only the last one; remove one of them`,
        related: [group[0]!.id],
      });
    }
  }
  for (const claim of claims) if (claim.compiled && !shadowed.has(claim.id)) distinct.push(claim);

  const label = (c: ClaimFacts) => `${c.namespace}/${c.name ?? '<generated>'} (${c.where})`;
  const bySa = groupBy(distinct, (c) => `${c.namespace}/${c.compiled!.serviceAccount}`);
  for (const [sa, group] of bySa) {
    if (group.length < 2) continue;
    for (const claim of group) {
      const others = group.filter((o) => o !== claim);
      findings.push({
        id: claim.id,
        field: 'spec.serviceAccountName',
        rule: 'service-account-claimed-twice',
        level: 'error',
        message: `ServiceAccount ${sa} is also claimed by ${others.map(label).join(', ')}: a ServiceAccount can have only one claim, so all but the first reconciled fail with ServiceAccountConflict; merge the permissions into one claim or use another serviceAccountName`,
        related: others.map((o) => o.id),
      });
    }
  }

  const byRole = groupBy(
    distinct.filter((c) => c.compiled!.roleNameIsExact),
    (c) => `${c.compiled!.accountId}\u0000${c.compiled!.roleName}`,
  );
  for (const group of byRole.values()) {
    // Claims of one ServiceAccount share a role name by design; that conflict is reported above.
    const serviceAccounts = new Set(group.map((c) => `${c.namespace}/${c.compiled!.serviceAccount}`));
    if (serviceAccounts.size < 2) continue;
    for (const claim of group) {
      const others = group.filter((o) => `${o.namespace}/${o.compiled!.serviceAccount}` !== `${claim.namespace}/${claim.compiled!.serviceAccount}`);
      const { roleName, accountId } = claim.compiled!;
      findings.push({
        id: claim.id,
        field: 'spec.serviceAccountName',
        rule: 'role-name-collision',
        level: 'error',
        message:
          `role name ${JSON.stringify(roleName)} in account ${accountId} is also the role of ${others.map(label).join(', ')} ` +
          `under the name template ${JSON.stringify(config.roles.nameTemplate)}: IAM role names are unique per account, so all but the first reconciled fail with RoleNotOwned; ` +
          `rename a ServiceAccount (or, platform team: separate the placeholders with "_", which Kubernetes names cannot contain)`,
        related: others.map((o) => o.id),
      });
    }
  }

  // Quotas that count across claims.
  const rolesSeen = new Map<string, Set<string>>();
  let associations = 0;
  for (const claim of distinct) {
    const { accountId, roleName, mechanism } = claim.compiled!;
    const roles = rolesSeen.get(accountId) ?? new Set<string>();
    rolesSeen.set(accountId, roles);
    if (!roles.has(roleName)) {
      roles.add(roleName);
      if (roles.size === ROLES_PER_ACCOUNT_QUOTA + 1) {
        findings.push({
          id: claim.id,
          field: 'spec.aws.accountId',
          rule: 'roles-per-account-quota',
          level: 'warning',
          message: `these claims alone create more than ${ROLES_PER_ACCOUNT_QUOTA} roles in account ${accountId}, the default IAM quota of roles per account; ask AWS to raise it before applying`,
          related: [],
        });
      }
    }
    if (mechanism === 'PodIdentity' && ++associations === ASSOCIATIONS_PER_CLUSTER_QUOTA + 1) {
      findings.push({
        id: claim.id,
        field: 'spec.mechanism',
        rule: 'associations-per-cluster-quota',
        level: 'warning',
        message: `these claims alone create more than ${ASSOCIATIONS_PER_CLUSTER_QUOTA} Pod Identity associations in cluster ${config.cluster.name}, the EKS quota per cluster`,
        related: [],
      });
    }
  }
  return findings;
}

/** Claims, valid and refused per guardrail, and the roles they would create. `refused` holds the ids of refused claims. */
export function guardrailTotals(claims: ClaimFacts[], refused: ReadonlySet<number>, config: PlatformConfig): Totals {
  const guardrails: GuardrailTotal[] = config.guardrails.map((g, guardrail) => ({
    guardrail,
    namespaces: g.namespaces,
    claims: 0,
    valid: 0,
    refused: 0,
    rolesByAccount: {},
  }));
  const unguarded = { claims: 0, valid: 0, refused: 0 };
  const roles = new Map<string, Set<string>>();
  const perGuardrailRoles = guardrails.map(() => new Map<string, Set<string>>());
  let podIdentityAssociations = 0;
  const add = (map: Map<string, Set<string>>, account: string, role: string) => map.set(account, (map.get(account) ?? new Set()).add(role));
  for (const claim of claims) {
    const ok = !refused.has(claim.id);
    const matched = config.guardrails.flatMap((g, i) => (g.namespaces.some((p) => globMatch(p, claim.namespace)) ? [i] : []));
    for (const target of matched.length ? matched.map((i) => guardrails[i]!) : [unguarded]) {
      target.claims++;
      if (ok) target.valid++;
      else target.refused++;
    }
    if (ok && claim.compiled) {
      const { accountId, roleName, mechanism } = claim.compiled;
      add(roles, accountId, roleName);
      for (const i of matched) add(perGuardrailRoles[i]!, accountId, roleName);
      if (mechanism === 'PodIdentity') podIdentityAssociations++;
    }
  }
  guardrails.forEach((g, i) => (g.rolesByAccount = counts(perGuardrailRoles[i]!)));
  return { guardrails, unguarded, rolesByAccount: counts(roles), podIdentityAssociations };
}

function counts(map: Map<string, Set<string>>): Record<string, number> {
  return Object.fromEntries([...map].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, v.size]));
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}
