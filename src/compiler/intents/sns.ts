// SNS: publish to one topic.

import type { SnsPermission } from '../../api/types.js';
import { allow, type Grant, type IntentContext } from './grant.js';

export function snsGrants(entries: SnsPermission[], ctx: IntentContext): Grant[] {
  return entries.map((entry, i) =>
    allow(`spec.permissions.sns[${i}]`, ['sns:Publish'], [`arn:${ctx.partition}:sns:${ctx.region}:${ctx.accountId}:${entry.topic}`]),
  );
}
