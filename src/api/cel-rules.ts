// The CEL rules of the claim CRD, in one table. The schema attaches them to
// fields by id; the compiler carries a TypeScript twin for every id
// (src/compiler/spec-rules.ts), so `awi validate` refuses offline exactly what
// the API server refuses. The message is shared by both, and ends with the
// rule id so that an API-server error can be traced back to its twin.

export interface CelRuleDefinition {
  /** CEL expression; `self` is the value of the field the rule is attached to. */
  rule: string;
  /** A sentence a person can act on (without the rule id; it is appended). */
  message: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
  /** For a rule at the root: the field the message is about (the API server cannot point into metadata). */
  field?: string;
}

const NOT_A_PATTERN = "!self.contains('*') && !self.contains('?')";

export const CEL_RULES = {
  'claim-name-length': {
    rule: 'size(self.metadata.name) <= 63',
    message: 'metadata.name must be at most 63 characters: it is written into labels and tags',
    field: 'metadata.name',
  },
  'sa-not-default': {
    rule: "self != 'default'",
    message:
      'the ServiceAccount "default" is never bound: every pod in the namespace uses it; name a dedicated ServiceAccount',
    reason: 'FieldValueForbidden',
  },
  'bucket-not-pattern': {
    rule: NOT_A_PATTERN,
    message: 'a bucket name must be a concrete bucket, not a pattern: "*" and "?" are not allowed',
    reason: 'FieldValueForbidden',
  },
  'bucket-name-rules': {
    rule:
      "!self.contains('..') && !self.startsWith('xn--') && !self.startsWith('sthree-') && " +
      "!self.startsWith('amzn-s3-demo-') && !self.endsWith('-s3alias') && !self.endsWith('--ol-s3') && " +
      "!self.endsWith('.mrap') && !self.endsWith('--x-s3') && !self.endsWith('--table-s3') && " +
      "!self.matches('^[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+$')",
    message:
      'not a valid S3 bucket name: no adjacent periods, not an IP address, no reserved prefix (xn--, sthree-, amzn-s3-demo-) or suffix (-s3alias, --ol-s3, .mrap, --x-s3, --table-s3)',
  },
  'prefix-not-pattern': {
    rule: NOT_A_PATTERN,
    message: 'an S3 prefix is literal: "*" and "?" are not allowed (awi appends the wildcard itself)',
    reason: 'FieldValueForbidden',
  },
  'queue-not-pattern': {
    rule: NOT_A_PATTERN,
    message: 'a queue name must be a concrete queue, not a pattern: "*" and "?" are not allowed',
    reason: 'FieldValueForbidden',
  },
  'topic-not-pattern': {
    rule: NOT_A_PATTERN,
    message: 'a topic name must be a concrete topic, not a pattern: "*" and "?" are not allowed',
    reason: 'FieldValueForbidden',
  },
  'table-not-pattern': {
    rule: NOT_A_PATTERN,
    message: 'a table name must be a concrete table, not a pattern: "*" and "?" are not allowed',
    reason: 'FieldValueForbidden',
  },
  'secret-not-pattern': {
    rule: NOT_A_PATTERN,
    message: 'a secret name or name prefix is literal: "*" and "?" are not allowed',
    reason: 'FieldValueForbidden',
  },
  'parameter-path-not-pattern': {
    rule: NOT_A_PATTERN,
    message: 'a parameter path is literal: "*" and "?" are not allowed (awi grants the path and everything below it)',
    reason: 'FieldValueForbidden',
  },
  'repository-not-pattern': {
    rule: NOT_A_PATTERN,
    message: 'an ECR repository name must be one repository, not a pattern: "*" and "?" are not allowed',
    reason: 'FieldValueForbidden',
  },
  'secret-name-or-prefix': {
    rule: 'has(self.name) != has(self.namePrefix)',
    message: 'set exactly one of name or namePrefix',
    reason: 'FieldValueRequired',
  },
  'indexes-need-read': {
    rule: "!has(self.indexes) || !self.indexes || 'read' in self.access",
    message: 'indexes: true grants reads on the indexes, so access must include read',
  },
  'raw-condition-operator': {
    rule:
      "self.all(op, op == 'Null' || op.matches('^(ForAllValues:|ForAnyValue:)?(" +
      'StringEquals|StringNotEquals|StringEqualsIgnoreCase|StringNotEqualsIgnoreCase|StringLike|StringNotLike|' +
      'NumericEquals|NumericNotEquals|NumericLessThan|NumericLessThanEquals|NumericGreaterThan|NumericGreaterThanEquals|' +
      'DateEquals|DateNotEquals|DateLessThan|DateLessThanEquals|DateGreaterThan|DateGreaterThanEquals|' +
      "Bool|BinaryEquals|IpAddress|NotIpAddress|ArnEquals|ArnLike|ArnNotEquals|ArnNotLike)(IfExists)?$'))",
    message: 'every condition operator must be an IAM condition operator such as StringEquals, StringLike or ArnEquals',
  },
} as const satisfies Record<string, CelRuleDefinition>;

export type CelRuleId = keyof typeof CEL_RULES;

export const CEL_RULE_IDS = Object.keys(CEL_RULES) as CelRuleId[];

/** The message as the API server shows it: the sentence and the rule id. */
export function celMessage(id: CelRuleId): string {
  return `${CEL_RULES[id].message} (rule: ${id})`;
}

/** Reads the rule id back out of an API-server message written by celMessage. */
export function celRuleIdOf(message: string): CelRuleId | undefined {
  const m = /\(rule: ([a-z0-9-]+)\)/.exec(message);
  const id = m?.[1];
  return id !== undefined && id in CEL_RULES ? (id as CelRuleId) : undefined;
}
