// The test bed's one IAM condition evaluator (testbed/awsfake/iam-conditions.ts)
// against the IAM User Guide: "IAM JSON policy elements: Condition operators",
// "Single-valued vs. multivalued context keys" and "Creating a condition with
// multiple context keys or values". Every expectation is AWS's documented
// behaviour, not awi's.
import { describe, expect, it } from '@jest/globals';
import { arnMatches, evaluateCondition, evaluateConditions, globMatch } from '../../testbed/awsfake/iam-conditions.js';

describe('string operators', () => {
  it('StringEquals is exact and case-sensitive; StringEqualsIgnoreCase is not case-sensitive', () => {
    expect(evaluateCondition('StringEquals', 'team-a', ['team-a'])).toBe('true');
    expect(evaluateCondition('StringEquals', 'Team-A', ['team-a'])).toBe('false');
    expect(evaluateCondition('StringEquals', 'team-ab', ['team-a*'])).toBe('false'); // no wildcards in StringEquals
    expect(evaluateCondition('StringEquals', 'team-a*', ['team-a*'])).toBe('true');
    expect(evaluateCondition('StringEqualsIgnoreCase', 'Team-A', ['team-a'])).toBe('true');
    expect(evaluateCondition('StringNotEqualsIgnoreCase', 'Team-A', ['team-a'])).toBe('false');
  });

  it('StringLike: * matches any run (none included, across / and :), ? exactly one character, everything else literally', () => {
    expect(evaluateCondition('StringLike', 'system:serviceaccount:team-a:web', ['system:serviceaccount:team-?:*'])).toBe('true');
    expect(evaluateCondition('StringLike', 'system:serviceaccount:team-ab:web', ['system:serviceaccount:team-?:*'])).toBe('false');
    expect(evaluateCondition('StringLike', 'app/', ['app/*'])).toBe('true');
    expect(evaluateCondition('StringLike', 'app/x/y', ['app/*'])).toBe('true');
    expect(evaluateCondition('StringLike', 'a', ['a?'])).toBe('false');
    expect(evaluateCondition('StringLike', 'axb', ['a.b'])).toBe('false');
    expect(evaluateCondition('StringLike', 'x(y)+', ['x(y)+'])).toBe('true');
    expect(evaluateCondition('StringLike', 'ABC', ['abc'])).toBe('false');
  });

  it('several values for one key are alternatives (OR)', () => {
    expect(evaluateCondition('StringEquals', 'b', ['a', 'b'])).toBe('true');
    expect(evaluateCondition('StringEquals', 'c', ['a', 'b'])).toBe('false');
    // A negated operator holds only when no listed value matches.
    expect(evaluateCondition('StringNotEquals', 'b', ['a', 'b'])).toBe('false');
    expect(evaluateCondition('StringNotEquals', 'c', ['a', 'b'])).toBe('true');
    expect(evaluateCondition('StringNotLike', 'abc', ['x*', 'y*'])).toBe('true');
  });
});

describe('a key absent from the request context', () => {
  it('fails positive operators and satisfies negated ones', () => {
    for (const op of ['StringEquals', 'StringLike', 'StringEqualsIgnoreCase', 'ArnEquals', 'ArnLike', 'Bool']) {
      expect({ op, result: evaluateCondition(op, undefined, ['arn:aws:iam::1:role/x']) }).toEqual({ op, result: 'false' });
    }
    for (const op of ['StringNotEquals', 'StringNotLike', 'StringNotEqualsIgnoreCase', 'ArnNotEquals', 'ArnNotLike']) {
      expect({ op, result: evaluateCondition(op, undefined, ['arn:aws:iam::1:role/x']) }).toEqual({ op, result: 'true' });
    }
  });

  it('...IfExists: true when the key is absent, the operator itself when present', () => {
    expect(evaluateCondition('StringEqualsIfExists', undefined, ['a'])).toBe('true');
    expect(evaluateCondition('StringEqualsIfExists', 'a', ['a'])).toBe('true');
    expect(evaluateCondition('StringEqualsIfExists', 'b', ['a'])).toBe('false');
    expect(evaluateCondition('ArnLikeIfExists', 'arn:aws:iam::1:role/y', ['arn:aws:iam::1:role/x'])).toBe('false');
  });

  it('Null tests presence: true = absent, false = present (an empty string is present)', () => {
    expect(evaluateCondition('Null', undefined, ['true'])).toBe('true');
    expect(evaluateCondition('Null', 'v', ['true'])).toBe('false');
    expect(evaluateCondition('Null', 'v', ['false'])).toBe('true');
    expect(evaluateCondition('Null', undefined, ['false'])).toBe('false');
    expect(evaluateCondition('Null', '', ['false'])).toBe('true');
    expect(evaluateCondition('Null', 'v', ['TRUE'])).toBe('false');
  });
});

