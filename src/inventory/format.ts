// The inventory as text: a kubectl-style table (the style of cli/table.ts),
// JSON, or CSV. Deterministic: the same cluster state prints the same bytes
// (no ages, no "now"), so the output can be diffed and pasted.
import { MANAGED_BY, TAG } from '../ownership.js';
import type { BindingFinding, Inventory, InventoryRow, OrphanRole } from './join.js';

export type InventoryFormat = 'table' | 'json' | 'csv';

const CLAIM_COLUMNS: [string, (r: InventoryRow) => string][] = [
  ['CLUSTER', (r) => r.cluster],
  ['NAMESPACE', (r) => r.namespace],
  ['NAME', (r) => r.name],
  ['SERVICEACCOUNT', (r) => r.serviceAccount],
  ['MECHANISM', (r) => r.mechanism],
  ['ROLE', (r) => r.roleArn || '<none>'],
  ['OWNER', (r) => r.owner],
  ['ENVIRONMENT', (r) => r.environment],
  ['READY', (r) => r.ready],
  ['REASON', (r) => r.reason],
  ['LAST-CHANGE', (r) => r.lastChange || '<none>'],
];
const AWS_COLUMNS: [string, (r: InventoryRow) => string][] = [
  ['AWS-ROLE', (r) => r.aws?.role ?? ''],
  ['AWS-TAGS', (r) => r.aws?.tags ?? ''],
  ['AWS-POLICY', (r) => r.aws?.policy ?? ''],
  ['AWS-TRUST', (r) => r.aws?.trust ?? ''],
  ['AWS-BINDING', (r) => r.aws?.binding ?? ''],
  ['AWS-PROVIDER', (r) => r.aws?.provider ?? ''],
  ['VERIFIED', (r) => r.aws?.verified ?? ''],
];
const BINDING_COLUMNS: [string, (b: BindingFinding) => string][] = [
  ['KIND', (b) => b.kind],
  ['NAMESPACE', (b) => b.namespace],
  ['SERVICEACCOUNT', (b) => b.serviceAccount],
  ['ROLE', (b) => b.roleArn || '<none>'],
  ['ASSOCIATION', (b) => b.associationId ?? '-'],
  ['CLAIM', (b) => b.claim ?? '-'],
  ['DETAIL', (b) => b.detail],
];
const ORPHAN_COLUMNS: [string, (o: OrphanRole) => string][] = [
  ['ACCOUNT', (o) => o.accountId],
  ['ROLE', (o) => o.roleArn],
  ['NAMESPACE', (o) => o.namespace],
  ['CLAIM', (o) => o.claim],
  ['OWNER', (o) => o.owner],
  ['CREATED', (o) => o.created || '<unknown>'],
  ['STATUS', (o) => o.status],
];

/** Columns padded to the widest cell, three spaces apart, no trailing blanks (as cli/table.ts). */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows].map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('   ').trimEnd());
}

export function formatTable(inv: Inventory): string[] {
  const columns = inv.orphans ? [...CLAIM_COLUMNS, ...AWS_COLUMNS] : CLAIM_COLUMNS;
  const lines = inv.claims.length
    ? table(columns.map(([h]) => h), inv.claims.map((r) => columns.map(([, get]) => get(r))))
    : [`No AwsWorkloadIdentityClaims found in cluster ${inv.cluster}.`];
  if (inv.orphans) {
    lines.push('');
    if (inv.orphans.length) {
      lines.push(`Roles tagged ${TAG.managedBy}=${MANAGED_BY} for cluster ${inv.cluster} that no claim accounts for:`);
      lines.push(...table(ORPHAN_COLUMNS.map(([h]) => h), inv.orphans.map((o) => ORPHAN_COLUMNS.map(([, get]) => get(o)))));
    } else {
      lines.push(`No orphaned roles: every role tagged ${TAG.managedBy}=${MANAGED_BY} for cluster ${inv.cluster} belongs to a claim.`);
    }
  }
  if (inv.bindings) {
    lines.push('');
    if (inv.bindings.length) {
      lines.push(`Bindings in cluster ${inv.cluster} that no claim accounts for (made outside awi, or awi's without their claim):`);
      lines.push(...table(BINDING_COLUMNS.map(([h]) => h), inv.bindings.map((b) => BINDING_COLUMNS.map(([, get]) => get(b)))));
    } else {
      lines.push(`No bindings outside awi: no ServiceAccount annotated with a role and no Pod Identity association in cluster ${inv.cluster} is outside a claim.`);
    }
  }
  return lines;
}

export function formatJson(inv: Inventory): string {
  return JSON.stringify(inv, null, 2);
}

/** RFC 4180: quote a field when it holds a comma, quote or line break; double inner quotes. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * One CSV table: a `record` column says whether a line is a claim, an
 * orphaned role or a binding outside awi (with --aws). Orphan lines fill the
 * claim columns their tags give and carry their status in awsRole (the JSON
 * output has their creation time); binding lines carry their kind in reason
 * and what was found in awsBinding.
 */
export function formatCsv(inv: Inventory): string[] {
  const header = ['record', 'cluster', 'namespace', 'name', 'serviceAccount', 'mechanism', 'roleArn', 'owner', 'environment', 'ready', 'reason', 'lastChange'];
  const audit = inv.orphans !== undefined;
  if (audit) header.push('awsRole', 'awsTags', 'awsPolicy', 'awsTrust', 'awsBinding', 'awsProvider', 'verified');
  const rows = inv.claims.map((r) => [
    'claim', r.cluster, r.namespace, r.name, r.serviceAccount, r.mechanism, r.roleArn, r.owner, r.environment, r.ready, r.reason, r.lastChange,
    ...(audit ? [r.aws?.role ?? '', r.aws?.tags ?? '', r.aws?.policy ?? '', r.aws?.trust ?? '', r.aws?.binding ?? '', r.aws?.provider ?? '', r.aws?.verified ?? ''] : []),
  ]);
  for (const o of inv.orphans ?? []) {
    rows.push(['orphan-role', inv.cluster, o.namespace, o.claim, '', '', o.roleArn, o.owner, o.environment, '', '', '', o.status, '', '', '', '', '', '']);
  }
  for (const b of inv.bindings ?? []) {
    const detail = b.associationId ? `${b.associationId}: ${b.detail}` : b.detail;
    rows.push(['binding', inv.cluster, b.namespace, b.claim ?? '', b.serviceAccount, '', b.roleArn, '', '', '', b.kind, '', '', '', '', '', detail, '', '']);
  }
  return [header, ...rows].map((r) => r.map(csvField).join(','));
}

export function formatInventory(inv: Inventory, format: InventoryFormat): string[] {
  if (format === 'json') return [formatJson(inv)];
  if (format === 'csv') return formatCsv(inv);
  return formatTable(inv);
}
