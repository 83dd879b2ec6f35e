// SSM Parameter Store: the parameter itself and everything below it. The ARN
// of "/a/b" is ...:parameter/a/b (the leading slash is not doubled).

import type { SsmParameterPermission } from '../../api/types.js';
import { allow, type Grant, type IntentContext } from './grant.js';

const READ = ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath'];

export function ssmGrants(entries: SsmParameterPermission[], ctx: IntentContext): Grant[] {
  return entries.map((entry, i) => {
    const path = entry.path.replace(/^\/+/, '').replace(/\/+$/, '');
    const arn = `arn:${ctx.partition}:ssm:${ctx.region}:${ctx.accountId}:parameter/${path}`;
    return allow(`spec.permissions.ssmParameters[${i}]`, READ, [arn, `${arn}/*`]);
  });
}
