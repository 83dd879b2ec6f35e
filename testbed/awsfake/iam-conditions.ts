// IAM condition evaluation as the IAM User Guide documents it ("IAM JSON
// policy elements: Condition operators" and "Single-valued vs. multivalued
// context keys"). The one evaluator of the test bed: the fake's trust-policy
// evaluation (trust-evaluation.ts) and the tests' authorization model
// (test/harness/iam-policy-match.ts) both use it. Pure.
//
// - Every operator of a Condition block, and every key under it, must hold
//   (AND); the values listed for one key are alternatives (OR).
// - Condition keys are case-insensitive; values are case-sensitive except
//   for the ...IgnoreCase operators and Bool.
// - A key absent from the request: positive operators are false, negated
//   ones (StringNot*, ArnNot*) true, ...IfExists true; Null tests presence.
// - StringEquals compares exactly; StringLike globs (`*` any run, `?` one
//   character). ArnEquals and ArnLike are the same operator: each of the six
//   colon-separated parts of the ARN is matched on its own, case-sensitively,
//   with `*` and `?` that never cross a colon; a value that is not an ARN
//   matches nothing.
// - ForAnyValue: holds when at least one request value satisfies the
//   operator (false for an absent key or an empty set); ForAllValues: when
//   every one does (true for an absent key or an empty set). A multivalued
//   request value needs one of them.
//
// What it does not evaluate (Numeric*, Date*, IpAddress, Binary*, policy
// variables such as ${aws:username}, a single-valued operator on a
// multivalued key) is 'unknown', never a guess: each caller decides what
// unknown means (the fake: an Allow does not apply, a Deny does; the tests'
// model: an error).

export type Tri = 'true' | 'false' | 'unknown';
export type ConditionValue = string | number | boolean | Array<string | number | boolean>;
/** {"StringEquals": {"aws:SourceAccount": "111122223333"}, ...} */
export type ConditionBlock = Record<string, Record<string, ConditionValue>>;
/** Condition key -> value(s) in the request; an absent key is undefined or missing. */
export type RequestContext = Record<string, string | string[] | undefined>;

export interface ConditionsResult {
  result: Tri;
  /** Why, for error messages: the first condition that failed, or what could not be evaluated. */
  reason: string;
  /** Set when any operator or key could not be evaluated, even if another condition already failed. */
  unsupported?: string;
}

/** Evaluates a whole Condition block against the request context. */
export function evaluateConditions(block: ConditionBlock | undefined, context: RequestContext): ConditionsResult {
  if (block === undefined) return { result: 'true', reason: 'no conditions' };
  if (typeof block !== 'object' || block === null) return { result: 'unknown', reason: 'Condition must be an object', unsupported: 'Condition must be an object' };
  const ctx = lowerKeys(context);
  let failed: string | undefined;
  let unsupported: string | undefined;
  for (const [operator, keys] of Object.entries(block)) {
    if (!keys || typeof keys !== 'object') {
      unsupported ??= `condition ${operator} must map keys to values`;
      continue;
    }
    for (const [key, policyValue] of Object.entries(keys)) {
      const requestValue = ctx[key.toLowerCase()];
      const r = evaluateCondition(operator, requestValue, asList(policyValue));
      if (r === 'false') failed ??= `condition ${operator} ${key} ${JSON.stringify(policyValue)} not satisfied by ${JSON.stringify(requestValue ?? null)}`;
      if (r === 'unknown') unsupported ??= whyUnknown(operator, key, requestValue, asList(policyValue));
    }
  }
  // AND: one false condition decides, whatever else could not be evaluated.
  if (failed) return { result: 'false', reason: failed, ...(unsupported ? { unsupported } : {}) };
  if (unsupported) return { result: 'unknown', reason: unsupported, unsupported };
  return { result: 'true', reason: 'conditions hold' };
}

type Matcher = (policyValue: string, requestValue: string) => boolean;

const OPERATORS: Record<string, { match: Matcher; negated: boolean }> = {
  stringequals: { match: (p, c) => p === c, negated: false },
  stringnotequals: { match: (p, c) => p === c, negated: true },
  stringequalsignorecase: { match: (p, c) => p.toLowerCase() === c.toLowerCase(), negated: false },
  stringnotequalsignorecase: { match: (p, c) => p.toLowerCase() === c.toLowerCase(), negated: true },
  stringlike: { match: (p, c) => globMatch(p, c), negated: false },
  stringnotlike: { match: (p, c) => globMatch(p, c), negated: true },
  arnequals: { match: arnMatches, negated: false },
  arnlike: { match: arnMatches, negated: false },
  arnnotequals: { match: arnMatches, negated: true },
  arnnotlike: { match: arnMatches, negated: true },
  bool: { match: (p, c) => p.toLowerCase() === c.toLowerCase(), negated: false },
};

