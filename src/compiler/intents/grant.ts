// What an intent compiles to before statements are merged: actions on
// resources under a condition, remembering which claim field asked for it
// (guardrail problems point there).

import type { ConditionBlock } from '../types.js';
import type { UnscopedActionName } from '../unscoped-actions.js';

export interface Grant {
  /** Claim field the grant comes from, e.g. spec.permissions.s3[0]. */
  field: string;
  effect: 'Allow' | 'Deny';
  actions: string[];
  resources: string[];
  condition?: ConditionBlock;
  /** Set for hand-written statements: their actions and resources are checked one by one. */
  raw?: boolean;
  /**
   * What the grant reaches, when its resources alone overstate it: ListBucket
   * is granted on the bucket but a condition limits it to the prefix, so it
   * reaches bucket/prefix*. Resource patterns are checked against this.
   */
  reach?: string[];
  /** Role chaining (spec.permissions.assumeRoles): checked against allowedAssumeRoleArns instead of resource patterns. */
  assumeRole?: boolean;
}

/** Where the claim's resources live. */
export interface IntentContext {
  partition: string;
  accountId: string;
  region: string;
}

/** DNS suffix of service endpoints, for kms:ViaService. */
export function dnsSuffix(partition: string): string {
  return partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
}

export function allow(field: string, actions: string[], resources: string[], condition?: ConditionBlock): Grant {
  return { field, effect: 'Allow', actions, resources, ...(condition ? { condition } : {}) };
}

/**
 * A grant on "*", for actions AWS authorizes on nothing else. Only names from
 * the curated list (../unscoped-actions.ts) type-check here, so an intent
 * cannot widen some other action to every resource.
 */
export function allowUnscoped(field: string, actions: readonly UnscopedActionName[], condition?: ConditionBlock): Grant {
  return allow(field, [...actions], ['*'], condition);
}
