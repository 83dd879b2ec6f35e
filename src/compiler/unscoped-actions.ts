// Actions AWS authorizes only on Resource "*": the Service Authorization
// Reference lists no resource type for them, so a statement naming any ARN
// never matches and the call is denied. A curated list, never a pattern: each
// entry is checked against the reference, and a grant on "*" is accepted only
// when every action of it is one of these (with the condition that scopes it,
// where AWS offers one). Everything else keeps the resource-not-wildcard rule.
//
// - ecr:GetAuthorizationToken: no resource type (Amazon ECR, "Actions defined
//   by Amazon Elastic Container Registry"); the token only logs in: pulls and
//   pushes are still authorized per repository. Granted by the intents
//   ecrAuthorizationToken and ecrPull (intents/ecr.ts).
// - cloudwatch:PutMetricData: no resource type; the condition key
//   cloudwatch:namespace scopes it to named metric namespaces (CloudWatch User
//   Guide, "Using condition keys to limit access to CloudWatch namespaces").
//   awi requires that condition.
// - xray:PutTraceSegments, xray:PutTelemetryRecords, xray:GetSamplingRules,
//   xray:GetSamplingTargets: no resource type (AWS X-Ray); what the X-Ray
//   daemon and the SDKs' samplers call.

import type { ConditionBlock } from './types.js';

export interface UnscopedAction {
  /** The action as AWS spells it. */
  action: string;
  /** A condition key a grant must constrain (with StringEquals or StringLike) to be accepted. */
  requiredConditionKey?: string;
}

export const UNSCOPED_ACTIONS = [
  { action: 'ecr:GetAuthorizationToken' },
  { action: 'cloudwatch:PutMetricData', requiredConditionKey: 'cloudwatch:namespace' },
  { action: 'xray:PutTraceSegments' },
  { action: 'xray:PutTelemetryRecords' },
  { action: 'xray:GetSamplingRules' },
  { action: 'xray:GetSamplingTargets' },
] as const satisfies readonly UnscopedAction[];

/** The name of a listed action: intents grant on "*" only these (intents/grant.ts, allowUnscoped). */
export type UnscopedActionName = (typeof UNSCOPED_ACTIONS)[number]['action'];

const BY_NAME: ReadonlyMap<string, UnscopedAction> = new Map(UNSCOPED_ACTIONS.map((a) => [a.action.toLowerCase(), a]));

/** The list entry for this action (IAM action names are case-insensitive); undefined for patterns and other actions. */
export function unscopedAction(action: string): UnscopedAction | undefined {
  return BY_NAME.get(action.toLowerCase());
}

/** Operators that constrain a key to the values listed (an ...IfExists or negated operator does not). */
const CONSTRAINING_OPERATORS = new Set(['stringequals', 'stringlike']);

/** True when some StringEquals/StringLike block names the key, and none of its values is only wildcards (StringLike "*" scopes nothing). */
function constrains(condition: ConditionBlock | undefined, key: string): boolean {
  if (!condition) return false;
  return Object.entries(condition).some(([operator, block]) =>
    CONSTRAINING_OPERATORS.has(operator.toLowerCase()) &&
    Object.entries(block).some(([k, raw]) => {
      const values = Array.isArray(raw) ? raw : [raw];
      return k.toLowerCase() === key.toLowerCase() && values.length > 0 && values.every((v) => !/^[*?]*$/.test(v));
    }),
  );
}

export interface UnscopedVerdict {
  ok: boolean;
  /** Why not, for the problem message. */
  why?: string;
}

/**
 * Whether an Allow grant of these actions on exactly ["*"] is one of the
 * accepted *-only grants: every action on the list, with its required condition.
 */
export function unscopedGrantVerdict(actions: readonly string[], resources: readonly string[], condition: ConditionBlock | undefined): UnscopedVerdict {
  if (resources.length !== 1 || resources[0] !== '*') return { ok: false, why: 'only "*" alone is accepted as the resource of a *-only grant' };
  const others = actions.filter((a) => !unscopedAction(a));
  if (others.length) {
    return {
      ok: false,
      why: `${others.join(', ')} ${others.length === 1 ? 'is' : 'are'} not among the actions AWS authorizes only on "*" (${UNSCOPED_ACTIONS.map((a) => a.action).join(', ')}); name the resources instead`,
    };
  }
  for (const action of actions) {
    const key = unscopedAction(action)!.requiredConditionKey;
    if (key && !constrains(condition, key)) {
      return { ok: false, why: `${action} on "*" needs a StringEquals or StringLike condition on ${key}` };
    }
  }
  return { ok: true };
}
