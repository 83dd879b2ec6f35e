// The AwsWorkloadIdentityClaim API: the one source of truth. The CRD in crds/,
// the TypeScript types in types.generated.ts and the offline validator (ajv)
// are all derived from this file; `npm run build && node dist/src/api/generate-crd.js`
// rewrites the generated files and a unit test fails when they are stale.

import { arrayOf, bool, enumOf, int, mapOf, obj, setOf, str, type SchemaNode } from './schema-node.js';

export const GROUP = 'awi.dev';
export const VERSION = 'v1alpha1';
export const KIND = 'AwsWorkloadIdentityClaim';
export const LIST_KIND = 'AwsWorkloadIdentityClaimList';
export const PLURAL = 'awsworkloadidentityclaims';
export const SINGULAR = 'awsworkloadidentityclaim';
export const SHORT_NAMES = ['awic', 'wic'];
export const CATEGORIES = ['awi'];
export const API_VERSION = `${GROUP}/${VERSION}`;
export const CRD_NAME = `${PLURAL}.${GROUP}`;

// Name rules, as patterns (RE2 and ECMAScript agree on all of them).
export const PATTERNS = {
  dnsSubdomain: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
  accountId: '^[0-9]{12}$',
  region: '^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}$',
  tagValue: '^[A-Za-z0-9_.:/=+@-]+$',
  bucket: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$',
  s3Prefix: '^[^/]',
  queue: '^([A-Za-z0-9_-]{1,80}|[A-Za-z0-9_-]{1,75}\\.fifo)$',
  topic: '^([A-Za-z0-9_-]{1,256}|[A-Za-z0-9_-]{1,251}\\.fifo)$',
  table: '^[A-Za-z0-9_.-]{3,255}$',
  kmsKey:
    '^(arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/)?(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$',
  secretName: '^[A-Za-z0-9/_+=.@-]+$',
  parameterPath: '^/?[A-Za-z0-9_.-][A-Za-z0-9_./-]*$',
  roleArn: '^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$',
  externalId: '^[A-Za-z0-9+=,.@:/_-]+$',
  managedPolicyArn: '^arn:aws[a-z-]*:iam::(aws|[0-9]{12}):policy/[A-Za-z0-9+=,.@_/-]+$',
  action: '^(\\*|[a-z0-9-]+:[A-Za-z0-9*?]+)$',
  resource: '^(\\*|arn:[^\\s]+)$',
  // CloudWatch: ASCII letters, digits and . - _ / # : and space ("AWS/" is reserved: refused by the compiler).
  metricNamespace: '^[A-Za-z0-9._/#: -]{1,255}$',
  // ECR API reference (repositoryName): lowercase segments of letters and digits joined by one . _ or -, separated by "/".
  ecrRepository: '^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$',
} as const;

export const KMS_VIA_SERVICES = ['s3', 'sqs', 'sns', 'dynamodb', 'secretsmanager', 'ssm', 'lambda', 'ec2', 'rds', 'logs'];

function accessSet(service: string, typeName: string, levels: string[], meaning: string): SchemaNode {
  return setOf(
    `What the workload may do with it: ${meaning}`,
    enumOf(`An access level for ${service}.`, levels, {
      typeName,
      rule: `${typeName.replace(/Access$/, '').toLowerCase()}-access`,
      what: `access level for ${service}`,
    }),
    { minItems: 1, maxItems: levels.length },
  );
}

const s3Permission = obj(
  'S3Permission',
  'Access to the objects of one bucket, optionally under one key prefix.',
  {
    bucket: str('The bucket name. Must be a concrete bucket: wildcards are refused.', {
      minLength: 3,
      maxLength: 63,
      pattern: PATTERNS.bucket,
      cel: ['bucket-not-pattern', 'bucket-name-rules'],
      'x-awi': {
        rule: 'bucket-name',
        message: 'must be an S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit',
      },
    }),
    prefix: str(
      'Key prefix the access is limited to, e.g. "checkout-api/". Literal: awi appends the wildcard. Omit for the whole bucket.',
      {
        minLength: 1,
        maxLength: 1024,
        pattern: PATTERNS.s3Prefix,
        cel: ['prefix-not-pattern'],
        'x-awi': { rule: 's3-prefix', message: 'must not start with "/"' },
      },
    ),
    access: accessSet(
      'S3',
      'S3Access',
      ['read', 'write', 'list', 'delete'],
      'read (GetObject, and ListBucket under the prefix), write (PutObject), list (ListBucket under the prefix), delete (DeleteObject).',
    ),
  },
  { required: ['bucket', 'access'] },
);

