// kubectl-style table of claims, shared by `awi get`-like output in the local
// run and the inventory.
import type { AwsWorkloadIdentityClaim } from '../api/types.js';

export function printClaimTable(claims: AwsWorkloadIdentityClaim[], opts: { wide?: boolean; now: Date }): string[] {
  const header = ['NAMESPACE', 'NAME', 'SERVICEACCOUNT', 'MECHANISM', 'ROLE', 'READY', ...(opts.wide ? ['REASON'] : []), 'AGE'];
  const rows = [...claims]
    .sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`))
    .map((c) => {
      const ready = c.status?.conditions?.find((x) => x.type === 'Ready');
      const created = (c.metadata as { creationTimestamp?: string | Date }).creationTimestamp;
      return [
        c.metadata.namespace ?? '',
        c.metadata.name,
        c.spec.serviceAccountName,
        c.status?.mechanism ?? c.spec.mechanism ?? '',
        c.status?.roleArn ?? '<none>',
        ready?.status ?? 'Unknown',
        ...(opts.wide ? [ready?.reason ?? ''] : []),
        created ? age(new Date(created), opts.now) : '',
      ];
    });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows].map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('   ').trimEnd());
}

/** Kubernetes-style short age: 45s, 3m, 2h, 5d. */
export function age(since: Date, now: Date): string {
  const s = Math.max(0, Math.floor((now.getTime() - since.getTime()) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}
