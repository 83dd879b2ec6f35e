// Structural validation of a claim with ajv against the schema the CRD is
// generated from (everything but CEL; the CEL twins live in the compiler).

import type { Problem } from '../compiler/types.js';
import { translateAjvErrors } from './ajv.js';
import { validateClaimSchema as validator } from './validators.js';

const EXPLAINED_KEYWORDS = new Set(['pattern', 'minLength']);

export interface StructureOptions {
  /**
   * Fields a CEL rule already reports: their generic pattern and minimum
   * length failures are left out ("*" as a bucket fails the name pattern and
   * the 3-character minimum, and, more to the point, bucket-not-pattern).
   */
  explainedFields?: ReadonlySet<string>;
}

/** Every structural problem of the claim; an empty list when it matches the schema. */
export function validateClaimStructure(claim: unknown, options: StructureOptions = {}): Problem[] {
  if (validator(claim)) return [];
  return translateAjvErrors(validator.errors)
    .filter((issue) => !(EXPLAINED_KEYWORDS.has(issue.keyword) && options.explainedFields?.has(issue.field)))
    .map(({ field, rule, message }) => ({ reason: 'InvalidSpec', field, rule, message }));
}
