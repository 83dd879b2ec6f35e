// EKS Pod Identity association manager.
import {
  CreatePodIdentityAssociationCommand, DeletePodIdentityAssociationCommand, DescribePodIdentityAssociationCommand, EKSClient,
  ListPodIdentityAssociationsCommand, UpdatePodIdentityAssociationCommand,
} from '@aws-sdk/client-eks';
import { isNotFound } from '../../aws/errors.js';
import type { PodIdentityBinding } from '../../compiler/types.js';

export interface ObservedAssociation {
  associationId: string;
  clusterName: string;
  namespace: string;
  serviceAccount: string;
  roleArn: string;
  tags: Record<string, string>;
}

export class AssociationManager {
  constructor(private readonly eks: EKSClient) {}

  /** Every association for one namespace and ServiceAccount (AWS allows at most one). */
  async find(clusterName: string, namespace: string, serviceAccount: string): Promise<ObservedAssociation[]> {
    const ids: string[] = [];
    let nextToken: string | undefined;
    do {
      const out = await this.eks.send(
        new ListPodIdentityAssociationsCommand({ clusterName, namespace, serviceAccount, ...(nextToken ? { nextToken } : {}) }),
      );
      ids.push(...(out.associations ?? []).flatMap((a) => (a.associationId ? [a.associationId] : [])));
      nextToken = out.nextToken;
    } while (nextToken);
    const found: ObservedAssociation[] = [];
    for (const id of ids) {
      const a = await this.describe(clusterName, id);
      if (a) found.push(a);
    }
    return found;
  }

  async describe(clusterName: string, associationId: string): Promise<ObservedAssociation | undefined> {
    try {
      const { association: a } = await this.eks.send(new DescribePodIdentityAssociationCommand({ clusterName, associationId }));
      if (!a?.associationId) return undefined;
      return {
        associationId: a.associationId,
        clusterName: a.clusterName ?? clusterName,
        namespace: a.namespace ?? '',
        serviceAccount: a.serviceAccount ?? '',
        roleArn: a.roleArn ?? '',
        tags: a.tags ?? {},
      };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async create(binding: PodIdentityBinding): Promise<string> {
    const out = await this.eks.send(
      new CreatePodIdentityAssociationCommand({
        clusterName: binding.clusterName,
        namespace: binding.namespace,
        serviceAccount: binding.serviceAccount,
        roleArn: binding.roleArn,
        tags: binding.tags,
      }),
    );
    return out.association?.associationId ?? '';
  }

  async updateRole(clusterName: string, associationId: string, roleArn: string): Promise<void> {
    await this.eks.send(new UpdatePodIdentityAssociationCommand({ clusterName, associationId, roleArn }));
  }

  async delete(clusterName: string, associationId: string): Promise<void> {
    try {
      await this.eks.send(new DeletePodIdentityAssociationCommand({ clusterName, associationId }));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
