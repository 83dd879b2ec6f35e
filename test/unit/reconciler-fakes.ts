// In-memory managers, claim client and event recorder for the reconciler's
// unit tests: a world of IAM roles, Pod Identity associations and
// ServiceAccounts that records every call and can fail the next call of an
// operation with a given error. They keep AWS's and Kubernetes's answers
// where the reconciler depends on them: NotFound is undefined on reads and
// done on deletes, a create of something that exists throws AlreadyExists,
// a write at a stale resourceVersion is a 409.
import type { AwsWorkloadIdentityClaim } from '../../src/api/types.js';
import type { DesiredRole, DesiredServiceAccount, PodIdentityBinding, PolicyDocument } from '../../src/compiler/types.js';
import type { AssociationSettings, ObservedAssociation } from '../../src/controller/managers/association.js';
import type { AccountManagers, AssociationApi, ManagerFactory, ServiceAccountApi } from '../../src/controller/managers/factory.js';
import type { ObservedRole } from '../../src/controller/managers/role.js';
import type { ObservedServiceAccount } from '../../src/controller/managers/service-account.js';

interface StoredRole {
  account: string;
  role: ObservedRole;
  inline: Map<string, PolicyDocument>;
  attached: Set<string>;
}

export function awsError(name: string, message: string, httpStatusCode: number): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode } });
}

export function kubeError(code: number, message: string): Error {
  return Object.assign(new Error(`HTTP-Code: ${code}`), { code, body: JSON.stringify({ kind: 'Status', message, code }) });
}

const noSuchEntity = (what: string) => awsError('NoSuchEntity', `${what} cannot be found.`, 404);

export class FakeWorld {
  /** Every call, as "manager.method target". */
  readonly calls: string[] = [];
  readonly roles = new Map<string, StoredRole>();
  readonly associations: ObservedAssociation[] = [];
  readonly serviceAccounts = new Map<string, ObservedServiceAccount>();
  private readonly faults = new Map<string, unknown>();
  private ids = 0;
  private resourceVersion = 100;

  constructor(readonly clusterAccountId: string) {}

  /** The next call of `op` (e.g. "role.create") throws `err`. */
  failNext(op: string, err: unknown): void {
    this.faults.set(op, err);
  }

  /** Calls that change something. */
  writes(): string[] {
    return this.calls.filter((c) => !/^(role\.get|policy\.(getInline|listInlineNames|listAttached)|association\.(find|describe)|serviceAccount\.get) /.test(c));
  }

  private hit(op: string, target: string): void {
    this.calls.push(`${op} ${target}`);
    const err = this.faults.get(op);
    if (err !== undefined) {
      this.faults.delete(op);
      throw err;
    }
  }

  // --- seeding -----------------------------------------------------------------

  putRole(account: string, role: DesiredRole | ObservedRole, policies: { inline?: Record<string, PolicyDocument>; attached?: string[] } = {}): void {
    this.roles.set(`${account}/${role.name}`, {
      account,
      role: {
        name: role.name, path: role.path, arn: role.arn, trustPolicy: structuredClone(role.trustPolicy), tags: { ...role.tags },
        ...(role.permissionsBoundaryArn ? { permissionsBoundaryArn: role.permissionsBoundaryArn } : {}),
        maxSessionDurationSeconds: role.maxSessionDurationSeconds, description: role.description,
      },
      inline: new Map(Object.entries(policies.inline ?? {})),
      attached: new Set(policies.attached ?? []),
    });
  }

  putServiceAccount(sa: Omit<ObservedServiceAccount, 'uid' | 'resourceVersion'>): ObservedServiceAccount {
    const stored = { ...sa, uid: `uid-${++this.ids}`, resourceVersion: String(++this.resourceVersion) };
    this.serviceAccounts.set(`${sa.namespace}/${sa.name}`, stored);
    return stored;
  }

  putAssociation(a: Omit<ObservedAssociation, 'associationId' | 'associationArn'>): ObservedAssociation {
    const id = `a-${String(++this.ids).padStart(17, '0')}`;
    const stored = { ...a, associationId: id, associationArn: `arn:aws:eks:ap-southeast-1:${this.clusterAccountId}:podidentityassociation/${a.clusterName}/${id}` };
    this.associations.push(stored);
    return stored;
  }

  role(account: string, name: string): StoredRole | undefined {
    return this.roles.get(`${account}/${name}`);
  }

  // --- managers ------------------------------------------------------------------

  factory(): ManagerFactory {
    return {
      forAccount: (account) => this.iam(account),
      cluster: () => ({ ...this.iam(this.clusterAccountId), association: this.associationApi() }),
      serviceAccounts: this.serviceAccountApi(),
    };
  }

