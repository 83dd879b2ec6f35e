// EKS, in memory, REST-JSON like the real API: ListClusters, DescribeCluster,
// the Pod Identity association API (create, describe, list with filters and
// pagination, update, delete; role, target role with its external ID, session
// tags setting, session policy, tags) and the add-on reads (DescribeAddon,
// ListAddons; add-ons are installed and removed through the admin API), the
// tagging API on association, cluster and add-on ARNs (TagResource,
// UntagResource, ListTagsForResource), with AWS's error codes.
import { randomBytes, randomUUID } from 'node:crypto';
import { kubeconfigEndpoint } from './jwks.js';
import { parseRoleArn } from './moto-iam.js';
import { InvalidTokenError, paginate } from './pagination.js';
import { AwsError, jsonResponse, type FakeResponse } from './protocol.js';
import { matchRoute, type RestRoute } from './router.js';
import type { ClusterConfig } from './types.js';

export type EksOperation =
  | 'ListClusters'
  | 'DescribeCluster'
  | 'CreatePodIdentityAssociation'
  | 'ListPodIdentityAssociations'
  | 'DescribePodIdentityAssociation'
  | 'UpdatePodIdentityAssociation'
  | 'DeletePodIdentityAssociation'
  | 'ListAddons'
  | 'DescribeAddon'
  | 'TagResource'
  | 'UntagResource'
  | 'ListTagsForResource';

export const EKS_ROUTES: ReadonlyArray<RestRoute<EksOperation>> = [
  { method: 'GET', path: '/clusters', operation: 'ListClusters' },
  { method: 'GET', path: '/clusters/{name}', operation: 'DescribeCluster' },
  { method: 'POST', path: '/clusters/{name}/pod-identity-associations', operation: 'CreatePodIdentityAssociation' },
  { method: 'GET', path: '/clusters/{name}/pod-identity-associations', operation: 'ListPodIdentityAssociations' },
  { method: 'GET', path: '/clusters/{name}/pod-identity-associations/{id}', operation: 'DescribePodIdentityAssociation' },
  { method: 'POST', path: '/clusters/{name}/pod-identity-associations/{id}', operation: 'UpdatePodIdentityAssociation' },
  { method: 'DELETE', path: '/clusters/{name}/pod-identity-associations/{id}', operation: 'DeletePodIdentityAssociation' },
  { method: 'GET', path: '/clusters/{name}/addons', operation: 'ListAddons' },
  { method: 'GET', path: '/clusters/{name}/addons/{id}', operation: 'DescribeAddon' },
  // The ARN is one path segment: the SDK URI-encodes its "/" and ":".
  { method: 'POST', path: '/tags/{arn}', operation: 'TagResource' },
  { method: 'DELETE', path: '/tags/{arn}', operation: 'UntagResource' },
  { method: 'GET', path: '/tags/{arn}', operation: 'ListTagsForResource' },
];

/** Tags per EKS resource ("Maximum number of tags per resource – 50"; aws: tags do not count). */
export const EKS_TAGS_PER_RESOURCE_MAX = 50;

/** Add-on states of the EKS API (AddonStatus). */
export const ADDON_STATUSES = ['CREATING', 'ACTIVE', 'CREATE_FAILED', 'UPDATING', 'DELETING', 'DELETE_FAILED', 'DEGRADED', 'UPDATE_FAILED'] as const;
export type AddonStatus = (typeof ADDON_STATUSES)[number];

/** An installed EKS add-on, as DescribeAddon shows it. */
export interface Addon {
  addonName: string;
  clusterName: string;
  status: AddonStatus;
  addonVersion: string;
  health: { issues: Array<{ code: string; message: string; resourceIds?: string[] }> };
  addonArn: string;
  createdAt: number;
  modifiedAt: number;
  tags: Record<string, string>;
  podIdentityAssociations: string[];
}

/** What the admin API may set when installing an add-on. */
export interface AddonInstall {
  addonVersion?: string;
  status?: AddonStatus;
}

/** The operation name for counters and fault rules ("Unknown" when no route matches). */
export function eksOperation(method: string, path: string): string {
  return matchRoute(EKS_ROUTES, method, path)?.operation ?? 'Unknown';
}

