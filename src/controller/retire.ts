// Removes what revoke.ts decided to retire: the association first (pods stop
// getting credentials through it), then the role with its policies, then the
// ServiceAccount. Each only if it carries this claim's ownership tags or
// labels; NotFound counts as done, so running it twice is harmless.
import type { Logger } from 'pino';
import type { PlatformConfig } from '../config/types.js';
import type { ManagerFactory } from './managers/factory.js';
import { isOwnedBy, serviceAccountClaim, type ClaimOwner } from '../ownership.js';
import type { RetireAction } from './revoke.js';

export interface RetireContext {
  managers: ManagerFactory;
  config: PlatformConfig;
  owner: ClaimOwner;
  log: Logger;
  /** Told before a role is changed, so a shared observation never answers with the role as it was. */
  roleWritten?(accountId: string, roleName: string): void;
  /** Told after an association delete (even a failed one), so a shared observation reads that ServiceAccount directly next time. */
  associationWritten?(namespace: string, serviceAccount: string, associationIds: readonly string[]): void;
}

export interface RetireResult {
  /** What was removed, for the OldIdentityRetired event. */
  removed: string[];
  /** Roles in accounts no longer in the platform config: awi cannot reach them (retrying would never end). */
  unreachable: string[];
}

/** Runs the removals. */
export async function retireIdentities(actions: RetireAction[], c: RetireContext): Promise<RetireResult> {
  const removed: string[] = [];
  const unreachable: string[] = [];
  const { association } = c.managers.cluster();
  for (const a of actions) {
    if (a.serviceAccount) {
      for (const found of await association.find(c.config.cluster.name, c.owner.namespace, a.serviceAccount)) {
        if (!isOwnedBy(found.tags, c.owner)) continue;
        try {
          await association.delete(found.clusterName, found.associationId);
        } finally {
          c.associationWritten?.(c.owner.namespace, a.serviceAccount, [found.associationId]);
        }
        removed.push(`Pod Identity association ${found.associationId} of ServiceAccount ${c.owner.namespace}/${a.serviceAccount}`);
      }
    }
    if (a.role && !c.config.accounts.some((acct) => acct.accountId === a.role!.accountId)) {
      unreachable.push(a.role.arn);
    } else if (a.role) {
      const { role: roles, policy: policies } = c.managers.forAccount(a.role.accountId);
      const role = await roles.get(a.role.name);
      if (role && isOwnedBy(role.tags, c.owner)) {
        c.roleWritten?.(a.role.accountId, a.role.name);
        for (const name of await policies.listInlineNames(a.role.name)) await policies.deleteInline(a.role.name, name);
        for (const arn of await policies.listAttached(a.role.name)) await policies.detach(a.role.name, arn);
        await roles.delete(a.role.name);
        removed.push(`role ${role.arn} and its policies`);
      } else if (role) {
        c.log.warn({ role: role.arn }, 'retiring role not owned by this claim: left in place');
      }
    }
    if (a.serviceAccount) {
      const sa = await c.managers.serviceAccounts.get(c.owner.namespace, a.serviceAccount);
      const holder = sa && serviceAccountClaim(sa);
      if (sa && holder?.namespace === c.owner.namespace && holder.claim === c.owner.claim) {
        await c.managers.serviceAccounts.delete(sa);
        removed.push(`ServiceAccount ${sa.namespace}/${sa.name}`);
      }
    }
  }
  return { removed, unreachable };
}
