// What awi last enforced for a claim, recorded in status.applied: a claim
// edited into an invalid one keeps enforcing its last valid state, and
// deletion finds what to clean up. Pure.
import type { AppliedState, AwsWorkloadIdentityClaim } from '../api/types.js';
import { compileClaim } from '../compiler/compile.js';
import type { CompileOptions, DesiredState } from '../compiler/types.js';
import type { PlatformConfig } from '../config/types.js';

export function appliedRecord(claim: AwsWorkloadIdentityClaim, desired: DesiredState): AppliedState {
  return {
    generation: claim.metadata.generation ?? 0,
    spec: structuredClone(claim.spec),
    mechanism: desired.mechanism,
    roleArn: desired.role.arn,
    policyDigest: desired.digests.policy,
    trustPolicyDigest: desired.digests.trust,
  };
}

export interface LastValid {
  /** The claim with its last valid spec in place of the current one. */
  source: AwsWorkloadIdentityClaim;
  desired: DesiredState;
  generation: number;
}

/**
 * The claim's last valid desired state, compiled again from the recorded spec
 * with today's platform config. Undefined when nothing was recorded, or when
 * the recorded spec no longer compiles either (e.g. a guardrail was tightened).
 */
export function lastValid(claim: AwsWorkloadIdentityClaim, config: PlatformConfig, options: CompileOptions = {}): LastValid | undefined {
  const applied = claim.status?.applied;
  if (!applied?.spec) return undefined;
  const source: AwsWorkloadIdentityClaim = { ...claim, spec: applied.spec };
  const compiled = compileClaim(source, config, options);
  return compiled.ok ? { source, desired: compiled.desired, generation: applied.generation } : undefined;
}