export interface Association {
  clusterName: string;
  namespace: string;
  serviceAccount: string;
  roleArn: string;
  associationArn: string;
  associationId: string;
  tags: Record<string, string>;
  createdAt: number;
  modifiedAt: number;
  disableSessionTags: boolean;
  targetRoleArn?: string;
  externalId?: string;
  policy?: string;
  /** Creation order, for stable list order and pagination. */
  seq: number;
  clientRequestToken?: string;
}

/** An association as the API (and the fake's admin view) shows it. */
export type AssociationView = Omit<Association, 'seq' | 'clientRequestToken'>;

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const NAME_RE = /^[0-9A-Za-z][A-Za-z0-9\-_]*$/;
/** Kubernetes DNS-1123 label (namespace) / subdomain (ServiceAccount). */
const NS_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SA_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function newAssociationId(): string {
  const bytes = randomBytes(17);
  let id = 'a-';
  for (const b of bytes) id += ID_ALPHABET[b % ID_ALPHABET.length];
  return id;
}

export interface EksRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: Buffer;
}

export class EksService {
  /** cluster name -> association id -> association */
  private store = new Map<string, Map<string, Association>>();
  /** cluster name -> add-on name -> add-on */
  private addons = new Map<string, Map<string, Addon>>();
  /** cluster name -> the cluster's tags (TagResource on a cluster ARN) */
  private clusterTags = new Map<string, Record<string, string>>();
  private seq = 0;
  private readonly createdAt = Date.now() / 1000;

  constructor(
    private clusters: () => ClusterConfig[],
    private readonly defaults: { accountId: string; region: string },
    private readonly now: () => number = Date.now,
  ) {}

  /** Removes every association and add-on. */
  reset(): void {
    this.store.clear();
    this.addons.clear();
    this.clusterTags.clear();
  }

  /** Every association in every cluster, in creation order. */
  all(): Association[] {
    return [...this.store.values()].flatMap((m) => [...m.values()]).sort((a, b) => a.seq - b.seq);
  }

  /** The association of namespace/serviceAccount in a cluster (at most one exists). */
  find(clusterName: string, namespace: string, serviceAccount: string): Association | undefined {
    for (const a of this.store.get(clusterName)?.values() ?? []) if (a.namespace === namespace && a.serviceAccount === serviceAccount) return a;
    return undefined;
  }

  cluster(name: string): ClusterConfig | undefined {
    return this.clusters().find((c) => c.name === name);
  }

  clusterArn(c: ClusterConfig): string {
    return `arn:aws:eks:${c.region ?? this.defaults.region}:${c.accountId ?? this.defaults.accountId}:cluster/${c.name}`;
  }

  /** Handles one EKS request; AWS errors come back as thrown AwsError. */
  handle(req: EksRequest): FakeResponse {
    const route = matchRoute(EKS_ROUTES, req.method, req.path);
    if (!route) throw new AwsError('UnknownOperationException', 404, `No operation for ${req.method} ${req.path}`);
    if (route.operation === 'ListClusters') return jsonResponse({ clusters: this.clusters().map((c) => c.name).sort() });
    if (route.operation === 'TagResource' || route.operation === 'UntagResource' || route.operation === 'ListTagsForResource') {
      return this.handleTags(route.operation, route.params.arn!, req);
    }
    const name = route.params.name!;
    if (!NAME_RE.test(name) || name.length > 100) throw new AwsError('InvalidParameterException', 400, `Invalid cluster name: ${name}`);
    const cluster = this.cluster(name);
    if (!cluster) throw new AwsError('ResourceNotFoundException', 404, `No cluster found for name: ${name}.`);
    const id = route.params.id;
    switch (route.operation) {
      case 'DescribeCluster':
        return jsonResponse({ cluster: this.describeCluster(cluster) });
      case 'CreatePodIdentityAssociation':
        return jsonResponse({ association: this.view(this.create(cluster, parseBody(req.body))) });
      case 'ListPodIdentityAssociations':
        return jsonResponse(this.list(cluster, req.query));
      case 'DescribePodIdentityAssociation':
        return jsonResponse({ association: this.view(this.get(cluster, id!)) });
      case 'UpdatePodIdentityAssociation':
        return jsonResponse({ association: this.view(this.update(cluster, id!, parseBody(req.body))) });
      case 'DeletePodIdentityAssociation': {
        const a = this.get(cluster, id!);
        this.store.get(cluster.name)!.delete(a.associationId);
        return jsonResponse({ association: this.view(a) });
      }
      case 'ListAddons':
        return jsonResponse(this.listAddons(cluster, req.query));
      case 'DescribeAddon':
        return jsonResponse({ addon: this.getAddon(cluster, id!) });
    }
  }

