// Which granted actions a forbidden-actions list refuses.
//
// A forbidden entry without wildcards (iam:PassRole) refuses every grant that
// would allow it: iam:PassRole itself, and patterns covering it (iam:Pass*,
// iam:*, *). A forbidden entry with wildcards (s3:*, *) refuses wildcard
// grants it covers or that cover it: "s3:*" refuses s3:*, s3:Get* and *; "*"
// refuses every wildcard grant. It does not refuse a concrete action such as
// s3:GetObject: the platform config lists "s3:*" to forbid granting all of S3,
// and lists concrete actions (iam:PassRole) to forbid those.
// IAM action names are case-insensitive, so is the matching.

import { globMatch, hasWildcard } from './glob.js';

export function forbids(forbidden: string, granted: string): boolean {
  if (globMatch(granted, forbidden, true)) return true; // the grant covers the forbidden entry
  return hasWildcard(granted) && globMatch(forbidden, granted, true); // a wildcard grant inside a forbidden pattern
}

/** The forbidden entries that refuse this grant (empty when allowed). */
export function forbiddenEntriesFor(granted: string, forbiddenActions: readonly string[]): string[] {
  return forbiddenActions.filter((forbidden) => forbids(forbidden, granted));
}

export function servicePrefix(action: string): string {
  const colon = action.indexOf(':');
  return colon < 0 ? action : action.slice(0, colon).toLowerCase();
}