const sqsPermission = obj(
  'SqsPermission',
  'Access to one SQS queue in the claim account and region.',
  {
    queue: str('The queue name (not its URL or ARN). FIFO queues end in ".fifo".', {
      minLength: 1,
      maxLength: 80,
      pattern: PATTERNS.queue,
      cel: ['queue-not-pattern'],
      'x-awi': {
        rule: 'queue-name',
        message: 'must be an SQS queue name: up to 80 letters, digits, hyphens and underscores, FIFO queues ending in ".fifo"',
      },
    }),
    access: accessSet(
      'SQS',
      'SqsAccess',
      ['send', 'consume'],
      'send (SendMessage) or consume (ReceiveMessage, DeleteMessage, ChangeMessageVisibility); both include GetQueueAttributes and GetQueueUrl.',
    ),
  },
  { required: ['queue', 'access'] },
);

const snsPermission = obj(
  'SnsPermission',
  'Access to one SNS topic in the claim account and region.',
  {
    topic: str('The topic name (not its ARN). FIFO topics end in ".fifo".', {
      minLength: 1,
      maxLength: 256,
      pattern: PATTERNS.topic,
      cel: ['topic-not-pattern'],
      'x-awi': {
        rule: 'topic-name',
        message: 'must be an SNS topic name: up to 256 letters, digits, hyphens and underscores, FIFO topics ending in ".fifo"',
      },
    }),
    access: accessSet('SNS', 'SnsAccess', ['publish'], 'publish (Publish).'),
  },
  { required: ['topic', 'access'] },
);

const dynamodbPermission = obj(
  'DynamoDbPermission',
  'Access to one DynamoDB table in the claim account and region.',
  {
    table: str('The table name (not its ARN).', {
      minLength: 3,
      maxLength: 255,
      pattern: PATTERNS.table,
      cel: ['table-not-pattern'],
      'x-awi': {
        rule: 'table-name',
        message: 'must be a DynamoDB table name: 3-255 letters, digits, underscores, hyphens and dots',
      },
    }),
    access: accessSet(
      'DynamoDB',
      'DynamoDbAccess',
      ['read', 'write'],
      'read (GetItem, BatchGetItem, Query, DescribeTable; no Scan) or write (PutItem, UpdateItem, DeleteItem, BatchWriteItem).',
    ),
    indexes: bool('Also grant reads on every index of the table (table/<name>/index/*). Needs read access.'),
  },
  { required: ['table', 'access'], cel: ['indexes-need-read'] },
);

const kmsPermission = obj(
  'KmsPermission',
  'Use of one KMS key, optionally only through one AWS service.',
  {
    key: str('The key ARN, or a key id in the claim account and region. Aliases are not accepted: IAM authorizes keys, not aliases.', {
      maxLength: 2048,
      pattern: PATTERNS.kmsKey,
      'x-awi': {
        rule: 'kms-key',
        message: 'must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>) or a key id; aliases and wildcards are not accepted',
      },
    }),
    access: accessSet(
      'KMS',
      'KmsAccess',
      ['decrypt', 'encrypt', 'generateDataKey'],
      'decrypt (Decrypt), encrypt (Encrypt; through S3 also GenerateDataKey, which S3 uses to encrypt objects), generateDataKey (GenerateDataKey).',
    ),
    viaService: enumOf(
      'Only allow the key to be used through this service in the claim region (condition kms:ViaService = <service>.<region>.amazonaws.com).',
      KMS_VIA_SERVICES,
      { typeName: 'KmsViaService', rule: 'kms-via-service', what: 'service for kms:ViaService' },
    ),
  },
  { required: ['key', 'access'] },
);

const secretsManagerPermission = obj(
  'SecretsManagerPermission',
  'Read access to one secret by name, or to the secrets whose names start with a prefix.',
  {
    name: str('The secret name. awi appends "-??????" to match the 6-character suffix AWS adds to secret ARNs.', {
      minLength: 1,
      maxLength: 512,
      pattern: PATTERNS.secretName,
      cel: ['secret-not-pattern'],
      'x-awi': { rule: 'secret-name', message: 'must be a secret name: letters, digits and /_+=.@-' },
    }),
    namePrefix: str('A secret name prefix, e.g. "checkout/prod/". Literal: awi appends the wildcard.', {
      minLength: 1,
      maxLength: 512,
      pattern: PATTERNS.secretName,
      cel: ['secret-not-pattern'],
      'x-awi': { rule: 'secret-name', message: 'must be a secret name prefix: letters, digits and /_+=.@-' },
    }),
    access: accessSet('Secrets Manager', 'SecretsManagerAccess', ['read'], 'read (GetSecretValue, DescribeSecret).'),
  },
  { required: ['access'], cel: ['secret-name-or-prefix'] },
);

