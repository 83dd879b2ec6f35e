// Cross-account Pod Identity: the source role in the cluster's account (see
// compiler/pod-identity.ts). The claim's own role, its policy and the
// association go through the usual plan; this module keeps the extra role,
// with the same rules: only a role carrying this claim's ownership tags is
// changed or deleted, and it holds exactly awi's trust and inline policy.
import { policiesEqual } from '../compiler/canonical.js';
import { withAssociationExternalId } from '../compiler/pod-identity.js';
import type { DesiredSourceRole, DesiredState } from '../compiler/types.js';
import { isOwnedBy, ownedByClaim, type ClaimOwner } from '../ownership.js';
import type { ObservedAssociation } from './managers/association.js';
import type { AccountManagers } from './managers/factory.js';
import type { Blocker } from './plan.js';

export type SourceRoleManagers = AccountManagers;

/**
 * The desired state with the claim role's trust naming the external id of
 * this claim's association, when it exists and targets the claim's role.
 */
export function withObservedExternalId(desired: DesiredState, associations: readonly ObservedAssociation[]): DesiredState {
  const ours = associations.find((a) => ownedByClaim(a.tags, desired) && a.targetRoleArn === desired.role.arn);
  return withAssociationExternalId(desired, ours?.externalId);
}

/** Creates or corrects the source role; a role of that name not owned by the claim is left alone and blocks. Returns what it did. */
export async function ensureSourceRole(source: DesiredSourceRole, owner: ClaimOwner, m: SourceRoleManagers): Promise<{ applied: string[]; blocker?: Blocker }> {
  const applied: string[] = [];
  const observed = await m.role.get(source.name);
  if (!observed) {
    await m.role.create(source);
    applied.push(`created source role ${source.arn}`);
  } else {
    if (!isOwnedBy(observed.tags, owner)) {
      return {
        applied,
        blocker: { resource: 'Role', reason: 'RoleNotOwned', message: `Role ${observed.arn} (the Pod Identity source role this claim needs) exists and is not owned by this claim: awi leaves it alone; rename or remove it.` },
      };
    }
    if (!policiesEqual(observed.trustPolicy, source.trustPolicy)) {
      await m.role.updateTrust(source.name, source.trustPolicy);
      applied.push(`restored the trust of source role ${source.arn}`);
    }
    const missing = Object.fromEntries(Object.entries(source.tags).filter(([k, v]) => observed.tags[k] !== v));
    if (Object.keys(missing).length) await m.role.tag(source.name, missing);
    if ((observed.permissionsBoundaryArn ?? undefined) !== source.permissionsBoundaryArn) await m.role.setBoundary(source.name, source.permissionsBoundaryArn);
  }
  // Exactly one inline policy (sts:AssumeRole on the claim's role) and nothing attached.
  const names = observed ? await m.policy.listInlineNames(source.name) : [];
  for (const name of names.filter((n) => n !== source.permissionPolicy.name)) {
    await m.policy.deleteInline(source.name, name);
    applied.push(`removed inline policy ${name} from source role ${source.arn}`);
  }
  const inline = observed ? await m.policy.getInline(source.name, source.permissionPolicy.name) : undefined;
  if (!inline || !policiesEqual(inline, source.permissionPolicy.document)) {
    await m.policy.putInline(source.name, source.permissionPolicy.name, source.permissionPolicy.document);
    applied.push(`wrote the policy of source role ${source.arn}`);
  }
  for (const arn of observed ? await m.policy.listAttached(source.name) : []) {
    await m.policy.detach(source.name, arn);
    applied.push(`detached ${arn} from source role ${source.arn}`);
  }
  return { applied };
}

/** Deletes the source role with its policies when this claim owns it; returns what was removed (undefined: nothing). */
export async function deleteSourceRole(roleName: string, owner: ClaimOwner, m: SourceRoleManagers): Promise<string | undefined> {
  const observed = await m.role.get(roleName);
  if (!observed || !isOwnedBy(observed.tags, owner)) return undefined;
  for (const name of await m.policy.listInlineNames(roleName)) await m.policy.deleteInline(roleName, name);
  for (const arn of await m.policy.listAttached(roleName)) await m.policy.detach(roleName, arn);
  await m.role.delete(roleName);
  return `source role ${observed.arn} and its policies`;
}
