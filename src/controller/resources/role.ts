// The claim's IAM role: trust policy, permissions boundary, tags and settings.
// A role of that name without this claim's ownership tags blocks the claim.
import { isAlreadyExists } from '../../aws/errors.js';
import { policiesEqual } from '../../compiler/canonical.js';
import { TAG } from '../../compiler/tags.js';
import type { DesiredState } from '../../compiler/types.js';
import type { ObservedRole } from '../managers/role.js';
import { inlineView, type CachedRole } from '../observation/role-pages.js';
import { isOwnedBy, ownedByClaim, RELEASED_TAG, roleOwner } from '../../ownership.js';
import type { Blocker, Observed, Plan, Step } from '../plan.js';
import { readPolicies } from './permission-policy.js';
import type { Diff, ObserveContext, ResourceModule } from './types.js';

export type RoleStep =
  | { kind: 'CreateRole' }
  | { kind: 'UpdateTrustPolicy' }
  | { kind: 'UpdateRoleSettings'; why: string }
  | { kind: 'TagRole'; tags: Record<string, string> }
  | { kind: 'UntagRole'; keys: string[] }
  | { kind: 'SetPermissionsBoundary' };

export const roleResource: ResourceModule<'Role', RoleStep, 'RoleReady'> = {
  kind: 'Role',
  condition: 'RoleReady',
  readyMessage: (d, ok) => ok ? `Role ${d.role.arn} matches the claim.` : `Role ${d.role.arn} was created or changed; waiting for IAM to propagate it.`,
  store: 'AWS',
  observe: readRole,
  cached: cachedRole,
  confirmBeforeActing: roleReadBeforeActing,
  diff: diffRole,
  execute: {
    CreateRole: async (_step, { desired, managers, log, fromCache }) => {
      try {
        await managers.role.create(desired.role);
        return {};
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        // Planned from the cache's "no such role": whose role it is, is known only from a direct read (never adopt or block on an unread role).
        if (fromCache.has('Role')) {
          log.info({ role: desired.role.name }, 'role exists though the shared observation did not show it; reading it directly');
          return { stale: true };
        }
        // A direct read did not show it: IAM is eventually consistent.
        log.info({ role: desired.role.name }, 'role exists but is not yet visible to reads; waiting for IAM propagation');
        return { propagating: true };
      }
    },
    UpdateTrustPolicy: async (_step, { desired, managers }) => {
      await managers.role.updateTrust(desired.role.name, desired.role.trustPolicy);
      return {};
    },
    UpdateRoleSettings: async (_step, { desired, managers }) => {
      await managers.role.updateSettings(desired.role.name, desired.role);
      return {};
    },
    TagRole: async (step, { desired, managers }) => {
      await managers.role.tag(desired.role.name, step.tags);
      return {};
    },
    UntagRole: async (step, { desired, managers }) => {
      await managers.role.untag(desired.role.name, step.keys);
      return {};
    },
    SetPermissionsBoundary: async (_step, { desired, managers }) => {
      await managers.role.setBoundary(desired.role.name, desired.role.permissionsBoundaryArn);
      return {};
    },
  },
  // After its policies (IAM refuses to delete a role that has some).
  cleanup: async (ctx) => {
    const role = await ctx.role();
    if (!role) return [];
    if (!isOwnedBy(role.tags, ctx.target.owner)) {
      ctx.log.warn({ role: role.arn }, 'role not owned by this claim: left in place');
      return [];
    }
    await ctx.managers.role.delete(ctx.target.roleName);
    ctx.roleWritten();
    return [`role ${role.arn} and its policies`];
  },
  release: async (ctx) => {
    const role = await ctx.role();
    if (!role || !isOwnedBy(role.tags, ctx.target.owner)) return [];
    await ctx.managers.role.tag(ctx.target.roleName, { [RELEASED_TAG]: 'true' });
    ctx.roleWritten();
    return [`role ${role.arn}`];
  },
};

/** The IAM part of Observed: the role and, on a role the claim owns, its policies. */
type RoleView = Pick<Observed, 'role' | 'inlinePolicy' | 'inlinePolicyNames' | 'attachedPolicyArns'>;

