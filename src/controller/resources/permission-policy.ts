// The role's permissions: exactly the claim's inline policy and the claimed
// managed policies; anything else on the role (added by hand) goes.
import { policiesEqual } from '../../compiler/canonical.js';
import type { DesiredState } from '../../compiler/types.js';
import type { PolicyApi } from '../managers/factory.js';
import { isOwnedBy } from '../../ownership.js';
import type { Observed, Step } from '../plan.js';
import type { Diff, ResourceModule } from './types.js';

export type PolicyStep =
  | { kind: 'PutInlinePolicy' }
  | { kind: 'DeleteInlinePolicy'; name: string }
  | { kind: 'AttachPolicy'; arn: string }
  | { kind: 'DetachPolicy'; arn: string };

export const permissionPolicyResource: ResourceModule<'Policy', PolicyStep, 'PolicyReady'> = {
  kind: 'Policy',
  condition: 'PolicyReady',
  readyMessage: (d, ok) => ok ? `Permission policy ${d.permissionPolicy.name} (${d.digests.policy}) is in place.` : `Permission policy ${d.permissionPolicy.name} was written; waiting for IAM to propagate it.`,
  store: 'AWS',
  // No observe of its own: the policies are read with their role (readPolicies), as IAM pages them.
  diff: diffPolicy,
  execute: {
    PutInlinePolicy: async (_step, { desired, managers }) => {
      await managers.policy.putInline(desired.role.name, desired.permissionPolicy.name, desired.permissionPolicy.document);
      return {};
    },
    DeleteInlinePolicy: async (step, { desired, managers }) => {
      await managers.policy.deleteInline(desired.role.name, step.name);
      return {};
    },
    AttachPolicy: async (step, { desired, managers }) => {
      await managers.policy.attach(desired.role.name, step.arn);
      return {};
    },
    DetachPolicy: async (step, { desired, managers }) => {
      await managers.policy.detach(desired.role.name, step.arn);
      return {};
    },
  },
  // Every policy on the claim's role goes (IAM deletes a role only without them); the role module then says what it removed.
  cleanup: async (ctx) => {
    const role = await ctx.role();
    if (!role || !isOwnedBy(role.tags, ctx.target.owner)) return [];
    const { roleName } = ctx.target;
    ctx.roleWritten();
    for (const name of await ctx.managers.policy.listInlineNames(roleName)) await ctx.managers.policy.deleteInline(roleName, name);
    for (const arn of await ctx.managers.policy.listAttached(roleName)) await ctx.managers.policy.detach(roleName, arn);
    return [];
  },
};

/** The role's policies as the plan needs them: the claim's inline policy, every inline policy name, the attached ARNs. */
export async function readPolicies(policy: PolicyApi, desired: DesiredState, roleName: string): Promise<Pick<Observed, 'inlinePolicy' | 'inlinePolicyNames' | 'attachedPolicyArns'>> {
  const [inlinePolicy, inlinePolicyNames, attachedPolicyArns] = await Promise.all([
    policy.getInline(roleName, desired.permissionPolicy.name),
    policy.listInlineNames(roleName),
    policy.listAttached(roleName),
  ]);
  return { ...(inlinePolicy ? { inlinePolicy } : {}), inlinePolicyNames, attachedPolicyArns };
}

/**
 * A claim of managed policies only has no statements: IAM refuses an empty
 * inline policy, so ours must then be absent.
 */
function diffPolicy(desired: DesiredState, observed: Observed): Diff {
  const steps: Step[] = [];
  const wantInline = desired.permissionPolicy.document.Statement.length > 0;
  if (wantInline && (!observed.inlinePolicy || !policiesEqual(observed.inlinePolicy, desired.permissionPolicy.document))) {
    steps.push({ kind: 'PutInlinePolicy' });
  }
  for (const name of observed.inlinePolicyNames.filter((n) => !wantInline || n !== desired.permissionPolicy.name).sort()) {
    steps.push({ kind: 'DeleteInlinePolicy', name });
  }
  const attached = new Set(observed.attachedPolicyArns);
  for (const arn of desired.managedPolicyArns) if (!attached.has(arn)) steps.push({ kind: 'AttachPolicy', arn });
  for (const arn of [...attached].sort()) if (!desired.managedPolicyArns.includes(arn)) steps.push({ kind: 'DetachPolicy', arn });
  return { steps };
}
