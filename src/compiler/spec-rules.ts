// TypeScript twins of the CRD's CEL rules (src/api/cel-rules.ts), so that a
// claim is refused offline exactly as the API server refuses it. Each twin
// says whether the rule holds for the value at the rule's place; the places
// are read from the schema, where the rules are attached.
//
// Twins run on unvalidated input too (structural errors are reported in the
// same pass), so each one is defensive: a value of the wrong type is the
// schema's business and passes here.

import { CEL_RULES, type CelRuleId } from '../api/cel-rules.js';
import { appendPath } from '../api/ajv.js';
import { claimRootSchema } from '../api/schema.js';
import type { SchemaNode } from '../api/schema-node.js';
import type { Problem } from './types.js';

const isString = (v: unknown): v is string => typeof v === 'string';
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const notAPattern = (self: unknown) => !isString(self) || (!self.includes('*') && !self.includes('?'));

const IAM_CONDITION_OPERATOR =
  /^(ForAllValues:|ForAnyValue:)?(StringEquals|StringNotEquals|StringEqualsIgnoreCase|StringNotEqualsIgnoreCase|StringLike|StringNotLike|NumericEquals|NumericNotEquals|NumericLessThan|NumericLessThanEquals|NumericGreaterThan|NumericGreaterThanEquals|DateEquals|DateNotEquals|DateLessThan|DateLessThanEquals|DateGreaterThan|DateGreaterThanEquals|Bool|BinaryEquals|IpAddress|NotIpAddress|ArnEquals|ArnLike|ArnNotEquals|ArnNotLike)(IfExists)?$/;

export const CEL_TWINS: Record<CelRuleId, (self: unknown) => boolean> = {
  'claim-name-length': (self) => {
    const name = isObject(self) && isObject(self.metadata) ? self.metadata.name : undefined;
    return !isString(name) || name.length <= 63;
  },
  'sa-not-default': (self) => self !== 'default',
  'bucket-not-pattern': notAPattern,
  'bucket-name-rules': (self) =>
    !isString(self) ||
    !(
      self.includes('..') ||
      ['xn--', 'sthree-', 'amzn-s3-demo-'].some((p) => self.startsWith(p)) ||
      ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3'].some((s) => self.endsWith(s)) ||
      /^[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+$/.test(self)
    ),
  'prefix-not-pattern': notAPattern,
  'queue-not-pattern': notAPattern,
  'topic-not-pattern': notAPattern,
  'table-not-pattern': notAPattern,
  'secret-not-pattern': notAPattern,
  'parameter-path-not-pattern': notAPattern,
  'repository-not-pattern': notAPattern,
  'secret-name-or-prefix': (self) => !isObject(self) || ('name' in self) !== ('namePrefix' in self),
  'indexes-need-read': (self) =>
    !isObject(self) || self.indexes !== true || (Array.isArray(self.access) && self.access.includes('read')),
  'raw-condition-operator': (self) => !isObject(self) || Object.keys(self).every((op) => op === 'Null' || IAM_CONDITION_OPERATOR.test(op)),
};

type Step = { property: string } | { items: true } | { values: true };

export interface CelRuleSite {
  id: CelRuleId;
  steps: Step[];
}

/** Where each CEL rule is attached in the claim schema. */
export function celRuleSites(root: SchemaNode = claimRootSchema): CelRuleSite[] {
  const sites: CelRuleSite[] = [];
  const walk = (node: SchemaNode, steps: Step[]) => {
    for (const id of node['x-awi']?.cel ?? []) sites.push({ id, steps });
    for (const [property, child] of Object.entries(node.properties ?? {})) walk(child, [...steps, { property }]);
    if (node.items) walk(node.items, [...steps, { items: true }]);
    if (node.additionalProperties) walk(node.additionalProperties, [...steps, { values: true }]);
  };
  walk(root, []);
  return sites;
}

/** The values at a site, with their field paths. */
function valuesAt(value: unknown, steps: Step[], path = ''): { path: string; value: unknown }[] {
  const [step, ...rest] = steps;
  if (!step) return [{ path, value }];
  if ('property' in step) {
    return isObject(value) && step.property in value ? valuesAt(value[step.property], rest, appendPath(path, step.property)) : [];
  }
  if ('items' in step) {
    return Array.isArray(value) ? value.flatMap((item, i) => valuesAt(item, rest, appendPath(path, i))) : [];
  }
  return isObject(value) ? Object.entries(value).flatMap(([k, v]) => valuesAt(v, rest, appendPath(path, k))) : [];
}

/** Every CEL-rule violation of the claim, as the API server would report them. */
export function checkSpecRules(claim: unknown): Problem[] {
  const problems: Problem[] = [];
  for (const site of celRuleSites()) {
    const rule: { message: string; field?: string } = CEL_RULES[site.id];
    for (const { path, value } of valuesAt(claim, site.steps)) {
      if (!CEL_TWINS[site.id](value)) {
        problems.push({ reason: 'InvalidSpec', field: rule.field ?? path, rule: site.id, message: rule.message });
      }
    }
  }
  return problems;
}
