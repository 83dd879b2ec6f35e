// Evaluation of a role's trust policy against one request, the way IAM does it
// for the parts that matter to workload identity: explicit Deny wins, then an
// Allow statement must match principal, action and every condition; otherwise
// implicit deny. Conditions: String*, Arn*, Bool, Null, with the ForAnyValue:/
// ForAllValues: set qualifiers and the IfExists suffix; condition keys are
// case-insensitive. An unknown operator never helps an Allow (and, to stay on
// the safe side, always applies a Deny). Pure.

export type ConditionValue = string | number | boolean | Array<string | number | boolean>;
export type ConditionBlock = Record<string, Record<string, ConditionValue>>;
export type PrincipalBlock = '*' | Partial<Record<'AWS' | 'Service' | 'Federated' | 'CanonicalUser', string | string[]>>;

export interface TrustStatement {
  Sid?: string;
  Effect?: string;
  Principal?: PrincipalBlock;
  NotPrincipal?: PrincipalBlock;
  Action?: string | string[];
  NotAction?: string | string[];
  Condition?: ConditionBlock;
}

export interface TrustPolicy {
  Version?: string;
  Statement: TrustStatement[];
}

export type PrincipalType = 'AWS' | 'Service' | 'Federated';

export interface TrustRequest {
  /** e.g. sts:AssumeRoleWithWebIdentity */
  action: string;
  principal: { type: PrincipalType; id: string };
  /** Request context: condition key -> value(s). Missing keys are absent. */
  context: Record<string, string | string[] | undefined>;
}

export interface TrustDecision {
  allowed: boolean;
  /** Why, for logs and error messages in tests. */
  reason: string;
}

export class MalformedPolicyError extends Error {}

