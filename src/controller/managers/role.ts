// IAM role manager: read, create, update (trust, tags, boundary, settings) and
// delete one role. No decisions here: the plan says what to call.
import {
  CreateRoleCommand, DeleteRoleCommand, DeleteRolePermissionsBoundaryCommand, GetRoleCommand, IAMClient,
  PutRolePermissionsBoundaryCommand, TagRoleCommand, UntagRoleCommand, UpdateAssumeRolePolicyCommand, UpdateRoleCommand,
} from '@aws-sdk/client-iam';
import { isNotFound } from '../../aws/errors.js';
import type { DesiredRole, PolicyDocument } from '../../compiler/types.js';
import { parseIamPolicy } from '../iam-json.js';

export interface ObservedRole {
  name: string;
  path: string;
  arn: string;
  trustPolicy: PolicyDocument;
  tags: Record<string, string>;
  permissionsBoundaryArn?: string;
  maxSessionDurationSeconds: number;
  description: string;
}

export class RoleManager {
  constructor(private readonly iam: IAMClient) {}

  async get(name: string): Promise<ObservedRole | undefined> {
    try {
      const { Role: r } = await this.iam.send(new GetRoleCommand({ RoleName: name }));
      if (!r?.Arn || !r.RoleName) return undefined;
      return {
        name: r.RoleName,
        path: r.Path ?? '/',
        arn: r.Arn,
        trustPolicy: parseIamPolicy(r.AssumeRolePolicyDocument ?? '{"Version":"2012-10-17","Statement":[]}'),
        tags: Object.fromEntries((r.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
        ...(r.PermissionsBoundary?.PermissionsBoundaryArn ? { permissionsBoundaryArn: r.PermissionsBoundary.PermissionsBoundaryArn } : {}),
        maxSessionDurationSeconds: r.MaxSessionDuration ?? 3600,
        description: r.Description ?? '',
      };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async create(role: DesiredRole): Promise<void> {
    await this.iam.send(
      new CreateRoleCommand({
        RoleName: role.name,
        Path: role.path,
        AssumeRolePolicyDocument: JSON.stringify(role.trustPolicy),
        Description: role.description,
        MaxSessionDuration: role.maxSessionDurationSeconds,
        ...(role.permissionsBoundaryArn ? { PermissionsBoundary: role.permissionsBoundaryArn } : {}),
        Tags: toTags(role.tags),
      }),
    );
  }

  async updateTrust(name: string, trust: PolicyDocument): Promise<void> {
    await this.iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: name, PolicyDocument: JSON.stringify(trust) }));
  }

  async updateSettings(name: string, settings: { description: string; maxSessionDurationSeconds: number }): Promise<void> {
    await this.iam.send(
      new UpdateRoleCommand({ RoleName: name, Description: settings.description, MaxSessionDuration: settings.maxSessionDurationSeconds }),
    );
  }

  async tag(name: string, tags: Record<string, string>): Promise<void> {
    await this.iam.send(new TagRoleCommand({ RoleName: name, Tags: toTags(tags) }));
  }

  async untag(name: string, keys: string[]): Promise<void> {
    await this.iam.send(new UntagRoleCommand({ RoleName: name, TagKeys: keys }));
  }

  async setBoundary(name: string, boundaryArn: string | undefined): Promise<void> {
    if (boundaryArn) await this.iam.send(new PutRolePermissionsBoundaryCommand({ RoleName: name, PermissionsBoundary: boundaryArn }));
    else await this.iam.send(new DeleteRolePermissionsBoundaryCommand({ RoleName: name }));
  }

  /** Deletes the role; callers remove its inline and attached policies first. NotFound counts as done. */
  async delete(name: string): Promise<void> {
    try {
      await this.iam.send(new DeleteRoleCommand({ RoleName: name }));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

function toTags(tags: Record<string, string>): { Key: string; Value: string }[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}
