// Desired and observed states for the controller's pure tests, compiled from
// the shipped examples (deploy/examples) with the shipped platform config.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { AwsWorkloadIdentityClaim } from '../../src/api/types.js';
import { compileClaim } from '../../src/compiler/compile.js';
import type { DesiredState } from '../../src/compiler/types.js';
import { parsePlatformConfig } from '../../src/config/index.js';

const examples = path.join(process.cwd(), 'deploy', 'examples');
export const config = parsePlatformConfig(YAML.parse(readFileSync(path.join(examples, 'platform-config.yaml'), 'utf8')));

/** An example claim as the API server would hand it over (uid, generation). */
export function exampleClaim(file: string, patch: (spec: Record<string, unknown>) => void = () => undefined): AwsWorkloadIdentityClaim {
  const claim = YAML.parse(readFileSync(path.join(examples, file), 'utf8')) as AwsWorkloadIdentityClaim;
  claim.metadata.uid = '0b6d1c2e-1111-2222-3333-444455556666';
  claim.metadata.generation = 1;
  claim.metadata.resourceVersion = '1';
  patch(claim.spec as unknown as Record<string, unknown>);
  return claim;
}

export function desiredFor(claim: AwsWorkloadIdentityClaim): DesiredState {
  const r = compileClaim(claim, config);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.desired;
}

/** checkout-api: Pod Identity. */
export const POD_IDENTITY = 'checkout-api-s3-read.yaml';
/** billing-worker: IRSA. */
export const IRSA = 'billing-worker-sqs.yaml';
