// Which granted actions a guardrail refuses.
//
// A forbidden entry forbids every action it matches, concrete or wildcard:
// "iam:*" forbids iam:PutRolePolicy, "s3:*" forbids s3:GetObject, and
// "iam:PassRole" forbids iam:PassRole, iam:Pass*, iam:* and *. A wildcard
// grant is refused when any action it stands for is forbidden (s3:*Object
// against s3:Delete*). Wildcard grants as such are a separate rule
// (allowWildcardActions). IAM action names are case-insensitive, so is the
// matching.

import { globsIntersect, hasWildcard } from './glob.js';

export function forbids(forbidden: string, granted: string): boolean {
  return globsIntersect(forbidden, granted);
}

/** The forbidden entries that refuse this grant (empty when allowed). */
export function forbiddenEntriesFor(granted: string, forbiddenActions: readonly string[]): string[] {
  return forbiddenActions.filter((forbidden) => forbids(forbidden, granted));
}

export function servicePrefix(action: string): string {
  const colon = action.indexOf(':');
  return colon < 0 ? action : action.slice(0, colon).toLowerCase();
}

// IAM and STS actions that only read. Everything else in those services
// changes identities or mints credentials, so a claim may never grant it
// (sts:AssumeRole only through spec.permissions.assumeRoles and the
// guardrail's allowedAssumeRoleArns). Matched by name prefix: every IAM
// Get*/List* action is a read.
const IAM_READ = /^iam:(Get|List)[A-Za-z0-9]*$/i;
const STS_READ = /^sts:(GetCallerIdentity|GetAccessKeyInfo)$/i;

/**
 * True when the action (or any action a wildcard stands for) is an IAM or
 * STS write. A wildcard counts as a write unless its literal head pins it
 * to reads (iam:Get*, iam:List*).
 */
export function isIamOrStsWrite(action: string): boolean {
  if (action === '*' || hasWildcard(servicePrefix(action))) return true;
  const service = servicePrefix(action);
  if (service !== 'iam' && service !== 'sts') return false;
  if (!hasWildcard(action)) return !(IAM_READ.test(action) || STS_READ.test(action));
  if (service === 'sts') return true;
  const head = action.slice(4).split(/[*?]/)[0] ?? '';
  return !/^(Get|List)/i.test(head);
}
