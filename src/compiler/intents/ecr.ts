// ECR: pulling images, and the registry login a pull needs.
//
// A pull is ecr:BatchGetImage (the manifest), ecr:GetDownloadUrlForLayer (each
// layer) and ecr:BatchCheckLayerAvailability, all authorized on the
// repository (Service Authorization Reference, Amazon ECR: resource type
// "repository", arn:<partition>:ecr:<region>:<account>:repository/<name>).
// Docker and containerd log in first with ecr:GetAuthorizationToken, which has
// no resource type: it comes from the list of *-only actions, never as a
// wildcard. So ecrPull implies the login; a claim that also sets
// ecrAuthorizationToken gets the same grant twice, which the statement merge
// folds into one.

import type { EcrPullPermission } from '../../api/types.js';
import { allow, allowUnscoped, type Grant, type IntentContext } from './grant.js';

export const ECR_PULL_ACTIONS = ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'];

/** The repository's ARN: in the claim's region, in its registry's account (the claim's own unless registryAccountId says otherwise). */
export function ecrRepositoryArn(entry: EcrPullPermission, ctx: IntentContext): string {
  return `arn:${ctx.partition}:ecr:${ctx.region}:${entry.registryAccountId ?? ctx.accountId}:repository/${entry.repository}`;
}

export function ecrAuthorizationTokenGrant(field: string): Grant {
  return allowUnscoped(field, ['ecr:GetAuthorizationToken']);
}

export function ecrPullGrants(entries: EcrPullPermission[], ctx: IntentContext): Grant[] {
  if (entries.length === 0) return [];
  return [
    ...entries.map((entry, i) => allow(`spec.permissions.ecrPull[${i}]`, ECR_PULL_ACTIONS, [ecrRepositoryArn(entry, ctx)])),
    ecrAuthorizationTokenGrant('spec.permissions.ecrPull'),
  ];
}

export function ecrAuthorizationTokenGrants(enabled: boolean): Grant[] {
  return enabled ? [ecrAuthorizationTokenGrant('spec.permissions.ecrAuthorizationToken')] : [];
}
