// The claim and platform-config validators, compiled from their JSON Schemas
// at build time (ajv standalone code, ajv-compile.ts): the process starts
// without ajv's compiler and without compiling (docs/memory.md). Regenerate
// after a schema change: npm run build && node dist/src/api/generate-crd.js
// (test/unit/api-validators.test.ts fails while they are stale).

import type { ValidateFunction } from 'ajv';
import claimValidator from './claim.validator.generated.js';
import configValidator from './config.validator.generated.js';

/** Validates a claim against claimJsonSchema() (errors in `.errors`, as ajv's compile gives). */
export const validateClaimSchema = claimValidator as unknown as ValidateFunction;
/** Validates a platform configuration against platformConfigSchema and fills its defaults in place. */
export const validateConfigSchema = configValidator as unknown as ValidateFunction;
