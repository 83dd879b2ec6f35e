// Reads and writes AwsWorkloadIdentityClaim objects: the claim itself, its
// finalizer (with an optimistic-concurrency precondition) and its status
// (through the status subresource only).
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import type { AwsWorkloadIdentityClaim, ClaimStatus } from '../api/types.js';
import { isKubeNotFound } from './errors.js';
import { GROUP, PLURAL, VERSION } from '../ownership.js';
import { mergePatch } from './patch.js';

export { FINALIZER, GROUP, KIND, PLURAL, VERSION } from '../ownership.js';

/** A JSON merge patch of the status: fields as the generated type has them, null removes one. */
export type ClaimStatusPatch = { [K in keyof ClaimStatus]?: ClaimStatus[K] | null };

export class ClaimClient {
  private readonly api: CustomObjectsApi;
  constructor(kc: KubeConfig) {
    this.api = kc.makeApiClient(CustomObjectsApi);
  }

  async get(namespace: string, name: string): Promise<AwsWorkloadIdentityClaim | undefined> {
    try {
      return (await this.api.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name })) as AwsWorkloadIdentityClaim;
    } catch (err) {
      if (isKubeNotFound(err)) return undefined;
      throw err;
    }
  }

  async list(namespace?: string): Promise<AwsWorkloadIdentityClaim[]> {
    const out = (namespace
      ? await this.api.listNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace })
      : await this.api.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })) as { items: AwsWorkloadIdentityClaim[] };
    return out.items;
  }

  /**
   * Sets the finalizer list at the observed resourceVersion: a concurrent
   * writer makes this a 409 instead of one of us silently losing an entry.
   */
  async setFinalizers(claim: AwsWorkloadIdentityClaim, finalizers: string[]): Promise<AwsWorkloadIdentityClaim> {
    const { namespace = '', name, resourceVersion } = claim.metadata;
    return (await this.api.patchNamespacedCustomObject(
      { group: GROUP, version: VERSION, plural: PLURAL, namespace, name, body: { metadata: { resourceVersion, finalizers } } },
      mergePatch,
    )) as AwsWorkloadIdentityClaim;
  }

  async patchStatus(claim: AwsWorkloadIdentityClaim, status: ClaimStatusPatch): Promise<void> {
    const { namespace = '', name } = claim.metadata;
    await this.api.patchNamespacedCustomObjectStatus(
      { group: GROUP, version: VERSION, plural: PLURAL, namespace, name, body: { status } },
      mergePatch,
    );
  }
}

export const claimKey = (namespace: string, name: string): string => `${namespace}/${name}`;
export function parseClaimKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
