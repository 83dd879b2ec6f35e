// The claim object as TypeScript sees it. The spec and status types are
// generated from the schema (types.generated.ts); this file adds the envelope.

import type { ClaimSpec, ClaimStatus } from './types.generated.js';

export * from './types.generated.js';

export interface ClaimMetadata {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

export interface AwsWorkloadIdentityClaim {
  apiVersion: 'awi.dev/v1alpha1';
  kind: 'AwsWorkloadIdentityClaim';
  metadata: ClaimMetadata;
  spec: ClaimSpec;
  status?: ClaimStatus;
}