const ssmParameterPermission = obj(
  'SsmParameterPermission',
  'Read access to an SSM parameter and the parameters below it.',
  {
    path: str('The parameter name or path, e.g. "/checkout/prod". Grants the parameter itself and everything below it.', {
      minLength: 1,
      maxLength: 1011,
      pattern: PATTERNS.parameterPath,
      cel: ['parameter-path-not-pattern'],
      'x-awi': {
        rule: 'parameter-path',
        message: 'must be a parameter name or path: letters, digits and _.-/, not "/" alone',
      },
    }),
    access: accessSet('SSM parameters', 'SsmParameterAccess', ['read'], 'read (GetParameter, GetParameters, GetParametersByPath).'),
  },
  { required: ['path', 'access'] },
);

const assumeRolePermission = obj(
  'AssumeRolePermission',
  'Role chaining: the workload may assume one named role, typically in another account.',
  {
    roleArn: str('ARN of the role to assume. Must name one role: wildcards are refused.', {
      maxLength: 2048,
      pattern: PATTERNS.roleArn,
      'x-awi': { rule: 'role-arn', message: 'must be an IAM role ARN (arn:aws:iam::<account>:role/<name>) without wildcards' },
    }),
    externalId: str('External id the target role requires (condition sts:ExternalId).', {
      minLength: 2,
      maxLength: 1224,
      pattern: PATTERNS.externalId,
      'x-awi': { rule: 'external-id', message: 'must be 2-1224 letters, digits and +=,.@:/_-' },
    }),
  },
  { required: ['roleArn'] },
);

const ecrPullPermission = obj(
  'EcrPullPermission',
  'Pulling images from one ECR repository: ecr:BatchGetImage, ecr:GetDownloadUrlForLayer and ecr:BatchCheckLayerAvailability on the repository, and registry login (ecr:GetAuthorizationToken, which AWS authorizes only on "*").',
  {
    repository: str('The repository name, e.g. "checkout/api" (not its URI or ARN). Must be one repository: wildcards are refused.', {
      minLength: 2,
      maxLength: 256,
      pattern: PATTERNS.ecrRepository,
      cel: ['repository-not-pattern'],
      'x-awi': {
        rule: 'ecr-repository-name',
        message: 'must be an ECR repository name: 2-256 lowercase letters and digits in segments separated by "/", joined within a segment by single ".", "_" or "-"',
      },
    }),
    registryAccountId: str('The 12-digit account of the registry, for a repository in another account (a central registry). Default: spec.aws.accountId.', {
      pattern: PATTERNS.accountId,
      'x-awi': { rule: 'account-id', message: 'must be a 12-digit AWS account id (quote it in YAML)' },
    }),
  },
  { required: ['repository'] },
);

function statementNode(typeName: string, description: string): SchemaNode {
  return obj(
  typeName,
  description,
  {
    effect: enumOf('Allow or Deny.', ['Allow', 'Deny'], { typeName: `${typeName}Effect`, rule: 'raw-effect', what: 'effect' }),
    actions: setOf(
      'IAM actions, e.g. "ec2:DescribeInstances".',
      str('One IAM action, "<service>:<action>".', {
        maxLength: 128,
        pattern: PATTERNS.action,
        'x-awi': { rule: 'raw-action', message: 'must be an IAM action "<service>:<action>"' },
      }),
      { minItems: 1, maxItems: 50 },
    ),
    resources: setOf(
      'Resource ARNs.',
      str('One resource ARN.', {
        maxLength: 2048,
        pattern: PATTERNS.resource,
        'x-awi': { rule: 'raw-resource', message: 'must be a resource ARN' },
      }),
      { minItems: 1, maxItems: 50 },
    ),
    conditions: mapOf(
      'IAM condition block: operator -> condition key -> values, e.g. {StringEquals: {"aws:ResourceTag/team": ["checkout"]}}.',
      mapOf(
        'Condition keys and their values for one operator.',
        arrayOf('Values of one condition key.', str('One condition value.', { maxLength: 1024 }), { minItems: 1, maxItems: 20 }),
        { minProperties: 1, maxProperties: 10 },
      ),
      { minProperties: 1, maxProperties: 10, cel: ['raw-condition-operator'] },
    ),
  },
  { required: ['effect', 'actions', 'resources'] },
  );
}