/** Direct reads of the claim's role (GetRole, then its policies if it is the claim's); tells the role cache. */
async function readRole({ desired, managers, roleCache }: ObserveContext): Promise<RoleView> {
  const startedAt = Date.now();
  const role = await managers.role.get(desired.role.name);
  const ours = role && ownedByClaim(role.tags, desired);
  const policies = ours ? await readPolicies(managers.policy, desired, role.name) : { inlinePolicyNames: [], attachedPolicyArns: [] };
  // Only a complete picture goes into the cache: no role, or awi's role whose inline policies were all read.
  if (!role) roleCache?.observed(desired.accountId, desired.role.name, undefined, startedAt);
  else if (ours && policies.inlinePolicyNames.every((n) => n === desired.permissionPolicy.name)) {
    roleCache?.observed(desired.accountId, desired.role.name, {
      role, inlinePolicies: policies.inlinePolicy ? { [desired.permissionPolicy.name]: policies.inlinePolicy } : {}, attachedPolicyArns: policies.attachedPolicyArns,
    }, startedAt);
  }
  return { ...(role ? { role } : {}), ...policies };
}

/** What the role cache holds, seen as the direct reads would (policies only on a role the claim owns); undefined when it knows nothing. */
async function cachedRole({ desired, roleCache, applied }: ObserveContext): Promise<RoleView | undefined> {
  if (!roleCache) return undefined;
  // A claim awi never applied uses only the cache's "no such role": its create
  // needs no read (CreateRole refuses a duplicate). Any role of that name is read directly.
  if (!applied) return (await roleCache.absent(desired.accountId, desired.role.name)) ? roleViewFromCache(undefined, desired) : undefined;
  const cached = await roleCache.lookup(desired.accountId, desired.role.name);
  return cached === 'unknown' ? undefined : roleViewFromCache(cached.value, desired);
}

/**
 * A cached part is read directly before any step or blocker, except creating
 * a role the cache says does not exist: IAM refuses the duplicate
 * (EntityAlreadyExists, then a direct read), so no role is ever written from a
 * cached view of it.
 */
function roleReadBeforeActing(plan: Plan): boolean {
  if (plan.blockers.length) return true;
  return plan.steps.length > 0 && !plan.steps.some((s) => s.kind === 'CreateRole');
}

function roleViewFromCache(c: CachedRole | undefined, desired: DesiredState): RoleView {
  if (!c) return { inlinePolicyNames: [], attachedPolicyArns: [] };
  if (!ownedByClaim(c.role.tags, desired)) return { role: c.role, inlinePolicyNames: [], attachedPolicyArns: [] };
  return { role: c.role, ...inlineView(c, desired.permissionPolicy.name), attachedPolicyArns: c.attachedPolicyArns };
}

function diffRole(desired: DesiredState, observed: Observed): Diff {
  const role = observed.role;
  if (!role) return { steps: [{ kind: 'CreateRole' }] };
  if (!ownedByClaim(role.tags, desired)) return { steps: [], blocker: roleBlocker(role) };
  const steps: Step[] = [];
  // The ceiling first: deploy/aws/controller-policy.json lets the controller rewrite trust only on roles that carry the boundary.
  if ((role.permissionsBoundaryArn ?? '') !== (desired.role.permissionsBoundaryArn ?? '')) steps.push({ kind: 'SetPermissionsBoundary' });
  if (!policiesEqual(role.trustPolicy, desired.role.trustPolicy)) steps.push({ kind: 'UpdateTrustPolicy' });
  const tagSet = Object.fromEntries(Object.entries(desired.role.tags).filter(([k, v]) => role.tags[k] !== v));
  if (Object.keys(tagSet).length) steps.push({ kind: 'TagRole', tags: tagSet });
  const stale = Object.keys(role.tags).filter((k) => k.startsWith('awi.dev/') && !(k in desired.role.tags)).sort();
  if (stale.length) steps.push({ kind: 'UntagRole', keys: stale });
  const why = [
    role.description !== desired.role.description ? 'description' : '',
    role.maxSessionDurationSeconds !== desired.role.maxSessionDurationSeconds ? 'max session duration' : '',
  ].filter(Boolean);
  if (why.length) steps.push({ kind: 'UpdateRoleSettings', why: why.join(', ') });
  return { steps };
}

function roleBlocker(role: ObservedRole): Blocker {
  const o = roleOwner(role.tags);
  const retained = role.tags[RELEASED_TAG] === 'true';
  return {
    resource: 'Role',
    reason: 'RoleNotOwned',
    message: o
      ? retained
        ? `IAM role ${role.name} was retained when awi claim ${o.namespace}/${o.claim} on cluster ${o.cluster} was deleted (deletionPolicy Retain); awi will not modify it. Delete that role to let this claim create its own, or change the role name template or the ServiceAccount.`
        : `IAM role ${role.name} belongs to awi claim ${o.namespace}/${o.claim} on cluster ${o.cluster}; awi will not modify it. Change the role name template or the ServiceAccount.`
      : `IAM role ${role.name} exists without awi's ownership tags (${TAG.managedBy}=awi); awi will not modify it. Delete or rename that role, or change the role name template.`,
  };
}
