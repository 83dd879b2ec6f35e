// Pure parts of the shared IAM observation: merging the two page streams
// (GetAccountAuthorizationDetails for trust, tags, boundary, inline and
// attached policies; ListRoles for description and MaxSessionDuration, which
// the former does not return) into one record per role, and deciding what a
// lookup may trust. No clients, no clock.
import type { PolicyDocument } from '../../compiler/types.js';
import { parseIamPolicy } from '../iam-json.js';
import type { ObservedRole } from '../managers/role.js';

/** Everything the plan compares about one role, as one observation saw it. */
export interface CachedRole {
  role: ObservedRole;
  /** Every inline policy on the role, by name (awi's and any added behind its back). */
  inlinePolicies: Record<string, PolicyDocument>;
  attachedPolicyArns: string[];
}

/** The subset of IAM's RoleDetail (GetAccountAuthorizationDetails) the cache keeps. */
export interface RoleDetailPage {
  RoleName?: string;
  Path?: string;
  Arn?: string;
  AssumeRolePolicyDocument?: string;
  RolePolicyList?: { PolicyName?: string; PolicyDocument?: string }[];
  AttachedManagedPolicies?: { PolicyArn?: string }[];
  PermissionsBoundary?: { PermissionsBoundaryArn?: string };
  Tags?: { Key?: string; Value?: string }[];
}

/** The subset of IAM's Role (ListRoles) the cache keeps. */
export interface ListedRole {
  RoleName?: string;
  Path?: string;
  Arn?: string;
  AssumeRolePolicyDocument?: string;
  Description?: string;
  MaxSessionDuration?: number;
}

const EMPTY_TRUST = '{"Version":"2012-10-17","Statement":[]}';

/**
 * Joins the two streams by role name. A role only one stream saw, or whose
 * trust differs between them (it changed between the two page reads), is left
 * out: a lookup then finds it unknown and reads it directly. Roles outside
 * `pathPrefix` are dropped (awi only observes its own path).
 */
export function mergeRolePages(
  details: readonly RoleDetailPage[],
  listed: readonly ListedRole[],
  pathPrefix: string,
): { roles: Map<string, CachedRole>; uncertain: Set<string> } {
  const settings = new Map<string, ListedRole>();
  for (const r of listed) if (r.RoleName && (r.Path ?? '/').startsWith(pathPrefix)) settings.set(r.RoleName, r);
  const out = new Map<string, CachedRole>();
  const uncertain = new Set<string>();
  const seen = new Set<string>();
  for (const d of details) {
    if (!d.RoleName || !d.Arn) continue;
    seen.add(d.RoleName);
    if (!(d.Path ?? '/').startsWith(pathPrefix)) continue;
    const s = settings.get(d.RoleName);
    const trust = parseIamPolicy(d.AssumeRolePolicyDocument ?? EMPTY_TRUST);
    if (!s || s.Arn !== d.Arn || JSON.stringify(trust) !== JSON.stringify(parseIamPolicy(s.AssumeRolePolicyDocument ?? EMPTY_TRUST))) {
      uncertain.add(d.RoleName);
      continue;
    }
    out.set(d.RoleName, {
      role: {
        name: d.RoleName,
        path: d.Path ?? '/',
        arn: d.Arn,
        trustPolicy: trust,
        tags: Object.fromEntries((d.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
        ...(d.PermissionsBoundary?.PermissionsBoundaryArn ? { permissionsBoundaryArn: d.PermissionsBoundary.PermissionsBoundaryArn } : {}),
        maxSessionDurationSeconds: s.MaxSessionDuration ?? 3600,
        description: s.Description ?? '',
      },
      inlinePolicies: Object.fromEntries((d.RolePolicyList ?? []).flatMap((p) => (p.PolicyName ? [[p.PolicyName, parseIamPolicy(p.PolicyDocument ?? EMPTY_TRUST)]] : []))),
      attachedPolicyArns: (d.AttachedManagedPolicies ?? []).flatMap((p) => (p.PolicyArn ? [p.PolicyArn] : [])).sort(),
    });
  }
  // Listed under the path but missing from the details: created or deleted between the two reads.
  for (const name of settings.keys()) if (!seen.has(name)) uncertain.add(name);
  return { roles: out, uncertain };
}

/** One role as the cache knows it, with the time its observation started (ms). */
export interface RoleEntry {
  observedAt: number;
  /** undefined: the role did not exist (an observation that covered it did not find it). */
  value: CachedRole | undefined;
}

export interface RoleSnapshot {
  /** When the page reads began: nothing in them is older. */
  startedAt: number;
  roles: ReadonlyMap<string, CachedRole>;
  /** Roles the two page streams disagreed about (changed between the reads): read directly. */
  uncertain: ReadonlySet<string>;
}

/**
 * What a lookup of `name` may use, given the latest full snapshot, entries
 * refreshed by direct reads, and awi's own writes:
 * - `unknown`: read the role directly (awi wrote it and no direct read has
 *   confirmed it since, or the pages disagreed about it);
 * - `stale`: no observation is recent enough (`notBefore`): refresh the pages;
 * - an entry (possibly `value: undefined`: the role does not exist).
 */
export function lookupRole(
  name: string,
  snapshot: RoleSnapshot | undefined,
  direct: RoleEntry | undefined,
  writtenAt: number | undefined,
  notBefore: number,
): RoleEntry | 'unknown' | 'stale' {
  // awi's own write is confirmed by a direct read (which clears it), never by pages: IAM's reads
  // are eventually consistent, and a claim that was just written is read directly.
  if (writtenAt !== undefined) return 'unknown';
  const fromPages: RoleEntry | undefined = snapshot && !snapshot.uncertain.has(name) ? { observedAt: snapshot.startedAt, value: snapshot.roles.get(name) } : undefined;
  // The newest observation wins; a direct read newer than the pages replaces them.
  const newest = direct && (!fromPages || direct.observedAt > fromPages.observedAt) ? direct : fromPages;
  if (!newest) return snapshot && snapshot.startedAt >= notBefore ? 'unknown' : 'stale';
  if (newest.observedAt < notBefore) return 'stale';
  return newest;
}

/** The inline-policy view a plan needs: the claim's policy document and the names of all. */
export function inlineView(c: CachedRole, policyName: string): { inlinePolicy?: PolicyDocument; inlinePolicyNames: string[] } {
  const doc = c.inlinePolicies[policyName];
  return { ...(doc ? { inlinePolicy: doc } : {}), inlinePolicyNames: Object.keys(c.inlinePolicies) };
}