interface ParsedOperator {
  set?: 'foranyvalue' | 'forallvalues';
  base: string;
  ifExists: boolean;
}

function parseOperator(operator: string): ParsedOperator | undefined {
  const m = /^(?:(ForAnyValue|ForAllValues):)?([A-Za-z]+?)(IfExists)?$/i.exec(operator);
  if (!m) return undefined;
  return { ...(m[1] ? { set: m[1].toLowerCase() as ParsedOperator['set'] } : {}), base: m[2]!.toLowerCase(), ifExists: m[3] !== undefined };
}

/** One operator on one key: `requestValue` undefined = the key is absent; an array = a multivalued key. */
export function evaluateCondition(operator: string, requestValue: string | string[] | undefined, policyValues: string[]): Tri {
  const op = parseOperator(operator);
  if (!op) return 'unknown';
  if (policyValues.some((v) => v.includes('${'))) return 'unknown'; // policy variables are not substituted here
  const values = requestValue === undefined ? [] : Array.isArray(requestValue) ? requestValue : [requestValue];
  const present = requestValue !== undefined && values.length > 0;

  if (op.base === 'null') {
    // Null takes neither a set operator nor IfExists, and only true / false.
    if (op.set || op.ifExists) return 'unknown';
    const wanted = policyValues.map((v) => v.toLowerCase());
    if (wanted.length === 0 || wanted.some((v) => v !== 'true' && v !== 'false')) return 'unknown';
    return wanted.some((v) => (v === 'true') === !present) ? 'true' : 'false';
  }
  const base = OPERATORS[op.base];
  if (!base) return 'unknown';
  // One request value against the policy values: any may match (a negated operator: none may).
  const holdsFor = (c: string): boolean => {
    const hit = policyValues.some((p) => base.match(p, c));
    return base.negated ? !hit : hit;
  };

  if (!present && op.ifExists) return 'true';
  if (op.set === 'foranyvalue') return values.some(holdsFor) ? 'true' : 'false';
  if (op.set === 'forallvalues') return values.every(holdsFor) ? 'true' : 'false';
  if (Array.isArray(requestValue)) return 'unknown'; // a multivalued key needs ForAnyValue: or ForAllValues:
  if (!present) return base.negated ? 'true' : 'false';
  return holdsFor(values[0]!) ? 'true' : 'false';
}

function whyUnknown(operator: string, key: string, requestValue: string | string[] | undefined, policyValues: string[]): string {
  const op = parseOperator(operator);
  if (op && OPERATORS[op.base] && !op.set && Array.isArray(requestValue)) {
    return `condition key ${key} is multivalued: use ForAllValues: or ForAnyValue: with ${operator}`;
  }
  if (policyValues.some((v) => v.includes('${'))) return `policy variables are not evaluated (condition ${operator} ${key} ${JSON.stringify(policyValues)})`;
  return `unsupported condition operator ${operator}`;
}

/** IAM wildcard match: `*` any run of characters (none included), `?` exactly one; everything else literal. */
export function globMatch(pattern: string, value: string, ignoreCase = false): boolean {
  let re = '^';
  for (const ch of pattern) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[.+^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(`${re}$`, ignoreCase ? 'is' : 's').test(value);
}

/**
 * ArnEquals / ArnLike: the six colon-separated parts (partition, service,
 * region, account, resource; the resource keeps its own colons) matched one
 * by one, case-sensitively, wildcards within a part.
 */
export function arnMatches(pattern: string, value: string): boolean {
  const want = arnParts(pattern);
  const got = arnParts(value);
  if (!want || !got) return false;
  return want.every((w, i) => globMatch(w, got[i]!));
}

function arnParts(arn: string): string[] | undefined {
  const p = arn.split(':');
  return p.length < 6 ? undefined : [...p.slice(0, 5), p.slice(5).join(':')];
}

function asList(v: ConditionValue | undefined): string[] {
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

function lowerKeys<T>(o: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, v] of Object.entries(o)) out[k.toLowerCase()] = v;
  return out;
}