const rawStatement = statementNode(
  'RawStatement',
  'A hand-written IAM statement. Only where the platform configuration allows raw statements for the namespace; forbidden actions and wildcard resources are refused (except a few actions AWS authorizes only on "*", see docs/tenants.md).',
);

function listOf(description: string, items: SchemaNode, maxItems: number): SchemaNode {
  return arrayOf(description, items, { minItems: 1, maxItems });
}

const permissions = obj(
  'Permissions',
  'What the workload may do, as intents per AWS service. awi compiles them to the least-privilege permission policy.',
  {
    s3: listOf('S3 buckets and prefixes.', s3Permission, 20),
    sqs: listOf('SQS queues.', sqsPermission, 20),
    sns: listOf('SNS topics.', snsPermission, 20),
    dynamodb: listOf('DynamoDB tables.', dynamodbPermission, 20),
    kms: listOf('KMS keys.', kmsPermission, 10),
    secretsManager: listOf('Secrets Manager secrets.', secretsManagerPermission, 20),
    ssmParameters: listOf('SSM Parameter Store paths.', ssmParameterPermission, 20),
    assumeRoles: listOf('Roles the workload may assume (role chaining, e.g. into another account).', assumeRolePermission, 10),
    managedPolicyArns: setOf(
      'Managed policies to attach. Only where the platform configuration allows managed policies for the namespace.',
      str('One managed policy ARN.', {
        maxLength: 2048,
        pattern: PATTERNS.managedPolicyArn,
        'x-awi': { rule: 'managed-policy-arn', message: 'must be a managed policy ARN (arn:aws:iam::aws:policy/<name> or arn:aws:iam::<account>:policy/<name>)' },
      }),
      { minItems: 1, maxItems: 20 },
    ),
    ecrPull: listOf('ECR repositories to pull images from (implies registry login: no need for ecrAuthorizationToken).', ecrPullPermission, 20),
    ecrAuthorizationToken: bool('Grant ecr:GetAuthorizationToken (registry login; AWS authorizes it only on "*"). Pulls still need access to each repository.'),
    cloudwatchMetrics: listOf(
      'CloudWatch metric namespaces the workload may publish to (cloudwatch:PutMetricData on "*" with the condition cloudwatch:namespace).',
      obj(
        'CloudWatchMetricsPermission',
        'Publishing custom metrics into one namespace.',
        {
          namespace: str('The metric namespace, e.g. "checkout". Names starting with "AWS/" are reserved by AWS.', {
            minLength: 1,
            maxLength: 255,
            pattern: PATTERNS.metricNamespace,
            'x-awi': { rule: 'metric-namespace', message: 'must be a CloudWatch namespace: 1-255 letters, digits, spaces and .-_/#:' },
          }),
        },
        { required: ['namespace'] },
      ),
      10,
    ),
    xrayTracing: bool('Grant what the X-Ray daemon and SDK samplers call: xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules, GetSamplingTargets (AWS authorizes them only on "*").'),
    rawStatements: listOf('Hand-written statements, where allowed.', rawStatement, 20),
  },
  { minProperties: 1 },
);

