// IAM eventual consistency, simulated: the fake watches the IAM writes it
// proxies to moto and remembers when each role was created or had its trust or
// permission policies changed. For `lagMs` after that the role cannot be
// assumed (STS and EKS Auth answer AccessDenied), and for `lagMs` after its
// creation GetRole answers NoSuchEntity. Roles are keyed by name (the fake
// serves one moto account in practice). The clock is injected.

/** Role-scoped writes, by the query parameter that names the role. */
const ROLE_WRITES = new Set([
  'UpdateAssumeRolePolicy',
  'PutRolePolicy',
  'DeleteRolePolicy',
  'AttachRolePolicy',
  'DetachRolePolicy',
  'PutRolePermissionsBoundary',
  'DeleteRolePermissionsBoundary',
]);

/** Writes to a managed policy: they change every role it is attached to. */
const POLICY_WRITES = new Set(['CreatePolicyVersion', 'SetDefaultPolicyVersion']);

export function roleNameFromArn(arn: string): string | undefined {
  const m = /^arn:[^:]+:iam::\d{12}:role\/(?:.*\/)?([^/]+)$/.exec(arn);
  return m?.[1];
}

export class PropagationTracker {
  private created = new Map<string, number>();
  private changed = new Map<string, number>();
  /** policy ARN -> role names it is attached to (as seen through the fake). */
  private attachments = new Map<string, Set<string>>();

  constructor(
    private lag: number = 0,
    private readonly now: () => number = Date.now,
  ) {}

  get lagMs(): number {
    return this.lag;
  }

  setLag(ms: number): void {
    this.lag = Math.max(0, ms);
  }

  /** Call after a successful (2xx) IAM write proxied to moto. */
  noteIamWrite(action: string, params: URLSearchParams): void {
    const t = this.now();
    const role = params.get('RoleName') ?? undefined;
    if (action === 'CreateRole' && role) {
      this.created.set(role, t);
      this.changed.set(role, t);
      return;
    }
    if (action === 'DeleteRole' && role) {
      this.created.delete(role);
      this.changed.delete(role);
      for (const roles of this.attachments.values()) roles.delete(role);
      return;
    }
    if (ROLE_WRITES.has(action) && role) {
      this.changed.set(role, t);
      const policy = params.get('PolicyArn');
      if (policy && action === 'AttachRolePolicy') this.attachedRoles(policy).add(role);
      if (policy && action === 'DetachRolePolicy') this.attachedRoles(policy).delete(role);
      return;
    }
    if (POLICY_WRITES.has(action)) {
      const policy = params.get('PolicyArn');
      const isDefault = action === 'SetDefaultPolicyVersion' || params.get('SetAsDefault') === 'true';
      if (policy && isDefault) for (const r of this.attachedRoles(policy)) this.changed.set(r, t);
    }
  }

  /** True while a newly created role is still invisible to reads. */
  hiddenFromReads(roleName: string): boolean {
    return this.within(this.created.get(roleName));
  }

  /** False while a new or changed role has not propagated to STS. */
  assumable(roleName: string): boolean {
    return !this.within(this.changed.get(roleName));
  }

  /** Milliseconds until `roleName` is assumable (0 when it is). */
  remainingMs(roleName: string): number {
    const at = this.changed.get(roleName);
    if (at === undefined || this.lag <= 0) return 0;
    return Math.max(0, at + this.lag - this.now());
  }

  reset(): void {
    this.created.clear();
    this.changed.clear();
    this.attachments.clear();
  }

  private within(at: number | undefined): boolean {
    return at !== undefined && this.lag > 0 && this.now() - at < this.lag;
  }

  private attachedRoles(policyArn: string): Set<string> {
    let s = this.attachments.get(policyArn);
    if (!s) this.attachments.set(policyArn, (s = new Set()));
    return s;
  }
}
