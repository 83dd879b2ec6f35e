// Writes the ownership ledger: tags on every AWS resource awi manages and
// labels on every ServiceAccount. The names are the ownership vocabulary's
// (src/ownership.ts), which also reads them back.
import { LABEL, MANAGED_BY, TAG } from '../ownership.js';

export { LABEL, MANAGED_BY, TAG };

export const TAGS_PER_ROLE_MAX = 50;

export interface TagInputs {
  /** The cluster's ARN (config.cluster.arn): names alone collide across regions and accounts. */
  cluster: string;
  namespace: string;
  claim: string;
  claimUid?: string;
  owner: string;
  environment: string;
  defaults: Record<string, string>;
}

/** Config default tags first, then the ledger (the config cannot use awi.dev/ keys), keys sorted. */
export function roleTags(input: TagInputs): Record<string, string> {
  const tags: Record<string, string> = {
    ...input.defaults,
    [TAG.managedBy]: MANAGED_BY,
    [TAG.cluster]: input.cluster,
    [TAG.namespace]: input.namespace,
    [TAG.claim]: input.claim,
    [TAG.owner]: input.owner,
    [TAG.environment]: input.environment,
    ...(input.claimUid ? { [TAG.claimUid]: input.claimUid } : {}),
  };
  return sortKeys(tags);
}

export function serviceAccountLabels(namespace: string, claim: string): Record<string, string> {
  return sortKeys({ [LABEL.managedBy]: MANAGED_BY, [LABEL.claim]: claim, [LABEL.claimNamespace]: namespace });
}

export function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
