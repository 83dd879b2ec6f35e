// KMS: the named key only, optionally only through one service. S3 encrypts
// objects with a data key it asks KMS for, so "encrypt" through S3 also needs
// GenerateDataKey.

import type { KmsPermission } from '../../api/types.js';
import { allow, dnsSuffix, type Grant, type IntentContext } from './grant.js';

const ACTIONS = { decrypt: 'kms:Decrypt', encrypt: 'kms:Encrypt', generateDataKey: 'kms:GenerateDataKey' } as const;

export function kmsKeyArn(key: string, ctx: IntentContext): string {
  return key.startsWith('arn:') ? key : `arn:${ctx.partition}:kms:${ctx.region}:${ctx.accountId}:key/${key}`;
}

export function kmsGrants(entries: KmsPermission[], ctx: IntentContext): Grant[] {
  return entries.map((entry, i) => {
    const actions: string[] = entry.access.map((a) => ACTIONS[a]);
    if (entry.viaService === 's3' && entry.access.includes('encrypt')) actions.push(ACTIONS.generateDataKey);
    const condition = entry.viaService
      ? { StringEquals: { 'kms:ViaService': `${entry.viaService}.${ctx.region}.${dnsSuffix(ctx.partition)}` } }
      : undefined;
    return allow(`spec.permissions.kms[${i}]`, actions, [kmsKeyArn(entry.key, ctx)], condition);
  });
}
