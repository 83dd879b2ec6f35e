// The compiler's public API: claim + platform configuration -> desired state.

export { compileClaim, PERMISSION_POLICY_NAME, IRSA_ROLE_ARN_ANNOTATION } from './compile.js';
export { canonicalPolicy, canonicalJson, parsePolicy, policiesEqual, policyDigest, policySize } from './canonical.js';
export { checkSpecRules, CEL_TWINS } from './spec-rules.js';
export { effectiveGuardrail, expandPlaceholders, DEFAULT_FORBIDDEN_ACTIONS } from './guardrails.js';
export { forbids, forbiddenEntriesFor } from './actions.js';
export { roleName, shortenRoleName, ROLE_NAME_MAX } from './names.js';
export { INLINE_POLICY_MAX_CHARS } from './limits.js';
export { LABEL, MANAGED_BY, TAG } from './tags.js';
export { formatProblem, summarizeProblems, type ProblemListLimits } from './problems.js';
export type * from './types.js';
