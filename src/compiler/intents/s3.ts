// S3: objects under the prefix, and listing limited to the prefix. ListBucket
// is a bucket-level action, so the prefix is enforced with s3:prefix; the
// bare prefix is listed too so that "ls prefix/" works.
// write is PutObject only: multipart uploads are authorized by PutObject too;
// AbortMultipartUpload is left out (a lifecycle rule cleans up what is left).

import type { S3Permission } from '../../api/types.js';
import { allow, type Grant, type IntentContext } from './grant.js';

const OBJECT_ACTIONS = { read: 's3:GetObject', write: 's3:PutObject', delete: 's3:DeleteObject' } as const;

export function s3Grants(entries: S3Permission[], ctx: IntentContext): Grant[] {
  return entries.flatMap((entry, i) => {
    const field = `spec.permissions.s3[${i}]`;
    const bucketArn = `arn:${ctx.partition}:s3:::${entry.bucket}`;
    const prefix = entry.prefix ?? '';
    const grants: Grant[] = [];
    if (entry.access.includes('read') || entry.access.includes('list')) {
      const condition = prefix ? { StringLike: { 's3:prefix': [prefix, `${prefix}*`] } } : undefined;
      // Listing reaches the keys under the prefix, not the whole bucket: patterns are checked against that.
      grants.push({ ...allow(field, ['s3:ListBucket'], [bucketArn], condition), reach: [`${bucketArn}/${prefix}*`] });
    }
    const objectActions = (['read', 'write', 'delete'] as const).filter((a) => entry.access.includes(a)).map((a) => OBJECT_ACTIONS[a]);
    if (objectActions.length) grants.push(allow(field, objectActions, [`${bucketArn}/${prefix}*`]));
    return grants;
  });
}
