// The intent registry: one compiler per key of spec.permissions.
//
// The registry's type maps EVERY key of Permissions (the generated claim
// types) to a compiler for that key's value, so adding an intent to the
// schema without a compiler is a type error here (test/unit/registry-
// completeness.test.ts proves it), instead of a claim that turns Ready and
// grants nothing.
//
// Compile order is the registry's entry order: the services with named
// resources, then the *-only actions, role chaining, raw statements and the
// managed policies (which attach, not compile). The order decides only the
// order of guardrail problems; the policy itself is sorted (statements.ts).

import type { Permissions } from '../../api/types.js';
import { assumeRoleGrants } from './assume-roles.js';
import { dynamodbGrants } from './dynamodb.js';
import { ecrAuthorizationTokenGrants, ecrPullGrants } from './ecr.js';
import type { Grant, IntentContext } from './grant.js';
import { kmsGrants } from './kms.js';
import { rawGrants } from './raw.js';
import { s3Grants } from './s3.js';
import { secretsManagerGrants } from './secrets-manager.js';
import { snsGrants } from './sns.js';
import { sqsGrants } from './sqs.js';
import { ssmGrants } from './ssm.js';
import { cloudwatchMetricsGrants, xrayTracingGrants } from './unscoped.js';

export type { Grant, IntentContext } from './grant.js';
export { kmsKeyArn } from './kms.js';

/** A key of spec.permissions. */
export type IntentKey = keyof Permissions;

/** The value of each key of P, present: a compiler is called only for keys the claim sets. */
export type IntentValues<P> = { [K in keyof P]-?: NonNullable<P[K]> };

/** Compiles the value of one key of spec.permissions to grants. */
export type IntentCompiler<V> = (value: V, ctx: IntentContext) => Grant[];

/**
 * A compiler for every key of P. The keys of Permissions are optional and a
 * mapped type keeps that modifier, which would let an entry be left out; so
 * the registry maps the keys of IntentValues, where `-?` made them required.
 */
export type IntentRegistryOf<P> = { readonly [K in keyof IntentValues<P>]: IntentCompiler<IntentValues<P>[K]> };

export type IntentRegistry = IntentRegistryOf<Permissions>;

export const INTENTS = {
  s3: s3Grants,
  sqs: sqsGrants,
  sns: snsGrants,
  dynamodb: dynamodbGrants,
  kms: kmsGrants,
  secretsManager: secretsManagerGrants,
  ssmParameters: ssmGrants,
  ecrPull: ecrPullGrants,
  ecrAuthorizationToken: ecrAuthorizationTokenGrants,
  cloudwatchMetrics: cloudwatchMetricsGrants,
  xrayTracing: xrayTracingGrants,
  assumeRoles: assumeRoleGrants,
  rawStatements: rawGrants,
  // Attached to the role as they are (DesiredState.managedPolicyArns; guardrails.ts checks them): no statement.
  managedPolicyArns: () => [],
} as const satisfies IntentRegistry;

/** The compile order: the registry's entry order. */
export const INTENT_ORDER = Object.keys(INTENTS) as IntentKey[];

function compileIntent<K extends IntentKey>(key: K, permissions: Permissions, ctx: IntentContext): Grant[] {
  const value = permissions[key] as IntentValues<Permissions>[K] | undefined;
  if (value === undefined || value === null) return []; // null: only from unvalidated input
  const registry: IntentRegistry = INTENTS;
  return registry[key](value, ctx);
}

export function compileIntents(permissions: Permissions, ctx: IntentContext): Grant[] {
  return INTENT_ORDER.flatMap((key) => compileIntent(key, permissions, ctx));
}