  // ---- tags ---------------------------------------------------------------------

  /**
   * TagResource, UntagResource and ListTagsForResource (EKS API reference):
   * tags of an association, a cluster or an add-on, found by its ARN. Tagging
   * adds or overwrites the keys given and leaves the others; untagging a key
   * the resource does not have is no error. An ARN that names no resource:
   * NotFoundException (404); not an EKS ARN, or a request outside the limits:
   * BadRequestException (400). These three answer with those two codes, not
   * the ResourceNotFoundException / InvalidParameterException of the other APIs.
   */
  private handleTags(operation: 'TagResource' | 'UntagResource' | 'ListTagsForResource', arn: string, req: EksRequest): FakeResponse {
    if (!/^arn:aws[a-z-]*:eks:[a-z0-9-]+:\d{12}:[a-z-]+\/.+$/.test(arn)) throw badRequest(`${arn} is not a valid ARN of an Amazon EKS resource.`);
    const target = this.taggable(arn);
    if (!target) throw new AwsError('NotFoundException', 404, `Resource ${arn} not found.`);
    if (operation === 'ListTagsForResource') return jsonResponse({ tags: { ...target.tags } });
    if (operation === 'TagResource') {
      let tags: Record<string, string>;
      try {
        const body = parseBody(req.body);
        if (body.tags === undefined || body.tags === null) throw badRequest('tags is required.');
        tags = checkTags(body.tags);
      } catch (err) {
        throw err instanceof AwsError ? badRequest(err.message) : err;
      }
      if (Object.keys(tags).length === 0) throw badRequest('tags must contain at least one tag.');
      const next = { ...target.tags, ...tags };
      if (countedTags(next) > EKS_TAGS_PER_RESOURCE_MAX) {
        throw badRequest(`A resource can have at most ${EKS_TAGS_PER_RESOURCE_MAX} tags; this request would leave ${countedTags(next)}.`);
      }
      target.set(next);
      return jsonResponse({});
    }
    const keys = req.query.getAll('tagKeys');
    if (keys.length < 1 || keys.length > 50) throw badRequest('tagKeys must name 1 to 50 tag keys.');
    for (const k of keys) {
      if (k.length < 1 || k.length > 128) throw badRequest(`Tag key ${k} must be 1 to 128 characters long.`);
      if (k.toLowerCase().startsWith('aws:')) throw badRequest(`Tag keys starting with "aws:" are reserved and cannot be removed: ${k}.`);
    }
    const next = { ...target.tags };
    for (const k of keys) delete next[k];
    target.set(next);
    return jsonResponse({});
  }

  /** The resource an ARN names, with its tags and a way to replace them. */
  private taggable(arn: string): { tags: Record<string, string>; set(tags: Record<string, string>): void } | undefined {
    const a = this.all().find((x) => x.associationArn === arn);
    if (a) return { tags: a.tags, set: (t) => void (a.tags = t) };
    const c = this.clusters().find((x) => this.clusterArn(x) === arn);
    if (c) return { tags: this.clusterTags.get(c.name) ?? {}, set: (t) => void this.clusterTags.set(c.name, t) };
    const addon = this.allAddons().find((x) => x.addonArn === arn);
    if (addon) return { tags: addon.tags, set: (t) => void (addon.tags = t) };
    return undefined;
  }

  // ---- add-ons ----------------------------------------------------------------

