// Globs with "*" (any run of characters) and "?" (one character), as IAM
// uses them in actions and ARNs, and as the platform configuration uses them
// for namespace names.

const cache = new Map<string, RegExp>();

export function globToRegExp(pattern: string, caseInsensitive = false): RegExp {
  const key = `${caseInsensitive ? 'i' : 's'}:${pattern}`;
  let re = cache.get(key);
  if (!re) {
    const body = [...pattern]
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/-]/g, '\\$&')))
      .join('');
    re = new RegExp(`^${body}$`, caseInsensitive ? 'is' : 's');
    if (cache.size > 1000) cache.clear(); // patterns come from claims too: keep the cache bounded
    cache.set(key, re);
  }
  return re;
}

export function globMatch(pattern: string, value: string, caseInsensitive = false): boolean {
  return globToRegExp(pattern, caseInsensitive).test(value);
}

export function hasWildcard(value: string): boolean {
  return value.includes('*') || value.includes('?');
}

/**
 * True when the glob `pattern` matches every string the glob `value` can
 * stand for (value's wildcards may only be absorbed by pattern wildcards:
 * a pattern "?" stands for one character, so it cannot cover a value "*").
 * Conservative: when in doubt, false. Case-sensitive, as ARNs are.
 */
export function globCovers(pattern: string, value: string): boolean {
  const p = [...pattern];
  const v = [...value];
  const memo = new Map<number, boolean>();
  const go = (i: number, j: number): boolean => {
    const key = i * (v.length + 1) + j;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let result: boolean;
    if (i === p.length) result = j === v.length;
    else if (p[i] === '*') result = go(i + 1, j) || (j < v.length && go(i, j + 1));
    else if (j === v.length) result = false;
    else if (p[i] === '?') result = v[j] !== '*' && go(i + 1, j + 1);
    else result = p[i] === v[j] && v[j] !== '*' && v[j] !== '?' && go(i + 1, j + 1);
    memo.set(key, result);
    return result;
  };
  return go(0, 0);
}

/**
 * True when some string matches both globs: an action pattern a grant uses
 * and one the platform forbids overlap (s3:*Object and s3:Delete* both
 * match s3:DeleteObject). Case-insensitive (IAM action names are).
 */
export function globsIntersect(a: string, b: string): boolean {
  const x = [...a.toLowerCase()];
  const y = [...b.toLowerCase()];
  const memo = new Map<number, boolean>();
  const go = (i: number, j: number): boolean => {
    const key = i * (y.length + 1) + j;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let result: boolean;
    if (i === x.length && j === y.length) result = true;
    else if (i < x.length && x[i] === '*') result = go(i + 1, j) || (j < y.length && go(i, j + 1));
    else if (j < y.length && y[j] === '*') result = go(i, j + 1) || (i < x.length && go(i + 1, j));
    else if (i === x.length || j === y.length) result = false;
    else result = (x[i] === '?' || y[j] === '?' || x[i] === y[j]) && go(i + 1, j + 1);
    memo.set(key, result);
    return result;
  };
  return go(0, 0);
}
