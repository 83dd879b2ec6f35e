// Hand-written statements, passed through; guardrails check them one action
// and one resource at a time.

import type { RawStatement } from '../../api/types.js';
import type { Grant } from './grant.js';

export function rawGrants(entries: RawStatement[]): Grant[] {
  return entries.map((entry, i) => ({
    field: `spec.permissions.rawStatements[${i}]`,
    effect: entry.effect,
    actions: [...entry.actions],
    resources: [...entry.resources],
    ...(entry.conditions && Object.keys(entry.conditions).length ? { condition: structuredClone(entry.conditions) } : {}),
    raw: true,
  }));
}
