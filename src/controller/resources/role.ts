// The claim's IAM role: trust policy, permissions boundary, tags and settings.
// A role of that name without this claim's ownership tags blocks the claim.
import { policiesEqual } from '../../compiler/canonical.js';
import { TAG } from '../../compiler/tags.js';
import type { DesiredState } from '../../compiler/types.js';
import type { ObservedRole } from '../managers/role.js';
import { ownedByClaim, RELEASED_TAG, roleOwner, type Blocker, type Observed, type Step } from '../plan.js';
import type { Diff, ResourceModule } from './types.js';

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
  steps: { CreateRole: true, UpdateTrustPolicy: true, UpdateRoleSettings: true, TagRole: true, UntagRole: true, SetPermissionsBoundary: true },
  diff: diffRole,
};

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
