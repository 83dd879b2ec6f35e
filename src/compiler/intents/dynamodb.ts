// DynamoDB: item reads and queries (no Scan: reading a whole table is a choice
// a claim would have to justify, and there is no intent for it yet), item
// writes; indexes are read-only resources.

import type { DynamoDbPermission } from '../../api/types.js';
import { allow, type Grant, type IntentContext } from './grant.js';

const READ = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:DescribeTable'];
const WRITE = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];

export function dynamodbGrants(entries: DynamoDbPermission[], ctx: IntentContext): Grant[] {
  return entries.flatMap((entry, i) => {
    const field = `spec.permissions.dynamodb[${i}]`;
    const tableArn = `arn:${ctx.partition}:dynamodb:${ctx.region}:${ctx.accountId}:table/${entry.table}`;
    const grants: Grant[] = [];
    if (entry.access.includes('read')) {
      grants.push(allow(field, READ, entry.indexes ? [tableArn, `${tableArn}/index/*`] : [tableArn]));
    }
    if (entry.access.includes('write')) grants.push(allow(field, WRITE, [tableArn]));
    return grants;
  });
}
