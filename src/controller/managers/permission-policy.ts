// Permission policy manager: the role's inline policy and its attached
// managed policies.
import {
  AttachRolePolicyCommand, DeleteRolePolicyCommand, DetachRolePolicyCommand, GetRolePolicyCommand, IAMClient,
  ListAttachedRolePoliciesCommand, ListRolePoliciesCommand, PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { isNotFound } from '../../aws/errors.js';
import type { PolicyDocument } from '../../compiler/types.js';
import { parseIamPolicy } from '../iam-json.js';

export class PermissionPolicyManager {
  constructor(private readonly iam: IAMClient) {}

  async getInline(roleName: string, policyName: string): Promise<PolicyDocument | undefined> {
    try {
      const out = await this.iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: policyName }));
      return out.PolicyDocument ? parseIamPolicy(out.PolicyDocument) : undefined;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async putInline(roleName: string, policyName: string, doc: PolicyDocument): Promise<void> {
    await this.iam.send(new PutRolePolicyCommand({ RoleName: roleName, PolicyName: policyName, PolicyDocument: JSON.stringify(doc) }));
  }

  async deleteInline(roleName: string, policyName: string): Promise<void> {
    try {
      await this.iam.send(new DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: policyName }));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async listInlineNames(roleName: string): Promise<string[]> {
    const names: string[] = [];
    let marker: string | undefined;
    do {
      const out = await this.iam.send(new ListRolePoliciesCommand({ RoleName: roleName, ...(marker ? { Marker: marker } : {}) }));
      names.push(...(out.PolicyNames ?? []));
      marker = out.IsTruncated ? out.Marker : undefined;
    } while (marker);
    return names;
  }

  async listAttached(roleName: string): Promise<string[]> {
    const arns: string[] = [];
    let marker: string | undefined;
    do {
      const out = await this.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: roleName, ...(marker ? { Marker: marker } : {}) }));
      arns.push(...(out.AttachedPolicies ?? []).flatMap((p) => (p.PolicyArn ? [p.PolicyArn] : [])));
      marker = out.IsTruncated ? out.Marker : undefined;
    } while (marker);
    return arns.sort();
  }

  async attach(roleName: string, policyArn: string): Promise<void> {
    await this.iam.send(new AttachRolePolicyCommand({ RoleName: roleName, PolicyArn: policyArn }));
  }

  async detach(roleName: string, policyArn: string): Promise<void> {
    try {
      await this.iam.send(new DetachRolePolicyCommand({ RoleName: roleName, PolicyArn: policyArn }));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
