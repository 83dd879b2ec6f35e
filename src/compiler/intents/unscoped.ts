// Intents for actions AWS authorizes only on "*" (see ../unscoped-actions.ts):
// ECR registry login, CloudWatch metrics in named namespaces, X-Ray tracing.

import type { Permissions } from '../../api/types.js';
import type { Grant } from './grant.js';
import { allow } from './grant.js';

export const XRAY_TRACING_ACTIONS = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets'];

export function unscopedGrants(permissions: Permissions): Grant[] {
  const grants: Grant[] = [];
  if (permissions.ecrAuthorizationToken) {
    grants.push(allow('spec.permissions.ecrAuthorizationToken', ['ecr:GetAuthorizationToken'], ['*']));
  }
  permissions.cloudwatchMetrics?.forEach((entry, i) => {
    grants.push(allow(`spec.permissions.cloudwatchMetrics[${i}]`, ['cloudwatch:PutMetricData'], ['*'], { StringEquals: { 'cloudwatch:namespace': entry.namespace } }));
  });
  if (permissions.xrayTracing) grants.push(allow('spec.permissions.xrayTracing', [...XRAY_TRACING_ACTIONS], ['*']));
  return grants;
}