describe('ARN operators', () => {
  it('ArnEquals and ArnLike are the same operator: wildcards match within each of the six ARN parts', () => {
    for (const op of ['ArnEquals', 'ArnLike']) {
      const holds = (value: string, pattern: string) => evaluateCondition(op, value, [pattern]);
      expect({ op, r: holds('arn:aws:iam::999988887777:policy/awi-read', 'arn:aws:iam::*:policy/awi-*') }).toEqual({ op, r: 'true' });
      expect({ op, r: holds('arn:aws:eks:eu-west-1:111122223333:cluster/prod-a', 'arn:aws:eks:*:111122223333:cluster/prod-?') }).toEqual({ op, r: 'true' });
      // A wildcard never crosses a colon: these matched as plain globs.
      expect({ op, r: holds('arn:aws:iam::9:x:policy/awi-read', 'arn:aws:iam::*:policy/awi-*') }).toEqual({ op, r: 'false' });
      expect({ op, r: holds('arn:aws:eks:eu-west-1:111122223333:cluster/prod-a', 'arn:aws:eks:*') }).toEqual({ op, r: 'false' });
      expect({ op, r: holds('arn:aws:eks:eu-west-1:111122223333:cluster/prod-a', 'arn:*') }).toEqual({ op, r: 'false' });
      // Case-sensitive, and an exact ARN matches itself.
      expect({ op, r: holds('arn:aws:iam::1:policy/P', 'arn:aws:iam::1:policy/p') }).toEqual({ op, r: 'false' });
      expect({ op, r: holds('arn:aws:iam::1:policy/p', 'arn:aws:iam::1:policy/p') }).toEqual({ op, r: 'true' });
    }
  });

  it('the resource part keeps its own colons; what is not an ARN matches nothing', () => {
    expect(arnMatches('arn:aws:logs:r:1:log-group:g:*', 'arn:aws:logs:r:1:log-group:g:log-stream:s')).toBe(true);
    expect(arnMatches('arn:aws:iam::1:role/*', 'not-an-arn')).toBe(false);
    expect(arnMatches('*', 'arn:aws:iam::1:role/x')).toBe(false);
  });

  it('ArnNotEquals / ArnNotLike are the negations', () => {
    expect(evaluateCondition('ArnNotEquals', 'arn:aws:iam::1:role/x', ['arn:aws:iam::*:role/x'])).toBe('false');
    expect(evaluateCondition('ArnNotLike', 'arn:aws:iam::1:role/y', ['arn:aws:iam::*:role/x'])).toBe('true');
  });
});

describe('Bool', () => {
  it('compares true / false without regard to case', () => {
    expect(evaluateCondition('Bool', 'true', ['true'])).toBe('true');
    expect(evaluateCondition('Bool', 'TRUE', ['true'])).toBe('true');
    expect(evaluateCondition('Bool', 'false', ['true'])).toBe('false');
  });
});

describe('set operators on multivalued keys', () => {
  it('ForAnyValue: at least one request value satisfies the operator; an absent key or an empty set does not', () => {
    expect(evaluateCondition('ForAnyValue:StringEquals', ['x', 'sts.amazonaws.com'], ['sts.amazonaws.com'])).toBe('true');
    expect(evaluateCondition('ForAnyValue:StringLike', ['team-a', 'x'], ['team-*'])).toBe('true');
    expect(evaluateCondition('ForAnyValue:StringEquals', ['x', 'y'], ['z'])).toBe('false');
    expect(evaluateCondition('ForAnyValue:StringEquals', [], ['z'])).toBe('false');
    expect(evaluateCondition('ForAnyValue:StringEquals', undefined, ['z'])).toBe('false');
  });

  it('ForAllValues: every request value satisfies the operator; an absent key or an empty set does too', () => {
    expect(evaluateCondition('ForAllValues:StringEquals', ['a', 'b'], ['a', 'b', 'c'])).toBe('true');
    expect(evaluateCondition('ForAllValues:StringEquals', ['a', 'z'], ['a', 'b'])).toBe('false');
    expect(evaluateCondition('ForAllValues:StringEquals', [], ['a'])).toBe('true');
    expect(evaluateCondition('ForAllValues:StringEquals', undefined, ['a'])).toBe('true');
  });

  it('a negated operator inside a set operator applies to each request value', () => {
    const keep = ['awi.dev/managed-by', 'awi.dev/cluster'];
    expect(evaluateCondition('ForAllValues:StringNotEqualsIgnoreCase', ['awi.dev/stale', 'team'], keep)).toBe('true');
    expect(evaluateCondition('ForAllValues:StringNotEqualsIgnoreCase', ['awi.dev/stale', 'AWI.dev/Managed-By'], keep)).toBe('false');
    expect(evaluateCondition('ForAnyValue:StringNotEquals', ['awi.dev/managed-by', 'team'], keep)).toBe('true');
    expect(evaluateCondition('ForAnyValue:StringNotEquals', ['awi.dev/managed-by'], keep)).toBe('false');
  });

  it('a multivalued key under a single-valued operator is not evaluated (AWS requires a set operator)', () => {
    expect(evaluateCondition('StringEquals', ['x'], ['x'])).toBe('unknown');
    expect(evaluateCondition('StringNotEquals', ['x', 'y'], ['z'])).toBe('unknown');
  });
});

