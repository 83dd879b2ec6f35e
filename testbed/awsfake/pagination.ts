// Token pagination as AWS list APIs do it: an opaque nextToken that stays
// valid when items before or after it are added or deleted. The token encodes
// the sort key of the last item returned. Pure.

export class InvalidTokenError extends Error {}

export interface Page<T> {
  items: T[];
  nextToken?: string;
}

export function encodeToken(key: string): string {
  return Buffer.from(JSON.stringify({ after: key }), 'utf8').toString('base64url');
}

export function decodeToken(token: string): string {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { after?: unknown };
    if (typeof v.after === 'string') return v.after;
  } catch {
    // fall through
  }
  throw new InvalidTokenError('The nextToken is invalid.');
}

/**
 * One page of `items` (any order; sorted here by `key`, which must be unique),
 * after the item named by `nextToken`, at most `maxResults` long.
 */
export function paginate<T>(items: readonly T[], key: (item: T) => string, maxResults: number, nextToken?: string): Page<T> {
  const sorted = [...items].sort((a, b) => cmp(key(a), key(b)));
  let start = 0;
  if (nextToken !== undefined && nextToken !== '') {
    const after = decodeToken(nextToken);
    start = sorted.findIndex((i) => cmp(key(i), after) > 0);
    if (start < 0) start = sorted.length;
  }
  const page = sorted.slice(start, start + maxResults);
  const more = start + maxResults < sorted.length;
  return more && page.length > 0 ? { items: page, nextToken: encodeToken(key(page[page.length - 1]!)) } : { items: page };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
