// JSON Schema of the platform configuration (one YAML file owned by the
// platform team). Unknown keys are errors: a typo must not silently weaken a
// guardrail. Defaults are filled in by ajv (useDefaults).

import { PATTERNS } from '../api/schema.js';

const accountId = {
  type: 'string',
  pattern: PATTERNS.accountId,
  'x-awi': { rule: 'account-id', message: 'must be a 12-digit AWS account id (quote it in YAML)' },
};

const issuerUrl = {
  type: 'string',
  maxLength: 2048,
  pattern: '^https://[^\\s*?]+$',
  'x-awi': { rule: 'issuer-url', message: 'must be an https:// OIDC issuer URL' },
};

const arn = (rule: string, pattern: string, what: string) => ({
  type: 'string',
  maxLength: 2048,
  pattern,
  'x-awi': { rule, message: `must be ${what}` },
});

const stringList = (item: object, extra: object = {}) => ({ type: 'array', items: item, uniqueItems: true, ...extra });

/** Placeholders of resource patterns, replaced per claim (compiler/guardrails.ts). */
export const PATTERN_PLACEHOLDERS = ['namespace', 'cluster', 'account', 'region', 'partition'] as const;
// Text with no braces except whole placeholders.
const PLACEHOLDER_TEXT = `([^{}\\s]|\\{(${PATTERN_PLACEHOLDERS.join('|')})\\})*`;

const resourcePattern = {
  type: 'string',
  maxLength: 2048,
  pattern: `^arn:${PLACEHOLDER_TEXT}$`,
  'x-awi': {
    rule: 'resource-pattern',
    message: `must be an ARN glob such as arn:{partition}:sqs:{region}:{account}:{namespace}_*; placeholders: ${PATTERN_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}`,
  },
};

const namespacePattern = {
  type: 'string',
  minLength: 1,
  maxLength: 63,
  pattern: '^[a-z0-9*?-]+$',
  'x-awi': { rule: 'namespace-pattern', message: 'must be a namespace name or a glob of one ("*" and "?")' },
};

const valuePin = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  maxProperties: 1,
  properties: {
    allowed: stringList({ type: 'string', minLength: 1, maxLength: 256 }, { minItems: 1 }),
    fromNamespaceLabel: {
      type: 'string',
      minLength: 1,
      maxLength: 317,
      pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$',
      'x-awi': { rule: 'label-key', message: 'must be a Kubernetes label key such as awi.dev/owner' },
    },
  },
  'x-awi': { rule: 'value-pin', message: 'must set exactly one of allowed or fromNamespaceLabel' },
};

export const TEMPLATE_PLACEHOLDERS = ['cluster', 'namespace', 'serviceAccount', 'claim', 'account'] as const;