export const claimSpecSchema: SchemaNode = obj(
  'ClaimSpec',
  'The workload identity the namespace asks for.',
  {
    serviceAccountName: str(
      'The ServiceAccount that receives the identity. awi creates it if missing. Must be a dedicated ServiceAccount: "default" is refused.',
      {
        minLength: 1,
        maxLength: 253,
        pattern: PATTERNS.dnsSubdomain,
        cel: ['sa-not-default'],
        'x-awi': { rule: 'service-account-name', message: 'must be a ServiceAccount name (a lowercase DNS subdomain)' },
      },
    ),
    owner: str('Team or person accountable for this identity. Written to the role tag awi.dev/owner.', {
      minLength: 1,
      maxLength: 128,
      pattern: PATTERNS.tagValue,
      'x-awi': { rule: 'tag-value', message: 'must be usable as a tag value: letters, digits and _.:/=+@-' },
    }),
    environment: str('Environment name, e.g. prod. Written to the role tag awi.dev/environment.', {
      minLength: 1,
      maxLength: 64,
      pattern: PATTERNS.tagValue,
      'x-awi': { rule: 'tag-value', message: 'must be usable as a tag value: letters, digits and _.:/=+@-' },
    }),
    mechanism: enumOf(
      'How pods get the role: PodIdentity (an EKS Pod Identity association) or IRSA (a role-arn annotation on the ServiceAccount). Default from the platform configuration.',
      ['PodIdentity', 'IRSA'],
      { rule: 'mechanism', what: 'mechanism' },
    ),
    aws: obj(
      'AwsTarget',
      'Where the role is created and where the named resources live.',
      {
        accountId: str('The 12-digit AWS account id.', {
          pattern: PATTERNS.accountId,
          'x-awi': { rule: 'account-id', message: 'must be a 12-digit AWS account id (quote it in YAML)' },
        }),
        region: str('The AWS region of the resources, e.g. ap-southeast-1.', {
          maxLength: 32,
          pattern: PATTERNS.region,
          'x-awi': { rule: 'region', message: 'must be an AWS region name such as ap-southeast-1' },
        }),
      },
      { required: ['accountId', 'region'] },
    ),
    permissions,
    podIdentity: obj(
      'PodIdentityOptions',
      'Options of the EKS Pod Identity association (mechanism PodIdentity only).',
      {
        sessionPolicy: listOf(
          'Session policy of the association: statements that narrow what pods get (the role\'s permissions intersected with these). AWS requires session tags off with a session policy, so the role\'s trust can pin only the cluster, not the namespace and ServiceAccount: only where the platform configuration allows session policies (allowSessionPolicies).',
          statementNode('SessionPolicyStatement', 'One statement of the session policy.'),
          10,
        ),
      },
    ),
    deletionPolicy: enumOf(
      'What happens to the role, policy and binding when the claim is deleted: Delete them, or Retain them in AWS. Default from the platform configuration.',
      ['Delete', 'Retain'],
      { rule: 'deletion-policy', what: 'deletion policy' },
    ),
    maxSessionDurationSeconds: int(
      'Maximum session duration of the role, 3600-43200 seconds, at most what the platform configuration allows. Default from the platform configuration.',
      { minimum: 3600, maximum: 43200 },
    ),
  },
  { required: ['serviceAccountName', 'owner', 'environment', 'aws', 'permissions'] },
);

const timestamp = (description: string): SchemaNode => str(description, { format: 'date-time' });

