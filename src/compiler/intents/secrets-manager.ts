// Secrets Manager: a secret's ARN ends in "-" and 6 random characters, so a
// name matches "<name>-??????" (exactly that secret, not "<name>-other");
// a name prefix matches "<prefix>*".

import type { SecretsManagerPermission } from '../../api/types.js';
import { allow, type Grant, type IntentContext } from './grant.js';

const READ = ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'];

export function secretsManagerGrants(entries: SecretsManagerPermission[], ctx: IntentContext): Grant[] {
  return entries.map((entry, i) => {
    const base = `arn:${ctx.partition}:secretsmanager:${ctx.region}:${ctx.accountId}:secret:`;
    const resource = entry.name !== undefined ? `${base}${entry.name}-??????` : `${base}${entry.namePrefix ?? ''}*`;
    return allow(`spec.permissions.secretsManager[${i}]`, READ, [resource]);
  });
}