  /** Installs (or replaces) an add-on in a cluster; for the admin API. */
  installAddon(clusterName: string, addonName: string, opts: AddonInstall = {}): Addon {
    const cluster = this.cluster(clusterName);
    if (!cluster) throw new AwsError('ResourceNotFoundException', 404, `No cluster found for name: ${clusterName}.`);
    if (!/^[0-9A-Za-z][A-Za-z0-9-_]*$/.test(addonName) || addonName.length > 100) throw invalid(`Invalid add-on name: ${addonName}`);
    if (opts.status !== undefined && !ADDON_STATUSES.includes(opts.status)) throw invalid(`status must be one of ${ADDON_STATUSES.join(', ')}.`);
    const t = this.now() / 1000;
    let m = this.addons.get(cluster.name);
    if (!m) this.addons.set(cluster.name, (m = new Map()));
    const previous = m.get(addonName);
    const addon: Addon = {
      addonName,
      clusterName: cluster.name,
      status: opts.status ?? 'ACTIVE',
      addonVersion: opts.addonVersion ?? 'v1.3.10-eksbuild.2',
      health: { issues: [] },
      addonArn: previous?.addonArn ?? `arn:aws:eks:${cluster.region ?? this.defaults.region}:${cluster.accountId ?? this.defaults.accountId}:addon/${cluster.name}/${addonName}/${randomUUID()}`,
      createdAt: previous?.createdAt ?? t,
      modifiedAt: t,
      tags: previous?.tags ?? {},
      podIdentityAssociations: [],
    };
    m.set(addonName, addon);
    return addon;
  }

  /** Removes an add-on; false when it was not installed. */
  removeAddon(clusterName: string, addonName: string): boolean {
    return this.addons.get(clusterName)?.delete(addonName) ?? false;
  }

  /** Every installed add-on, all clusters. */
  allAddons(): Addon[] {
    return [...this.addons.values()].flatMap((m) => [...m.values()]);
  }

  private getAddon(cluster: ClusterConfig, addonName: string): Addon {
    const addon = this.addons.get(cluster.name)?.get(addonName);
    if (!addon) {
      throw new AwsError('ResourceNotFoundException', 404, `No addon: ${addonName} found in cluster: ${cluster.name}`, 'Sender', {
        clusterName: cluster.name,
        addonName,
      });
    }
    return addon;
  }

  private listAddons(cluster: ClusterConfig, q: URLSearchParams): Record<string, unknown> {
    const max = maxResults(q);
    const names = [...(this.addons.get(cluster.name)?.keys() ?? [])];
    let page;
    try {
      page = paginate(names, (n) => n, max, q.get('nextToken') ?? undefined);
    } catch (err) {
      if (err instanceof InvalidTokenError) throw invalid(err.message);
      throw err;
    }
    return { addons: page.items, ...(page.nextToken ? { nextToken: page.nextToken } : {}) };
  }

  private describeCluster(c: ClusterConfig): Record<string, unknown> {
    const ep = c.kubeconfigPath ? kubeconfigEndpoint(c.kubeconfigPath) : undefined;
    const account = c.accountId ?? this.defaults.accountId;
    return {
      name: c.name,
      arn: this.clusterArn(c),
      createdAt: this.createdAt,
      version: c.version ?? '1.34',
      ...(ep ? { endpoint: ep.server } : {}),
      ...(ep?.caData ? { certificateAuthority: { data: ep.caData } } : {}),
      roleArn: `arn:aws:iam::${account}:role/eks-cluster-role`,
      identity: { oidc: { issuer: c.issuer } },
      status: 'ACTIVE',
      platformVersion: 'eks.1',
      tags: { ...(this.clusterTags.get(c.name) ?? {}) },
      accessConfig: { authenticationMode: 'API_AND_CONFIG_MAP' },
    };
  }

  private create(cluster: ClusterConfig, body: Record<string, unknown>): Association {
    const namespace = requiredString(body, 'namespace');
    const serviceAccount = requiredString(body, 'serviceAccount');
    const roleArn = requiredString(body, 'roleArn');
    if (!NS_RE.test(namespace) || namespace.length > 63) throw invalid(`Invalid namespace: ${namespace}`);
    if (!SA_RE.test(serviceAccount) || serviceAccount.length > 253) throw invalid(`Invalid service account name: ${serviceAccount}`);
    this.checkRoleArn(cluster, roleArn, 'roleArn');
    const targetRoleArn = optionalString(body, 'targetRoleArn');
    if (targetRoleArn !== undefined) this.checkRoleArn(undefined, targetRoleArn, 'targetRoleArn');
    const tags = checkTags(body.tags);
    const token = optionalString(body, 'clientRequestToken');
    // An empty policy is no policy.
    const policy = optionalString(body, 'policy') || undefined;
    const disableSessionTags = optionalBool(body, 'disableSessionTags') ?? false;
    if (policy !== undefined) checkSessionPolicy(policy, disableSessionTags);

    const existing = this.find(cluster.name, namespace, serviceAccount);
    if (existing) {
      // Retrying the same request with the same clientRequestToken is idempotent.
      if (token !== undefined && existing.clientRequestToken === token && existing.roleArn === roleArn) return existing;
      throw new AwsError('ResourceInUseException', 409, `Association already exists: ${existing.associationId}`);
    }
    const id = newAssociationId();
    const t = this.now() / 1000;
    const a: Association = {
      clusterName: cluster.name,
      namespace,
      serviceAccount,
      roleArn,
      associationArn: `arn:aws:eks:${cluster.region ?? this.defaults.region}:${cluster.accountId ?? this.defaults.accountId}:podidentityassociation/${cluster.name}/${id}`,
      associationId: id,
      tags,
      createdAt: t,
      modifiedAt: t,
      disableSessionTags,
      seq: ++this.seq,
      ...(targetRoleArn !== undefined ? { targetRoleArn, externalId: randomUUID() } : {}),
      ...(policy !== undefined ? { policy } : {}),
      ...(token !== undefined ? { clientRequestToken: token } : {}),
    };
    let m = this.store.get(cluster.name);
    if (!m) this.store.set(cluster.name, (m = new Map()));
    m.set(id, a);
    return a;
  }