  private iam(account: string): AccountManagers {
    const stored = (name: string): StoredRole => {
      const r = this.roles.get(`${account}/${name}`);
      if (!r) throw noSuchEntity(`The role with name ${name}`);
      return r;
    };
    return {
      role: {
        get: async (name) => {
          this.hit('role.get', name);
          const r = this.roles.get(`${account}/${name}`);
          return r && structuredClone(r.role);
        },
        create: async (role) => {
          this.hit('role.create', role.name);
          if (this.roles.has(`${account}/${role.name}`)) throw awsError('EntityAlreadyExists', `Role with name ${role.name} already exists.`, 409);
          this.putRole(account, role);
        },
        updateTrust: async (name, trust) => {
          this.hit('role.updateTrust', name);
          stored(name).role.trustPolicy = structuredClone(trust);
        },
        updateSettings: async (name, settings) => {
          this.hit('role.updateSettings', name);
          Object.assign(stored(name).role, { description: settings.description, maxSessionDurationSeconds: settings.maxSessionDurationSeconds });
        },
        tag: async (name, tags) => {
          this.hit('role.tag', name);
          Object.assign(stored(name).role.tags, tags);
        },
        untag: async (name, keys) => {
          this.hit('role.untag', name);
          for (const k of keys) delete stored(name).role.tags[k];
        },
        setBoundary: async (name, arn) => {
          this.hit('role.setBoundary', name);
          const r = stored(name).role;
          if (arn) r.permissionsBoundaryArn = arn;
          else delete r.permissionsBoundaryArn;
        },
        delete: async (name) => {
          this.hit('role.delete', name);
          const r = this.roles.get(`${account}/${name}`);
          if (r && (r.inline.size || r.attached.size)) throw awsError('DeleteConflict', 'Cannot delete entity, must delete policies first.', 409);
          this.roles.delete(`${account}/${name}`);
        },
      },
      policy: {
        getInline: async (role, name) => {
          this.hit('policy.getInline', `${role}/${name}`);
          const doc = stored(role).inline.get(name);
          return doc && structuredClone(doc);
        },
        putInline: async (role, name, doc) => {
          this.hit('policy.putInline', `${role}/${name}`);
          stored(role).inline.set(name, structuredClone(doc));
        },
        deleteInline: async (role, name) => {
          this.hit('policy.deleteInline', `${role}/${name}`);
          this.roles.get(`${account}/${role}`)?.inline.delete(name);
        },
        listInlineNames: async (role) => {
          this.hit('policy.listInlineNames', role);
          return [...stored(role).inline.keys()];
        },
        listAttached: async (role) => {
          this.hit('policy.listAttached', role);
          return [...stored(role).attached].sort();
        },
        attach: async (role, arn) => {
          this.hit('policy.attach', `${role} ${arn}`);
          stored(role).attached.add(arn);
        },
        detach: async (role, arn) => {
          this.hit('policy.detach', `${role} ${arn}`);
          this.roles.get(`${account}/${role}`)?.attached.delete(arn);
        },
      },
    };
  }

  private associationApi(): AssociationApi {
    const byId = (id: string) => this.associations.find((a) => a.associationId === id);
    const byArn = (arn: string) => this.associations.find((a) => a.associationArn === arn);
    return {
      find: async (clusterName, namespace, serviceAccount) => {
        this.hit('association.find', `${namespace}/${serviceAccount}`);
        return this.associations.filter((a) => a.clusterName === clusterName && a.namespace === namespace && a.serviceAccount === serviceAccount).map((a) => structuredClone(a));
      },
      describe: async (_cluster, id) => {
        this.hit('association.describe', id);
        const a = byId(id);
        return a && structuredClone(a);
      },
      create: async (b: PodIdentityBinding) => {
        this.hit('association.create', `${b.namespace}/${b.serviceAccount}`);
        if (this.associations.some((a) => a.namespace === b.namespace && a.serviceAccount === b.serviceAccount)) {
          throw awsError('ResourceInUseException', 'Association already exists', 409);
        }
        const a = this.putAssociation({
          clusterName: b.clusterName, namespace: b.namespace, serviceAccount: b.serviceAccount, roleArn: b.roleArn, tags: { ...b.tags },
          ...(b.targetRoleArn ? { targetRoleArn: b.targetRoleArn, externalId: 'ext-1' } : {}),
          disableSessionTags: b.disableSessionTags ?? false, ...(b.policy ? { policy: b.policy } : {}),
        });
        return structuredClone(a);
      },
      update: async (_cluster, id, s: AssociationSettings) => {
        this.hit('association.update', id);
        const a = byId(id)!;
        if (s.roleArn !== undefined) a.roleArn = s.roleArn;
        if (s.disableSessionTags !== undefined) a.disableSessionTags = s.disableSessionTags;
        if (s.targetRoleArn !== undefined) a.targetRoleArn = s.targetRoleArn || undefined;
        if (s.policy !== undefined) a.policy = s.policy || undefined;
      },
      tag: async (arn, tags) => {
        this.hit('association.tag', arn);
        Object.assign(byArn(arn)!.tags, tags);
      },
      untag: async (arn, keys) => {
        this.hit('association.untag', arn);
        for (const k of keys) delete byArn(arn)!.tags[k];
      },
      delete: async (_cluster, id) => {
        this.hit('association.delete', id);
        const i = this.associations.findIndex((a) => a.associationId === id);
        if (i >= 0) this.associations.splice(i, 1);
      },
    };
  }

