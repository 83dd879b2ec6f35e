// Grants -> a compact, deterministic policy document.
//
// Two exact merges: statements with the same effect, resources and condition
// become one (union of actions); then statements with the same effect,
// actions and condition become one (union of resources). Both keep the
// meaning: A1xR + A2xR = (A1+A2)xR and AxR1 + AxR2 = Ax(R1+R2).
// Sids are the service plus a hash of the statement, so they do not shift
// when an unrelated intent is added.

import { shortHash, stableStringify } from './canonical.js';
import { servicePrefix } from './actions.js';
import type { Grant } from './intents/index.js';
import type { ConditionBlock, PolicyDocument, PolicyStatement } from './types.js';

interface Draft {
  effect: 'Allow' | 'Deny';
  actions: string[];
  resources: string[];
  condition?: ConditionBlock;
}

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const sortedUnique = (values: Iterable<string>) => [...new Set(values)].sort(byCodeUnit);

/** Condition with sorted operators, keys and values; a single value as a plain string. */
export function tidyCondition(condition: ConditionBlock | undefined): ConditionBlock | undefined {
  if (!condition || Object.keys(condition).length === 0) return undefined;
  const out: ConditionBlock = {};
  for (const operator of Object.keys(condition).sort(byCodeUnit)) {
    const block = condition[operator] ?? {};
    out[operator] = {};
    for (const key of Object.keys(block).sort(byCodeUnit)) {
      const raw = block[key];
      const values = sortedUnique(Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]);
      out[operator][key] = values.length === 1 ? values[0]! : values;
    }
  }
  return out;
}

function mergeBy(drafts: Draft[], keyOf: (d: Draft) => string, combine: (into: Draft, from: Draft) => void): Draft[] {
  const groups = new Map<string, Draft>();
  for (const draft of drafts) {
    const key = keyOf(draft);
    const existing = groups.get(key);
    if (existing) combine(existing, draft);
    else groups.set(key, { ...draft, actions: [...draft.actions], resources: [...draft.resources] });
  }
  return [...groups.values()].map((d) => ({ ...d, actions: sortedUnique(d.actions), resources: sortedUnique(d.resources) }));
}

const conditionKey = (d: Draft) => stableStringify(d.condition ?? null);

export function buildStatements(grants: Grant[]): PolicyStatement[] {
  let drafts: Draft[] = grants.map((g) => {
    const condition = tidyCondition(g.condition);
    return { effect: g.effect, actions: sortedUnique(g.actions), resources: sortedUnique(g.resources), ...(condition ? { condition } : {}) };
  });
  drafts = mergeBy(
    drafts,
    (d) => `${d.effect}|${d.resources.join(',')}|${conditionKey(d)}`,
    (into, from) => into.actions.push(...from.actions),
  );
  drafts = mergeBy(
    drafts,
    (d) => `${d.effect}|${d.actions.join(',')}|${conditionKey(d)}`,
    (into, from) => into.resources.push(...from.resources),
  );
  return drafts.map(toStatement).sort((a, b) => byCodeUnit(a.Sid ?? '', b.Sid ?? ''));
}

function toStatement(draft: Draft): PolicyStatement {
  const body: PolicyStatement = {
    Effect: draft.effect,
    Action: draft.actions,
    Resource: draft.resources,
    ...(draft.condition ? { Condition: draft.condition } : {}),
  };
  return { Sid: sidFor(draft.actions, body), ...body };
}

function sidFor(actions: string[], body: PolicyStatement): string {
  const services = sortedUnique(actions.map(servicePrefix));
  const label = services.length === 1 && services[0] !== '*' ? pascal(services[0]!) : 'Mixed';
  return `${label}${shortHash(stableStringify(body), 8)}`;
}

function pascal(word: string): string {
  return word
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');
}

export function policyDocument(statements: PolicyStatement[]): PolicyDocument {
  return { Version: '2012-10-17', Statement: statements };
}