  private get(cluster: ClusterConfig, id: string): Association {
    const a = this.store.get(cluster.name)?.get(id);
    if (!a) throw new AwsError('ResourceNotFoundException', 404, `No Pod Identity Association found with id ${id} in cluster ${cluster.name}.`);
    return a;
  }

  private update(cluster: ClusterConfig, id: string, body: Record<string, unknown>): Association {
    const a = this.get(cluster, id);
    const roleArn = optionalString(body, 'roleArn');
    const targetRoleArn = optionalString(body, 'targetRoleArn');
    const policy = optionalString(body, 'policy');
    const disableSessionTags = optionalBool(body, 'disableSessionTags');
    // "In an update, you can change the IAM role, the target IAM role, or disableSessionTags. You must change at least one of these."
    if (roleArn === undefined && targetRoleArn === undefined && policy === undefined && disableSessionTags === undefined) {
      throw invalid('At least one of roleArn, targetRoleArn, disableSessionTags or policy must be given in an update.');
    }
    if (roleArn !== undefined) this.checkRoleArn(cluster, roleArn, 'roleArn');
    if (targetRoleArn !== undefined && targetRoleArn !== '') this.checkRoleArn(undefined, targetRoleArn, 'targetRoleArn');
    // The association after the update must be valid as a whole: a session policy needs session tags disabled.
    const nextPolicy = policy === undefined ? a.policy : policy || undefined;
    if (nextPolicy !== undefined) checkSessionPolicy(nextPolicy, disableSessionTags ?? a.disableSessionTags);
    if (roleArn !== undefined) a.roleArn = roleArn;
    if (targetRoleArn !== undefined) {
      // An empty targetRoleArn removes the target role.
      if (targetRoleArn === '') {
        delete a.targetRoleArn;
        delete a.externalId;
      } else {
        if (a.targetRoleArn === undefined) a.externalId = randomUUID();
        a.targetRoleArn = targetRoleArn;
      }
    }
    // An empty policy removes the session policy.
    if (nextPolicy === undefined) delete a.policy;
    else a.policy = nextPolicy;
    if (disableSessionTags !== undefined) a.disableSessionTags = disableSessionTags;
    a.modifiedAt = this.now() / 1000;
    return a;
  }

  private list(cluster: ClusterConfig, q: URLSearchParams): Record<string, unknown> {
    const namespace = q.get('namespace') ?? undefined;
    const serviceAccount = q.get('serviceAccount') ?? undefined;
    const max = maxResults(q);
    const items = [...(this.store.get(cluster.name)?.values() ?? [])].filter(
      (a) => (namespace === undefined || a.namespace === namespace) && (serviceAccount === undefined || a.serviceAccount === serviceAccount),
    );
    let page;
    try {
      page = paginate(items, (a) => String(a.seq).padStart(12, '0'), max, q.get('nextToken') ?? undefined);
    } catch (err) {
      if (err instanceof InvalidTokenError) throw invalid(err.message);
      throw err;
    }
    // A summary leaves out roleArn, createdAt, modifiedAt and tags (and so the
    // target role, session tags setting and policy): see PodIdentityAssociationSummary.
    return {
      associations: page.items.map((a) => ({
        clusterName: a.clusterName,
        namespace: a.namespace,
        serviceAccount: a.serviceAccount,
        associationArn: a.associationArn,
        associationId: a.associationId,
      })),
      ...(page.nextToken ? { nextToken: page.nextToken } : {}),
    };
  }

