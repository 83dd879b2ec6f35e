// Intents for actions AWS authorizes only on "*" (see ../unscoped-actions.ts):
// CloudWatch metrics in named namespaces, X-Ray tracing. ECR registry login
// lives with the other ECR intent (ecr.ts).

import type { CloudWatchMetricsPermission } from '../../api/types.js';
import type { UnscopedActionName } from '../unscoped-actions.js';
import { allowUnscoped, type Grant } from './grant.js';

export const XRAY_TRACING_ACTIONS: readonly UnscopedActionName[] = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets'];

/** PutMetricData exists only on "*"; the condition cloudwatch:namespace is what scopes it. */
export function cloudwatchMetricsGrants(entries: CloudWatchMetricsPermission[]): Grant[] {
  return entries.map((entry, i) =>
    allowUnscoped(`spec.permissions.cloudwatchMetrics[${i}]`, ['cloudwatch:PutMetricData'], { StringEquals: { 'cloudwatch:namespace': entry.namespace } }),
  );
}

export function xrayTracingGrants(enabled: boolean): Grant[] {
  return enabled ? [allowUnscoped('spec.permissions.xrayTracing', XRAY_TRACING_ACTIONS)] : [];
}
