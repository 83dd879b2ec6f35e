// Evaluation of a role's trust policy against one request, the way IAM does it
// for the parts that matter to workload identity: explicit Deny wins, then an
// Allow statement must match principal, action and every condition; otherwise
// implicit deny. Conditions are evaluated by iam-conditions.ts (the test bed's
// one IAM condition evaluator). A condition it cannot evaluate never helps an
// Allow (and, to stay on the safe side, always applies a Deny). Pure.
import { evaluateConditions, globMatch, type ConditionBlock } from './iam-conditions.js';

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
    const cond = evaluateConditions(s.Condition, req.context);
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

function asList(v: string | string[] | undefined): string[] {
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}
