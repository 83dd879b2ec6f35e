// SQS: producers send, consumers receive and delete; both look the queue up.

import type { SqsPermission } from '../../api/types.js';
import { allow, type Grant, type IntentContext } from './grant.js';

const LOOKUP = ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl'];
const ACTIONS = {
  send: ['sqs:SendMessage', ...LOOKUP],
  consume: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', ...LOOKUP],
} as const;

export function sqsGrants(entries: SqsPermission[], ctx: IntentContext): Grant[] {
  return entries.map((entry, i) =>
    allow(
      `spec.permissions.sqs[${i}]`,
      entry.access.flatMap((a) => ACTIONS[a]),
      [`arn:${ctx.partition}:sqs:${ctx.region}:${ctx.accountId}:${entry.queue}`],
    ),
  );
}