export const claimConditionSchema: SchemaNode = obj(
  'ClaimCondition',
  'One aspect of the claim state, in the Kubernetes condition shape.',
  {
    type: str('Condition type: Ready (summary), PolicyReady, RoleReady, BindingReady or ServiceAccountReady.', {
      minLength: 1,
      maxLength: 316,
      pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
    }),
    status: enumOf('True, False or Unknown.', ['True', 'False', 'Unknown'], { typeName: 'ConditionStatus' }),
    observedGeneration: int('The claim generation this condition was computed from.', { format: 'int64', minimum: 0 }),
    lastTransitionTime: timestamp('When the status last changed (not when the condition was last computed).'),
    reason: str('Stable CamelCase reason, e.g. GuardrailViolation, IAMPropagating, RoleNotOwned.', {
      minLength: 1,
      maxLength: 1024,
      pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
    }),
    message: str('A sentence a person can act on.', { maxLength: 32768 }),
  },
  { required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'] },
);

/** The spec schema for data awi itself writes into status: same shape and types, no CEL (it compiled already). */
function withoutCel(node: SchemaNode): SchemaNode {
  const { 'x-kubernetes-validations': _cel, ...rest } = node;
  // A deep copy: shared arrays would become YAML anchors in the rendered CRD.
  const out: SchemaNode = structuredClone(rest);
  if (node['x-awi']?.cel) {
    const { cel: _ids, ...awi } = node['x-awi'];
    if (Object.keys(awi).length) out['x-awi'] = awi;
    else delete out['x-awi'];
  }
  if (node.properties) out.properties = Object.fromEntries(Object.entries(node.properties).map(([k, v]) => [k, withoutCel(v)]));
  if (node.items) out.items = withoutCel(node.items);
  if (node.additionalProperties) out.additionalProperties = withoutCel(node.additionalProperties);
  return out;
}

export const appliedStateSchema: SchemaNode = obj(
  'AppliedState',
  'What awi last enforced: the last spec that compiled and what it compiled to. A claim edited into an invalid one keeps enforcing this; deletion cleans up from it.',
  {
    generation: int('The claim generation whose spec this is.', { format: 'int64', minimum: 0 }),
    spec: withoutCel(claimSpecSchema),
    mechanism: enumOf('The mechanism it binds with.', ['PodIdentity', 'IRSA']),
    roleArn: str('ARN of the role it compiled to.', { maxLength: 2048 }),
    policyDigest: str('sha256 of its canonical permission policy.', { maxLength: 80 }),
    trustPolicyDigest: str('sha256 of its canonical trust policy.', { maxLength: 80 }),
  },
  { required: ['generation', 'spec', 'mechanism', 'roleArn'] },
);

export const retiringIdentitySchema: SchemaNode = obj(
  'RetiringIdentity',
  'An identity awi made for this claim that the claim no longer asks for (ServiceAccount renamed, account or role name changed): awi removes it once the new identity is Ready, and on deletion.',
  {
    roleArn: str('ARN of the role to remove (only if it carries this claim\'s ownership tags).', { maxLength: 2048 }),
    serviceAccount: str('Name of the ServiceAccount it was bound to, in the claim\'s namespace: its association and the ServiceAccount itself go if they are this claim\'s.', { maxLength: 253 }),
    mechanism: enumOf('The mechanism it was bound with.', ['PodIdentity', 'IRSA']),
    associationId: str('Id of its Pod Identity association, when known.', { maxLength: 256 }),
  },
  { required: ['roleArn', 'serviceAccount'] },
);

export const claimStatusSchema: SchemaNode = obj(
  'ClaimStatus',
  'What awi observed and did, for auditors and for kubectl.',
  {
    observedGeneration: int('The claim generation the status describes.', { format: 'int64', minimum: 0 }),
    mechanism: enumOf('The mechanism in effect.', ['PodIdentity', 'IRSA']),
    roleArn: str('ARN of the role awi manages for this claim.', { maxLength: 2048 }),
    policyDigest: str('sha256 of the canonical permission policy, "sha256:<hex>".', { maxLength: 80 }),
    trustPolicyDigest: str('sha256 of the canonical trust policy, "sha256:<hex>".', { maxLength: 80 }),
    associationId: str('Id of the EKS Pod Identity association (PodIdentity only).', { maxLength: 256 }),
    lastSyncTime: timestamp('When awi last applied the desired state successfully.'),
    lastDriftCheckTime: timestamp('When awi last compared AWS with the desired state.'),
    applied: appliedStateSchema,
    retiring: arrayOf('Identities the claim no longer asks for that awi has yet to remove; recorded before the new identity is made, so that a crash cannot lose track of them.', retiringIdentitySchema, { maxItems: 32 }),
    conditions: arrayOf('Current conditions, one per type.', claimConditionSchema, {
      maxItems: 16,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
    }),
  },
);

/** The whole object, as the CRD's openAPIV3Schema. */
export const claimRootSchema: SchemaNode = obj(
  undefined,
  'AwsWorkloadIdentityClaim asks for an AWS identity for one ServiceAccount: awi creates a least-privilege IAM role, its trust policy and the binding (EKS Pod Identity or IRSA).',
  {
    apiVersion: str('APIVersion defines the versioned schema of this representation of an object.'),
    kind: str('Kind is a string value representing the REST resource this object represents.'),
    // The API server allows nothing here but `type: object` (not even a description).
    metadata: { type: 'object' },
    spec: claimSpecSchema,
    status: claimStatusSchema,
  },
  { required: ['spec'], cel: ['claim-name-length'] },
);

/** Printer columns for `kubectl get awic`. */
export const PRINTER_COLUMNS = [
  { name: 'ServiceAccount', type: 'string', jsonPath: '.spec.serviceAccountName', description: 'The ServiceAccount that receives the identity.' },
  { name: 'Mechanism', type: 'string', jsonPath: '.status.mechanism', description: 'PodIdentity or IRSA, as in effect.' },
  { name: 'Role', type: 'string', jsonPath: '.status.roleArn', description: 'The IAM role awi manages.' },
  { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status', description: 'Whether the identity is usable.' },
  { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason', description: 'Why it is (not) ready.' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since the claim was created.' },
];
