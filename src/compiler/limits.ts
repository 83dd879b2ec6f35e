// IAM quotas, checked before anything is sent: a claim that cannot fit is a
// terminal problem naming the limit, not an AWS error on every retry.

import { policySize } from './canonical.js';
import { ROLE_NAME_MAX } from './names.js';
import { TAGS_PER_ROLE_MAX } from './tags.js';
import type { PlatformConfig } from '../config/types.js';
import type { PolicyDocument, Problem } from './types.js';

/** All inline policies of a role together, whitespace excluded. */
export const INLINE_POLICY_MAX_CHARS = 10240;

export interface LimitInputs {
  config: PlatformConfig;
  permissionPolicy: PolicyDocument;
  trustPolicy: PolicyDocument;
  managedPolicyCount: number;
  tagCount: number;
  roleName: string;
}

const n = (x: number) => x.toLocaleString('en-US');

function exceeded(field: string, rule: string, message: string): Problem {
  return { reason: 'LimitExceeded', field, rule, message };
}

export function checkLimits(input: LimitInputs): Problem[] {
  const problems: Problem[] = [];
  const inline = policySize(input.permissionPolicy);
  if (inline > INLINE_POLICY_MAX_CHARS) {
    problems.push(
      exceeded(
        'spec.permissions',
        'inline-policy-size',
        `the permission policy is ${n(inline)} characters; IAM allows at most ${n(INLINE_POLICY_MAX_CHARS)} characters of inline policy per role (whitespace excluded): split the claim or name fewer resources`,
      ),
    );
  }
  const trustMax = input.config.limits.trustPolicyMaxChars;
  const trust = policySize(input.trustPolicy);
  if (trust > trustMax) {
    problems.push(
      exceeded(
        'spec.mechanism',
        'trust-policy-size',
        `the trust policy is ${n(trust)} characters; the role trust policy limit is ${n(trustMax)} characters (limits.trustPolicyMaxChars, at most 4,096): trust fewer OIDC issuers`,
      ),
    );
  }
  const managedMax = input.config.limits.managedPoliciesPerRole;
  if (input.managedPolicyCount > managedMax) {
    problems.push(
      exceeded(
        'spec.permissions.managedPolicyArns',
        'managed-policies-per-role',
        `${input.managedPolicyCount} managed policies; the limit of managed policies attached per role is ${managedMax} (limits.managedPoliciesPerRole, at most 20)`,
      ),
    );
  }
  if (input.tagCount > TAGS_PER_ROLE_MAX) {
    problems.push(
      exceeded('spec', 'tags-per-role', `the role would carry ${input.tagCount} tags; the limit of tags per role is ${TAGS_PER_ROLE_MAX}`),
    );
  }
  if (input.roleName.length > ROLE_NAME_MAX) {
    problems.push(
      exceeded('metadata.name', 'role-name-length', `role name "${input.roleName}" is ${input.roleName.length} characters; the role name limit is ${ROLE_NAME_MAX}`),
    );
  }
  return problems;
}