  private serviceAccountApi(): ServiceAccountApi {
    return {
      get: async (namespace, name) => {
        this.hit('serviceAccount.get', `${namespace}/${name}`);
        const sa = this.serviceAccounts.get(`${namespace}/${name}`);
        return sa && structuredClone(sa);
      },
      create: async (sa: DesiredServiceAccount) => {
        this.hit('serviceAccount.create', `${sa.namespace}/${sa.name}`);
        if (this.serviceAccounts.has(`${sa.namespace}/${sa.name}`)) throw kubeError(409, `serviceaccounts "${sa.name}" already exists`);
        return structuredClone(this.putServiceAccount({ namespace: sa.namespace, name: sa.name, labels: { ...sa.labels }, annotations: { ...sa.annotations } }));
      },
      patchMetadata: async (current, labels, annotations) => {
        this.hit('serviceAccount.patchMetadata', `${current.namespace}/${current.name}`);
        const sa = this.serviceAccounts.get(`${current.namespace}/${current.name}`);
        if (!sa || sa.resourceVersion !== current.resourceVersion) throw kubeError(409, 'the object has been modified');
        for (const [k, v] of Object.entries(labels)) v === null ? delete sa.labels[k] : (sa.labels[k] = v);
        for (const [k, v] of Object.entries(annotations)) v === null ? delete sa.annotations[k] : (sa.annotations[k] = v);
        sa.resourceVersion = String(++this.resourceVersion);
        return structuredClone(sa);
      },
      delete: async (current) => {
        this.hit('serviceAccount.delete', `${current.namespace}/${current.name}`);
        const sa = this.serviceAccounts.get(`${current.namespace}/${current.name}`);
        if (sa && sa.uid !== current.uid) throw kubeError(409, 'Precondition failed: UID');
        this.serviceAccounts.delete(`${current.namespace}/${current.name}`);
      },
    };
  }
}

/** The claim as the API server holds it: get, finalizers and status through the same object; a stale resourceVersion is a 409. */
export class FakeClaims {
  readonly calls: string[] = [];
  private readonly faults = new Map<string, unknown>();
  private rv = 1;

  constructor(public claim: AwsWorkloadIdentityClaim | undefined) {}

  failNext(op: 'get' | 'setFinalizers' | 'patchStatus', err: unknown): void {
    this.faults.set(op, err);
  }

  private hit(op: string): void {
    this.calls.push(op);
    const err = this.faults.get(op);
    if (err !== undefined) {
      this.faults.delete(op);
      throw err;
    }
  }

  async get(namespace: string, name: string): Promise<AwsWorkloadIdentityClaim | undefined> {
    this.hit('get');
    const c = this.claim;
    return c && c.metadata.namespace === namespace && c.metadata.name === name ? structuredClone(c) : undefined;
  }

  async setFinalizers(claim: AwsWorkloadIdentityClaim, finalizers: string[]): Promise<AwsWorkloadIdentityClaim> {
    this.hit('setFinalizers');
    if (!this.claim || claim.metadata.resourceVersion !== this.claim.metadata.resourceVersion) throw kubeError(409, 'the object has been modified');
    this.claim = { ...this.claim, metadata: { ...this.claim.metadata, finalizers, resourceVersion: String(++this.rv) } };
    return structuredClone(this.claim);
  }

  async patchStatus(_claim: AwsWorkloadIdentityClaim, status: Record<string, unknown>): Promise<void> {
    this.hit('patchStatus');
    if (!this.claim) throw kubeError(404, 'not found');
    const merged: Record<string, unknown> = { ...(this.claim.status ?? {}) };
    for (const [k, v] of Object.entries(status)) {
      if (v === null) delete merged[k];
      else if (v !== undefined) merged[k] = structuredClone(v);
    }
    this.claim = { ...this.claim, status: merged, metadata: { ...this.claim.metadata, resourceVersion: String(++this.rv) } };
  }
}

export interface RecordedEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  note: string;
  action: string;
}

export class FakeEvents {
  readonly events: RecordedEvent[] = [];
  async record(_claim: AwsWorkloadIdentityClaim, type: 'Normal' | 'Warning', reason: string, note: string, action = 'Reconcile'): Promise<void> {
    this.events.push({ type, reason, note, action });
  }
}
