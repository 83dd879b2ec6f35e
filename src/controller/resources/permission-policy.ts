// The role's permissions: exactly the claim's inline policy and the claimed
// managed policies; anything else on the role (added by hand) goes.
import { policiesEqual } from '../../compiler/canonical.js';
import type { DesiredState } from '../../compiler/types.js';
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
  steps: { PutInlinePolicy: true, DeleteInlinePolicy: true, AttachPolicy: true, DetachPolicy: true },
  diff: diffPolicy,
};

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