  /** The API view of an association (no internal fields). */
  view(a: Association): AssociationView {
    return {
      clusterName: a.clusterName,
      namespace: a.namespace,
      serviceAccount: a.serviceAccount,
      roleArn: a.roleArn,
      associationArn: a.associationArn,
      associationId: a.associationId,
      tags: a.tags,
      createdAt: a.createdAt,
      modifiedAt: a.modifiedAt,
      disableSessionTags: a.disableSessionTags,
      ...(a.targetRoleArn !== undefined ? { targetRoleArn: a.targetRoleArn, externalId: a.externalId } : {}),
      ...(a.policy !== undefined ? { policy: a.policy } : {}),
    };
  }

  private checkRoleArn(cluster: ClusterConfig | undefined, arn: string, field: string): void {
    const parsed = parseRoleArn(arn);
    if (!parsed) throw invalid(`${field} ${arn} is not a valid IAM role ARN.`);
    const account = cluster ? (cluster.accountId ?? this.defaults.accountId) : undefined;
    if (account !== undefined && parsed.accountId !== account) {
      throw invalid(`${field} ${arn} must be in the same account as the cluster (${account}); use targetRoleArn for a role in another account.`);
    }
  }
}

function badRequest(message: string): AwsError {
  return new AwsError('BadRequestException', 400, message);
}

/** Tags that count against the per-resource limit (aws: tags do not). */
function countedTags(tags: Record<string, string>): number {
  return Object.keys(tags).filter((k) => !k.toLowerCase().startsWith('aws:')).length;
}

function invalid(message: string): AwsError {
  return new AwsError('InvalidParameterException', 400, message);
}

/** `maxResults` of a list request: 1 to 100, default 100. */
function maxResults(q: URLSearchParams): number {
  const raw = q.get('maxResults');
  if (raw === null) return 100;
  const max = Number(raw);
  if (!Number.isInteger(max) || max < 1 || max > 100) throw invalid('maxResults must be between 1 and 100.');
  return max;
}

/**
 * A session policy is "an IAM policy in JSON format" and, when used,
 * "disableSessionTags must be set to true" (EKS API reference).
 */
function checkSessionPolicy(policy: string, disableSessionTags: boolean): void {
  let doc: unknown;
  try {
    doc = JSON.parse(policy);
  } catch {
    throw invalid('policy must be an IAM policy in JSON format.');
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc) || (doc as { Statement?: unknown }).Statement === undefined) {
    throw invalid('policy must be an IAM policy document (a JSON object with a Statement).');
  }
  if (!disableSessionTags) throw invalid('disableSessionTags must be true when the association has a session policy.');
}

function parseBody(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  try {
    const v = JSON.parse(body.toString('utf8')) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new AwsError('InvalidRequestException', 400, 'The request body is not a JSON object.');
}

function requiredString(body: Record<string, unknown>, key: string): string {
  const v = body[key];
  if (v === undefined || v === null || v === '') throw invalid(`${key} is required.`);
  if (typeof v !== 'string') throw invalid(`${key} must be a string.`);
  return v;
}

function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalid(`${key} must be a string.`);
  return v;
}

function optionalBool(body: Record<string, unknown>, key: string): boolean | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw invalid(`${key} must be a boolean.`);
  return v;
}

function checkTags(v: unknown): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw invalid('tags must be a map of strings.');
  const tags = v as Record<string, unknown>;
  const keys = Object.keys(tags);
  if (keys.length > 50) throw invalid('An association can have at most 50 tags.');
  for (const k of keys) {
    const val = tags[k];
    if (typeof val !== 'string') throw invalid(`Tag ${k} must have a string value.`);
    if (k.length < 1 || k.length > 128) throw invalid(`Tag key ${k} must be 1 to 128 characters long.`);
    if (val.length > 256) throw invalid(`Tag value of ${k} must be at most 256 characters long.`);
    if (k.toLowerCase().startsWith('aws:')) throw invalid(`Tag keys starting with "aws:" are reserved: ${k}.`);
  }
  return { ...(tags as Record<string, string>) };
}