export const platformConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['cluster'],
  properties: {
    cluster: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'accountId', 'region'],
      properties: {
        name: {
          type: 'string',
          minLength: 1,
          maxLength: 100,
          pattern: '^[0-9A-Za-z][A-Za-z0-9_-]*$',
          'x-awi': { rule: 'cluster-name', message: 'must be an EKS cluster name: letters, digits, hyphens and underscores' },
        },
        accountId,
        region: {
          type: 'string',
          pattern: PATTERNS.region,
          'x-awi': { rule: 'region', message: 'must be an AWS region name such as ap-southeast-1' },
        },
        oidcIssuer: issuerUrl,
        oidcIssuers: {
          type: 'array',
          maxItems: 20,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['url'],
            properties: {
              url: issuerUrl,
              providerArn: arn(
                'oidc-provider-arn',
                '^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/[^\\s*?]+$',
                'an IAM OIDC provider ARN (arn:aws:iam::<account>:oidc-provider/<issuer host and path>)',
              ),
            },
          },
        },
      },
    },
    defaults: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        mechanism: { type: 'string', enum: ['PodIdentity', 'IRSA'], default: 'PodIdentity', 'x-awi': { what: 'mechanism' } },
        deletionPolicy: { type: 'string', enum: ['Delete', 'Retain'], default: 'Delete', 'x-awi': { what: 'deletion policy' } },
      },
    },
    roles: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        path: {
          type: 'string',
          maxLength: 512,
          default: '/awi/',
          pattern: '^/([A-Za-z0-9+=,.@_-]+/)*$',
          'x-awi': { rule: 'role-path', message: 'must be an IAM path: starts and ends with "/", e.g. /awi/' },
        },
        nameTemplate: {
          type: 'string',
          maxLength: 256,
          default: '{cluster}-{namespace}-{serviceAccount}',
          pattern: `^([A-Za-z0-9+=,.@_-]|\\{(${TEMPLATE_PLACEHOLDERS.join('|')})\\})+$`,
          'x-awi': {
            rule: 'name-template',
            message: `may only contain role-name characters (A-Za-z0-9+=,.@_-) and the placeholders ${TEMPLATE_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}`,
          },
        },
        permissionsBoundaryArn: arn(
          'boundary-arn',
          PATTERNS.managedPolicyArn,
          'a managed policy ARN (arn:aws:iam::<account>:policy/<name>)',
        ),
        maxSessionDurationSeconds: { type: 'integer', minimum: 3600, maximum: 43200, default: 3600 },
        tags: {
          type: 'object',
          default: {},
          maxProperties: 43,
          additionalProperties: {
            type: 'string',
            maxLength: 256,
            pattern: '^[\\p{L}\\p{Z}\\p{N}_.:/=+@-]*$',
            'x-awi': { rule: 'tag-value', message: 'must be a tag value: letters, digits, spaces and _.:/=+@-' },
          },
        },
      },
    },
    accounts: {
      type: 'array',
      maxItems: 200,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['accountId'],
        properties: {
          accountId,
          assumeRoleArn: arn('role-arn', PATTERNS.roleArn, 'an IAM role ARN'),
          externalId: { type: 'string', minLength: 2, maxLength: 1224, pattern: PATTERNS.externalId },
        },
      },
    },
    guardrails: {
      type: 'array',
      default: [],
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['namespaces', 'allowedAccounts', 'allowedResourcePatterns'],
        properties: {
          namespaces: stringList(namespacePattern, { minItems: 1 }),
          allowedAccounts: stringList(accountId),
          allowedServices: stringList({
            type: 'string',
            pattern: '^[a-z0-9-]+$',
            'x-awi': { rule: 'service-prefix', message: 'must be an IAM service prefix such as s3, sqs or secretsmanager' },
          }),
          allowedRegions: stringList({
            type: 'string',
            pattern: PATTERNS.region,
            'x-awi': { rule: 'region', message: 'must be an AWS region name such as ap-southeast-1' },
          }),
          allowedResourcePatterns: stringList(resourcePattern),
          sharedResources: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['namespaces', 'resourcePatterns'],
              properties: {
                namespaces: stringList(namespacePattern, { minItems: 1 }),
                resourcePatterns: stringList(resourcePattern, { minItems: 1 }),
              },
            },
          },
          allowedAssumeRoleArns: stringList({
            type: 'string',
            maxLength: 2048,
            pattern: `^arn:${PLACEHOLDER_TEXT}:iam::${PLACEHOLDER_TEXT}:role/${PLACEHOLDER_TEXT}$`,
            'x-awi': { rule: 'assume-role-pattern', message: 'must be a role ARN or an ARN glob such as arn:aws:iam::444455556666:role/reports-*' },
          }),
          allowManagedPolicies: { type: 'boolean', default: false },
          allowedManagedPolicyArns: stringList({
            type: 'string',
            maxLength: 2048,
            pattern: '^arn:',
            'x-awi': { rule: 'managed-policy-pattern', message: 'must be a managed policy ARN or an ARN glob' },
          }),
          allowRawStatements: { type: 'boolean', default: false },
          allowWildcardActions: { type: 'boolean', default: false },
          allowSessionPolicies: { type: 'boolean', default: false },
          forbiddenActions: stringList(
            {
              type: 'string',
              maxLength: 128,
              pattern: PATTERNS.action,
              'x-awi': { rule: 'action', message: 'must be an IAM action or action pattern, e.g. iam:PassRole or s3:*' },
            },
            { default: [] },
          ),
          owner: valuePin,
          environment: valuePin,
        },
      },
    },
    limits: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        trustPolicyMaxChars: { type: 'integer', minimum: 2048, maximum: 4096, default: 2048 },
        managedPoliciesPerRole: { type: 'integer', minimum: 10, maximum: 20, default: 10 },
      },
    },
    controller: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        resyncSeconds: { type: 'integer', minimum: 10, maximum: 86400, default: 300 },
        // Longest a reconcile relies on the shared, paged observation of IAM (src/controller/observation/).
        observeSeconds: { type: 'integer', minimum: 0, maximum: 86400, default: 300 },
        // Every cached Pod Identity association is described again at least this often (the list pages lack its fields).
        associationRecheckSeconds: { type: 'integer', minimum: 0, maximum: 604800, default: 7200 },
        resyncJitterRatio: { type: 'number', minimum: 0, maximum: 1, default: 0.1 },
        concurrency: { type: 'integer', minimum: 1, maximum: 64, default: 4 },
        backoffBaseSeconds: { type: 'number', exclusiveMinimum: 0, maximum: 60, default: 1 },
        backoffMaxSeconds: { type: 'number', minimum: 1, maximum: 3600, default: 300 },
        rateLimitPerSecond: { type: 'number', exclusiveMinimum: 0, maximum: 1000, default: 10 },
        rateLimitBurst: { type: 'integer', minimum: 1, maximum: 10000, default: 20 },
        watchIdleSeconds: { type: 'integer', minimum: 30, maximum: 86400, default: 600 },
        // Exchanging a token per claim as a pod would (src/controller/verify.ts); enabled: false turns it off.
        verification: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            enabled: { type: 'boolean', default: true },
            intervalSeconds: { type: 'integer', minimum: 10, maximum: 86400, default: 600 },
          },
        },
        // Longest a mechanism switch keeps the old trust for pods still using it (src/controller/switch.ts).
        switchMaxSeconds: { type: 'integer', minimum: 0, maximum: 2592000, default: 86400 },
        awsBudget: {
          type: 'object',
          additionalProperties: false,
          default: {},
          description: "awi's share of each account's AWS API quotas: calls per second per account and service, shared by all workers; cut when a window of answers shows excess Throttling that cutting relieves, recovered slowly (docs/aws-budget.md).",
          properties: {
            iamCallsPerSecond: { type: 'number', exclusiveMinimum: 0, maximum: 1000, default: 20 },
            eksCallsPerSecond: { type: 'number', exclusiveMinimum: 0, maximum: 1000, default: 20 },
            stsCallsPerSecond: { type: 'number', exclusiveMinimum: 0, maximum: 1000, default: 20 },
            burst: { type: 'integer', minimum: 1, maximum: 1000, default: 40 },
            maxAttempts: { type: 'integer', minimum: 1, maximum: 20, default: 5 },
          },
        },
      },
    },
  },
} as const;