/** Parses a policy as IAM returns it (URL-encoded JSON) or as written (JSON, object). */
export function parsePolicyDocument(raw: string | object): TrustPolicy {
  let doc: unknown = raw;
  if (typeof raw === 'string') {
    const text = raw.trim().startsWith('{') ? raw : safeDecode(raw);
    try {
      doc = JSON.parse(text);
    } catch {
      throw new MalformedPolicyError('policy document is not valid JSON');
    }
  }
  if (!doc || typeof doc !== 'object') throw new MalformedPolicyError('policy document must be a JSON object');
  const st = (doc as { Statement?: unknown }).Statement;
  if (st === undefined) throw new MalformedPolicyError('policy document has no Statement');
  const statements = Array.isArray(st) ? st : [st];
  for (const s of statements) if (!s || typeof s !== 'object') throw new MalformedPolicyError('every Statement must be an object');
  return { ...(doc as object), Statement: statements as TrustStatement[] };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

export function evaluateTrust(policy: TrustPolicy, req: TrustRequest): TrustDecision {
  const ctx = lowerKeys(req.context);
  let allowedBy: string | undefined;
  const misses: string[] = [];
  for (const [i, s] of policy.Statement.entries()) {
    const name = s.Sid ? `statement "${s.Sid}"` : `statement ${i}`;
    const effect = s.Effect;
    if (effect !== 'Allow' && effect !== 'Deny') {
      misses.push(`${name}: Effect must be Allow or Deny`);
      continue;
    }
    if (!principalApplies(s, req.principal)) {
      misses.push(`${name}: principal does not match ${req.principal.type} ${req.principal.id}`);
      continue;
    }
    if (!actionApplies(s, req.action)) {
      misses.push(`${name}: action ${req.action} not allowed`);
      continue;
    }
    const cond = evaluateConditions(s.Condition, ctx);
    if (effect === 'Deny') {
      if (cond.result !== 'false') return { allowed: false, reason: `explicit deny in ${name}` };
      continue;
    }
    if (cond.result === 'true') allowedBy ??= name;
    else misses.push(`${name}: ${cond.reason}`);
  }
  if (allowedBy) return { allowed: true, reason: `allowed by ${allowedBy}` };
  return { allowed: false, reason: misses.length ? `no statement allows it (${misses.join('; ')})` : 'no statement allows it' };
}

// ---- principal and action -------------------------------------------------

function principalApplies(s: TrustStatement, p: TrustRequest['principal']): boolean {
  if (s.Principal !== undefined) return principalMatches(s.Principal, p);
  if (s.NotPrincipal !== undefined) return !principalMatches(s.NotPrincipal, p);
  return false;
}

export function principalMatches(block: PrincipalBlock, p: TrustRequest['principal']): boolean {
  if (block === '*') return true;
  if (typeof block !== 'object' || block === null) return false;
  if (asList(block.AWS).includes('*')) return true;
  const values = asList(block[p.type]);
  switch (p.type) {
    case 'Service':
      return values.some((v) => v.toLowerCase() === p.id.toLowerCase());
    case 'Federated':
      return values.includes(p.id);
    case 'AWS': {
      const account = /^arn:[^:]+:[^:]+::(\d{12}):/.exec(p.id)?.[1];
      return values.some((v) => v === p.id || (account !== undefined && (v === account || /^arn:[^:]+:iam::(\d{12}):root$/.exec(v)?.[1] === account)));
    }
  }
}

function actionApplies(s: TrustStatement, action: string): boolean {
  if (s.Action !== undefined) return asList(s.Action).some((a) => globMatch(a, action, true));
  if (s.NotAction !== undefined) return !asList(s.NotAction).some((a) => globMatch(a, action, true));
  return false;
}

// ---- conditions -----------------------------------------------------------

export type Tri = 'true' | 'false' | 'unknown';

/** All operators and all keys must hold. `unknown` when an operator is not understood. */
export function evaluateConditions(block: ConditionBlock | undefined, ctx: Record<string, string | string[] | undefined>): { result: Tri; reason: string } {
  if (block === undefined) return { result: 'true', reason: 'no conditions' };
  if (typeof block !== 'object' || block === null) return { result: 'unknown', reason: 'Condition must be an object' };
  const lctx = lowerKeys(ctx);
  let unknown: string | undefined;
  for (const [operator, keys] of Object.entries(block)) {
    if (!keys || typeof keys !== 'object') return { result: 'unknown', reason: `condition ${operator} must map keys to values` };
    for (const [key, policyValue] of Object.entries(keys)) {
      const r = evaluateOne(operator, lctx[key.toLowerCase()], asList(policyValue).map(String));
      if (r === 'false') return { result: 'false', reason: `condition ${operator} ${key} ${JSON.stringify(policyValue)} not satisfied by ${JSON.stringify(lctx[key.toLowerCase()] ?? null)}` };
      if (r === 'unknown') unknown ??= `unsupported condition operator ${operator}`;
    }
  }
  return unknown ? { result: 'unknown', reason: unknown } : { result: 'true', reason: 'conditions hold' };
}

type Matcher = (ctxValue: string, policyValue: string) => boolean;

const MATCHERS: Record<string, { match: Matcher; negated: boolean }> = {
  stringequals: { match: (c, p) => c === p, negated: false },
  stringnotequals: { match: (c, p) => c === p, negated: true },
  stringequalsignorecase: { match: (c, p) => c.toLowerCase() === p.toLowerCase(), negated: false },
  stringnotequalsignorecase: { match: (c, p) => c.toLowerCase() === p.toLowerCase(), negated: true },
  stringlike: { match: (c, p) => globMatch(p, c), negated: false },
  stringnotlike: { match: (c, p) => globMatch(p, c), negated: true },
  arnequals: { match: (c, p) => globMatch(p, c), negated: false },
  arnlike: { match: (c, p) => globMatch(p, c), negated: false },
  arnnotequals: { match: (c, p) => globMatch(p, c), negated: true },
  arnnotlike: { match: (c, p) => globMatch(p, c), negated: true },
  bool: { match: (c, p) => c.toLowerCase() === p.toLowerCase(), negated: false },
};

/** One operator on one key. `ctxValue` undefined = key absent from the request. */
export function evaluateOne(operator: string, ctxValue: string | string[] | undefined, policyValues: string[]): Tri {
  const m = /^(ForAnyValue:|ForAllValues:)?([A-Za-z]+?)(IfExists)?$/i.exec(operator);
  if (!m) return 'unknown';
  const set = m[1]?.toLowerCase();
  const base = m[2]!.toLowerCase();
  const ifExists = m[3] !== undefined;
  const values = ctxValue === undefined ? [] : Array.isArray(ctxValue) ? ctxValue : [ctxValue];
  const present = ctxValue !== undefined && values.length > 0;

  if (base === 'null') {
    if (set || ifExists) return 'unknown';
    const wantAbsent = policyValues.map((v) => v.toLowerCase());
    if (wantAbsent.some((v) => v !== 'true' && v !== 'false')) return 'unknown';
    return wantAbsent.some((v) => (v === 'true') === !present) ? 'true' : 'false';
  }
  const op = MATCHERS[base];
  if (!op) return 'unknown';
  // One context value against the policy values (OR over the policy values).
  const test = (c: string): boolean => {
    const hit = policyValues.some((p) => op.match(c, p));
    return op.negated ? !hit : hit;
  };

  if (set === 'foranyvalue:') return present && values.some(test) ? 'true' : 'false';
  if (set === 'forallvalues:') return !present || values.every(test) ? 'true' : 'false';
  if (!present) return ifExists || op.negated ? 'true' : 'false';
  // A single-valued operator on a multi-valued key: any value may satisfy it
  // (a negated one: no value may match).
  if (op.negated) return values.every(test) ? 'true' : 'false';
  return values.some(test) ? 'true' : 'false';
}

/** IAM wildcard match: `*` any run of characters, `?` exactly one. */
export function globMatch(pattern: string, value: string, ignoreCase = false): boolean {
  let re = '^';
  for (const ch of pattern) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[.+^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(re + '$', ignoreCase ? 'is' : 's').test(value);
}

function asList(v: ConditionValue | string | string[] | undefined): string[] {
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

function lowerKeys<T>(o: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, v] of Object.entries(o)) out[k.toLowerCase()] = v;
  return out;
}
