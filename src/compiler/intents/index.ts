// All intents of a claim, in a fixed order.

import type { Permissions } from '../../api/types.js';
import { assumeRoleGrants } from './assume-roles.js';
import { dynamodbGrants } from './dynamodb.js';
import type { Grant, IntentContext } from './grant.js';
import { kmsGrants } from './kms.js';
import { rawGrants } from './raw.js';
import { s3Grants } from './s3.js';
import { secretsManagerGrants } from './secrets-manager.js';
import { snsGrants } from './sns.js';
import { sqsGrants } from './sqs.js';
import { ssmGrants } from './ssm.js';
import { unscopedGrants } from './unscoped.js';

export type { Grant, IntentContext } from './grant.js';
export { kmsKeyArn } from './kms.js';

export function compileIntents(permissions: Permissions, ctx: IntentContext): Grant[] {
  return [
    ...s3Grants(permissions.s3 ?? [], ctx),
    ...sqsGrants(permissions.sqs ?? [], ctx),
    ...snsGrants(permissions.sns ?? [], ctx),
    ...dynamodbGrants(permissions.dynamodb ?? [], ctx),
    ...kmsGrants(permissions.kms ?? [], ctx),
    ...secretsManagerGrants(permissions.secretsManager ?? [], ctx),
    ...ssmGrants(permissions.ssmParameters ?? [], ctx),
    ...unscopedGrants(permissions),
    ...assumeRoleGrants(permissions.assumeRoles ?? []),
    ...rawGrants(permissions.rawStatements ?? []),
  ];
}
