// The subset of the Kubernetes structural OpenAPI schema (JSONSchemaProps)
// that the claim schema uses, plus one extension, `x-awi`, that carries what
// only awi's own tooling needs (TypeScript type names, rule ids and messages
// for offline validation). `x-awi` is removed from the CRD that is installed.

import { CEL_RULES, celMessage, type CelRuleId } from './cel-rules.js';

export interface CelValidation {
  rule: string;
  message: string;
  reason?: string;
}

export interface AwiAnnotations {
  /** Name of the generated TypeScript type for this node. */
  typeName?: string;
  /** Rule id reported offline when this node's own constraints fail. */
  rule?: string;
  /** Message for pattern and length failures of this node. */
  message?: string;
  /** What the value is, for enum failures: `"x" is not a valid <what>`. */
  what?: string;
  /** CEL rules attached here, by id (the CRD gets their CEL; the compiler their twins). */
  cel?: CelRuleId[];
}

export interface SchemaNode {
  type?: 'object' | 'array' | 'string' | 'integer' | 'boolean';
  format?: string;
  description?: string;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  additionalProperties?: SchemaNode;
  items?: SchemaNode;
  enum?: string[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  'x-kubernetes-validations'?: CelValidation[];
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-awi'?: AwiAnnotations;
}

type Extra = Omit<SchemaNode, 'type' | 'description' | 'properties' | 'required' | 'items' | 'enum'>;

/** Attaches CEL rules by id: the CRD carries the CEL, `x-awi.cel` remembers the ids for the twins. */
function withCel(node: SchemaNode, ids: CelRuleId[] | undefined): SchemaNode {
  if (!ids || ids.length === 0) return node;
  return {
    ...node,
    'x-kubernetes-validations': ids.map((id) => {
      const def: { rule: string; reason?: string } = CEL_RULES[id];
      return { rule: def.rule, message: celMessage(id), ...(def.reason ? { reason: def.reason } : {}) };
    }),
    'x-awi': { ...node['x-awi'], cel: ids },
  };
}

export function str(description: string, extra: Extra & { cel?: CelRuleId[] } = {}): SchemaNode {
  const { cel, ...rest } = extra;
  return withCel({ type: 'string', description, ...rest }, cel);
}

export function int(description: string, extra: Extra = {}): SchemaNode {
  return { type: 'integer', description, ...extra };
}

export function bool(description: string): SchemaNode {
  return { type: 'boolean', description };
}

export function enumOf(description: string, values: string[], annotations: AwiAnnotations = {}): SchemaNode {
  return { type: 'string', description, enum: values, ...(Object.keys(annotations).length ? { 'x-awi': annotations } : {}) };
}

export function arrayOf(description: string, items: SchemaNode, extra: Extra = {}): SchemaNode {
  return { type: 'array', description, items, ...extra };
}

/** A set of enum values (no duplicates, order irrelevant). */
export function setOf(description: string, items: SchemaNode, extra: Extra = {}): SchemaNode {
  return { type: 'array', description, items, 'x-kubernetes-list-type': 'set', ...extra };
}

export function obj(
  typeName: string | undefined,
  description: string,
  properties: Record<string, SchemaNode>,
  options: { required?: string[]; cel?: CelRuleId[] } & Extra = {},
): SchemaNode {
  const { required, cel, ...extra } = options;
  const node: SchemaNode = {
    type: 'object',
    description,
    properties,
    ...(required && required.length ? { required } : {}),
    ...extra,
  };
  if (typeName) node['x-awi'] = { ...node['x-awi'], typeName };
  return withCel(node, cel);
}

export function mapOf(description: string, values: SchemaNode, extra: Extra & { cel?: CelRuleId[] } = {}): SchemaNode {
  const { cel, ...rest } = extra;
  return withCel({ type: 'object', description, additionalProperties: values, ...rest }, cel);
}

/** Deep copy without `x-awi`: what the API server gets. */
export function stripAwi(node: SchemaNode): SchemaNode {
  const out: SchemaNode = {};
  for (const [key, value] of Object.entries(node) as [keyof SchemaNode, unknown][]) {
    if (key === 'x-awi') continue;
    if (key === 'properties') {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, SchemaNode>).map(([k, v]) => [k, stripAwi(v)]),
      );
    } else if (key === 'items' || key === 'additionalProperties') {
      out[key] = stripAwi(value as SchemaNode);
    } else {
      (out as Record<string, unknown>)[key] = value;
    }
  }
  return out;
}