describe('what is not evaluated is unknown, never a guess', () => {
  it('unknown operators, qualifiers and Null misuse', () => {
    expect(evaluateCondition('NumericLessThan', '1', ['2'])).toBe('unknown');
    expect(evaluateCondition('StringEqualsMaybe', 'a', ['a'])).toBe('unknown');
    expect(evaluateCondition('ForSomeValues:StringEquals', 'a', ['a'])).toBe('unknown');
    expect(evaluateCondition('NullIfExists', undefined, ['true'])).toBe('unknown');
    expect(evaluateCondition('Null', undefined, ['maybe'])).toBe('unknown');
  });

  it('policy variables (not substituted here)', () => {
    expect(evaluateCondition('StringLike', 'home/alice/x', ['home/${aws:username}/*'])).toBe('unknown');
  });
});

describe('evaluateConditions: a whole Condition block', () => {
  it('every operator and every key must hold (AND); condition keys are case-insensitive', () => {
    const block = { StringEquals: { 'aws:SourceAccount': '111122223333', 'aws:RequestTag/team': 'a' }, ArnLike: { 'aws:SourceArn': 'arn:aws:eks:*:111122223333:cluster/*' } };
    const ctx = { 'AWS:SOURCEACCOUNT': '111122223333', 'aws:requesttag/team': 'a', 'aws:SourceArn': 'arn:aws:eks:eu-west-1:111122223333:cluster/c' };
    expect(evaluateConditions(block, ctx).result).toBe('true');
    expect(evaluateConditions(block, { ...ctx, 'aws:requesttag/team': 'b' }).result).toBe('false');
    expect(evaluateConditions(block, { ...ctx, 'aws:SourceArn': 'arn:aws:eks:eu-west-1:444455556666:cluster/c' }).result).toBe('false');
    expect(evaluateConditions(undefined, {}).result).toBe('true');
  });

  it('names the failed condition; a false condition decides even next to one that cannot be evaluated, which is still reported', () => {
    const failed = evaluateConditions({ StringEquals: { k: 'v' } }, { k: 'w' });
    expect(failed.result).toBe('false');
    expect(failed.reason).toContain('StringEquals k');
    const mixed = evaluateConditions({ NumericLessThan: { n: '1' }, StringEquals: { k: 'v' } }, { n: '0', k: 'w' });
    expect(mixed.result).toBe('false');
    expect(mixed.unsupported).toBe('unsupported condition operator NumericLessThan');
    const unknown = evaluateConditions({ NumericLessThan: { n: '1' }, StringEquals: { k: 'v' } }, { n: '0', k: 'v' });
    expect(unknown).toEqual({ result: 'unknown', reason: 'unsupported condition operator NumericLessThan', unsupported: 'unsupported condition operator NumericLessThan' });
    expect(evaluateConditions({ StringEquals: { 'aws:TagKeys': 'x' } }, { 'aws:TagKeys': ['x'] }).unsupported).toMatch(/aws:TagKeys is multivalued/);
  });
});

describe('globMatch', () => {
  it('is anchored, escapes regular-expression characters, and ignores case only when asked', () => {
    expect(globMatch('*:sub', '127.0.0.1:6443:sub')).toBe(true);
    expect(globMatch('a*', 'a')).toBe(true);
    expect(globMatch('a', 'ba')).toBe(false);
    expect(globMatch('ABC', 'abc')).toBe(false);
    expect(globMatch('ABC', 'abc', true)).toBe(true);
    expect(globMatch('a\nb', 'a\nb')).toBe(true);
  });
});
