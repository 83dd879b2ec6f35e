// A small, strict IAM identity-policy evaluator and the mapping from the AWS
// API calls the controller makes to the authorization requests AWS evaluates
// for them (action, resource ARN, condition context, dependent actions such
// as iam:PassRole). Used by test/integration/iam-coverage.test.ts to check
// deploy/aws/controller-policy.json against the calls of a real controller
// run. Pure: no I/O.
//
// Strict on purpose: an operator, qualifier or API it does not know throws,
// so a new controller call or a new policy construct cannot pass unchecked.

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, string | string[] | boolean>>;
}

export interface PolicyDocument {
  Version: string;
  Statement: PolicyStatement | PolicyStatement[];
}

/** Condition context: single-valued keys are strings, multivalued keys (aws:TagKeys) arrays. */
export type RequestContext = Record<string, string | string[]>;

export interface AuthzRequest {
  action: string;
  resource: string;
  context: RequestContext;
}

export interface Decision {
  decision: 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';
  /** Sids (or statement indexes) of the Allow statements that matched. */
  allowedBy: string[];
  deniedBy: string[];
}

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
export const statements = (p: PolicyDocument): PolicyStatement[] => list(p.Statement);
const statementId = (s: PolicyStatement, i: number): string => s.Sid ?? `#${i}`;

function globRegExp(pattern: string, flags: string): RegExp {
  if (/\$\{[^}]*\}/.test(pattern)) throw new Error(`unrendered placeholder or policy variable in ${pattern}`);
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, flags);
}

/** IAM action patterns: case-insensitive, * and ? wildcards. */
export function actionMatches(pattern: string, action: string): boolean {
  return globRegExp(pattern, 'i').test(action);
}

/** ARN patterns: case-sensitive, * and ? wildcards (also across "/" and ":"). */
export function resourceMatches(pattern: string, resource: string): boolean {
  return globRegExp(pattern, '').test(resource);
}

/**
 * ArnEquals and ArnLike (the same operator in IAM): each of the six
 * colon-delimited parts of the ARN is matched on its own, case-sensitively,
 * with * and ? wildcards that do not cross a part; a value that is not an
 * ARN matches nothing.
 */
export function arnLike(pattern: string, value: string): boolean {
  const parts = (arn: string) => {
    const p = arn.split(':');
    return p.length < 6 ? undefined : [...p.slice(0, 5), p.slice(5).join(':')];
  };
  const want = parts(pattern);
  const got = parts(value);
  if (!want || !got) return false;
  return want.every((w, i) => globRegExp(w, '').test(got[i]!));
}

type Matcher = (policyValue: string, contextValue: string) => boolean;
const BASE_OPERATORS: Record<string, { match: Matcher; negated: boolean }> = {
  StringEquals: { match: (p, c) => p === c, negated: false },
  StringNotEquals: { match: (p, c) => p === c, negated: true },
  StringEqualsIgnoreCase: { match: (p, c) => p.toLowerCase() === c.toLowerCase(), negated: false },
  StringNotEqualsIgnoreCase: { match: (p, c) => p.toLowerCase() === c.toLowerCase(), negated: true },
  StringLike: { match: (p, c) => globRegExp(p, '').test(c), negated: false },
  StringNotLike: { match: (p, c) => globRegExp(p, '').test(c), negated: true },
  ArnEquals: { match: arnLike, negated: false },
  ArnNotEquals: { match: arnLike, negated: true },
  ArnLike: { match: arnLike, negated: false },
  ArnNotLike: { match: arnLike, negated: true },
  Bool: { match: (p, c) => p.toLowerCase() === c.toLowerCase(), negated: false },
};

function lookup(context: RequestContext, key: string): string | string[] | undefined {
  const lower = key.toLowerCase();
  const found = Object.keys(context).find((k) => k.toLowerCase() === lower);
  return found === undefined ? undefined : context[found];
}

/** One condition operator block, e.g. {"StringEquals": {"aws:RequestTag/x": "y"}}: every key must hold. */
function operatorHolds(operator: string, entries: Record<string, string | string[] | boolean>, context: RequestContext): boolean {
  const qualifier = /^(ForAllValues|ForAnyValue):/.exec(operator)?.[1];
  let base = qualifier ? operator.slice(qualifier.length + 1) : operator;
  const ifExists = base.endsWith('IfExists');
  if (ifExists) base = base.slice(0, -'IfExists'.length);

  return Object.entries(entries).every(([key, raw]) => {
    const values = list(raw).map(String);
    const present = lookup(context, key);
    if (base === 'Null') {
      if (qualifier || ifExists) throw new Error(`unsupported condition operator ${operator}`);
      const wantAbsent = values[0]!.toLowerCase() === 'true';
      return wantAbsent === (present === undefined);
    }
    const op = BASE_OPERATORS[base];
    if (!op) throw new Error(`unsupported condition operator ${operator}`);
    const matchesAny = (c: string) => values.some((p) => op.match(p, c));
    // Negated operators hold when no policy value matches.
    const holdsFor = (c: string) => (op.negated ? !matchesAny(c) : matchesAny(c));

    if (qualifier === 'ForAllValues') {
      // Vacuously true for a missing key or an empty set (as in AWS).
      return list(present).every(holdsFor);
    }
    if (qualifier === 'ForAnyValue') return list(present).some(holdsFor);
    if (Array.isArray(present)) throw new Error(`condition key ${key} is multivalued: use ForAllValues: or ForAnyValue: with ${operator}`);
    if (present === undefined) return ifExists || op.negated;
    return holdsFor(present);
  });
}

export function conditionsHold(condition: PolicyStatement['Condition'], context: RequestContext): boolean {
  return Object.entries(condition ?? {}).every(([operator, entries]) => operatorHolds(operator, entries, context));
}

function statementApplies(s: PolicyStatement, req: AuthzRequest): boolean {
  const actionOk = s.Action !== undefined ? list(s.Action).some((a) => actionMatches(a, req.action)) : !list(s.NotAction).some((a) => actionMatches(a, req.action));
  if (!actionOk) return false;
  const resourceOk = s.Resource !== undefined ? list(s.Resource).some((r) => resourceMatches(r, req.resource)) : !list(s.NotResource).some((r) => resourceMatches(r, req.resource));
  return resourceOk && conditionsHold(s.Condition, req.context);
}

/** Identity-policy evaluation: an explicit Deny wins, then any Allow, else an implicit deny. */
export function evaluate(policy: PolicyDocument, req: AuthzRequest): Decision {
  const allowedBy: string[] = [];
  const deniedBy: string[] = [];
  statements(policy).forEach((s, i) => {
    if (!statementApplies(s, req)) return;
    (s.Effect === 'Deny' ? deniedBy : allowedBy).push(statementId(s, i));
  });
  return { decision: deniedBy.length ? 'ExplicitDeny' : allowedBy.length ? 'Allow' : 'ImplicitDeny', allowedBy, deniedBy };
}

/** Every action an Allow statement names (patterns as written). */
export function allowedActions(policy: PolicyDocument): string[] {
  return [...new Set(statements(policy).filter((s) => s.Effect === 'Allow').flatMap((s) => list(s.Action)))].sort();
}

// --- from API calls to authorization requests -------------------------------

export interface AwsCall {
  service: 'iam' | 'eks' | 'sts' | 'eks-auth';
  /** API operation, e.g. CreateRole. */
  operation: string;
  input: Record<string, any>;
  /** The response, when the call succeeded. */
  output?: Record<string, any>;
  /** The error code, when it failed. */
  error?: string;
}

export interface AwsEnv {
  partition: string;
  accountId: string;
  region: string;
}

interface RoleState {
  path: string;
  tags: Record<string, string>;
  boundary?: string;
}

/**
 * What AWS knows about the resources the calls touch, as far as the calls
 * show it: role paths, tags and boundaries (from GetRole responses and the
 * writes), association tags. Condition keys such as aws:ResourceTag and
 * iam:PermissionsBoundary are read from it.
 */
export class AwsStateModel {
  constructor(
    readonly roles = new Map<string, RoleState>(),
    readonly associations = new Map<string, Record<string, string>>(),
  ) {}

  clone(): AwsStateModel {
    return new AwsStateModel(
      new Map([...this.roles].map(([k, v]) => [k, { ...v, tags: { ...v.tags } }])),
      new Map([...this.associations].map(([k, v]) => [k, { ...v }])),
    );
  }

  /** Applies the effect of a completed call. */
  apply(call: AwsCall): void {
    if (call.error) {
      if (call.service === 'iam' && call.operation === 'GetRole' && /NoSuchEntity/.test(call.error)) this.roles.delete(call.input.RoleName);
      return;
    }
    const name = call.input.RoleName as string;
    const role = this.roles.get(name);
    switch (`${call.service}:${call.operation}`) {
      case 'iam:GetRole': {
        const r = call.output?.Role;
        if (r) this.roles.set(name, { path: r.Path ?? '/', tags: tagMap(r.Tags), ...(r.PermissionsBoundary?.PermissionsBoundaryArn ? { boundary: r.PermissionsBoundary.PermissionsBoundaryArn } : {}) });
        return;
      }
      case 'iam:GetAccountAuthorizationDetails':
        for (const r of call.output?.RoleDetailList ?? []) {
          if (r.RoleName) this.roles.set(r.RoleName, { path: r.Path ?? '/', tags: tagMap(r.Tags), ...(r.PermissionsBoundary?.PermissionsBoundaryArn ? { boundary: r.PermissionsBoundary.PermissionsBoundaryArn } : {}) });
        }
        return;
      case 'iam:ListRoles':
        for (const r of call.output?.Roles ?? []) {
          if (r.RoleName) this.roles.set(r.RoleName, { ...(this.roles.get(r.RoleName) ?? { tags: {} }), path: r.Path ?? '/' });
        }
        return;
      case 'iam:CreateRole':
        this.roles.set(name, { path: call.input.Path ?? '/', tags: tagMap(call.input.Tags), ...(call.input.PermissionsBoundary ? { boundary: call.input.PermissionsBoundary } : {}) });
        return;
      case 'iam:TagRole':
        if (role) Object.assign(role.tags, tagMap(call.input.Tags));
        return;
      case 'iam:UntagRole':
        if (role) for (const k of call.input.TagKeys ?? []) delete role.tags[k];
        return;
      case 'iam:PutRolePermissionsBoundary':
        if (role) role.boundary = call.input.PermissionsBoundary;
        return;
      case 'iam:DeleteRolePermissionsBoundary':
        if (role) delete role.boundary;
        return;
      case 'iam:DeleteRole':
        this.roles.delete(name);
        return;
      case 'eks:DescribePodIdentityAssociation':
      case 'eks:CreatePodIdentityAssociation': {
        const a = call.output?.association;
        if (a?.associationId) this.associations.set(a.associationId, { ...(a.tags ?? call.input.tags ?? {}) });
        return;
      }
      case 'eks:DeletePodIdentityAssociation':
        this.associations.delete(call.input.associationId);
        return;
      case 'eks:TagResource': {
        const id = associationIdOf(call.input.resourceArn);
        const tags = id !== undefined ? this.associations.get(id) : undefined;
        if (tags) Object.assign(tags, call.input.tags ?? {});
        return;
      }
      case 'eks:UntagResource': {
        const id = associationIdOf(call.input.resourceArn);
        const tags = id !== undefined ? this.associations.get(id) : undefined;
        if (tags) for (const k of call.input.tagKeys ?? []) delete tags[k];
        return;
      }
      default:
        return;
    }
  }
}

/** The association id of a Pod Identity association ARN (…:podidentityassociation/<cluster>/<id>), else undefined. */
function associationIdOf(arn: unknown): string | undefined {
  return typeof arn === 'string' ? /:podidentityassociation\/[^/]+\/([^/]+)$/.exec(arn)?.[1] : undefined;
}

function tagMap(tags: { Key?: string; Value?: string }[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
}

const prefixed = (prefix: string, tags: Record<string, string>): RequestContext =>
  Object.fromEntries(Object.entries(tags).map(([k, v]) => [`${prefix}${k}`, v]));

const requestTags = (tags: Record<string, string>): RequestContext => ({ ...prefixed('aws:RequestTag/', tags), 'aws:TagKeys': Object.keys(tags) });

const ACTIONS_WITH_BOUNDARY_KEY = new Set([
  'GetRole', 'AttachRolePolicy', 'DetachRolePolicy', 'PutRolePolicy', 'DeleteRolePolicy', 'UpdateAssumeRolePolicy', 'UpdateRole',
  'PutRolePermissionsBoundary', 'DeleteRolePermissionsBoundary', 'DeleteRole',
]);

/**
 * The authorization requests AWS evaluates for one call (the action itself
 * and the actions it depends on), with the state as it was when the call was
 * made.
 */
export function authorizationRequests(call: AwsCall, env: AwsEnv, state: AwsStateModel): AuthzRequest[] {
  const { partition, accountId, region } = env;
  const api = `${call.service}:${call.operation}`;
  const req = (action: string, resource: string, context: RequestContext = {}): AuthzRequest => ({ action, resource, context });

  // No resource-level permissions: the shared role observation's pages (src/controller/observation/).
  if (api === 'iam:ListRoles' || api === 'iam:GetAccountAuthorizationDetails') return [req(api, '*')];
  if (api === 'iam:GetOpenIDConnectProvider') return [req(api, call.input.OpenIDConnectProviderArn as string)];
  // Credential verification's EKS Auth call (the controller's own credentials sign it), on the cluster.
  if (api === 'eks-auth:AssumeRoleForPodIdentity') return [req(api, `arn:${partition}:eks:${region}:${accountId}:cluster/${call.input.clusterName}`)];
  if (call.service === 'iam') {
    const name = call.input.RoleName as string | undefined;
    if (!name) throw new Error(`${api}: no RoleName in the input`);
    const role = state.roles.get(name);
    // A role AWS does not know has no path to put in its ARN.
    const arn = (path: string | undefined) => `arn:${partition}:iam::${accountId}:role${path ?? '/'}${name}`;
    // iam:PermissionsBoundary is in the context only of the actions the Service
    // Authorization Reference lists it for (not TagRole, UntagRole or the reads of policies).
    const boundaryKnown = role?.boundary !== undefined && ACTIONS_WITH_BOUNDARY_KEY.has(call.operation);
    const existing: RequestContext = role ? { ...prefixed('aws:ResourceTag/', role.tags), ...(boundaryKnown ? { 'iam:PermissionsBoundary': role.boundary! } : {}) } : {};
    switch (call.operation) {
      case 'GetRole':
        return [req(api, call.output?.Role?.Arn ?? arn(role?.path), existing)];
      case 'CreateRole': {
        const tags = tagMap(call.input.Tags);
        const resource = arn(call.input.Path ?? '/');
        const boundary: RequestContext = call.input.PermissionsBoundary ? { 'iam:PermissionsBoundary': call.input.PermissionsBoundary as string } : {};
        // Tags on create need iam:TagRole too.
        return [req(api, resource, { ...requestTags(tags), ...boundary }), ...(Object.keys(tags).length ? [req('iam:TagRole', resource, requestTags(tags))] : [])];
      }
      case 'TagRole':
        return [req(api, arn(role?.path), { ...existing, ...requestTags(tagMap(call.input.Tags)) })];
      case 'UntagRole':
        return [req(api, arn(role?.path), { ...existing, 'aws:TagKeys': call.input.TagKeys ?? [] })];
      case 'PutRolePermissionsBoundary':
        return [req(api, arn(role?.path), { ...existing, 'iam:PermissionsBoundary': call.input.PermissionsBoundary })];
      case 'AttachRolePolicy':
      case 'DetachRolePolicy':
        return [req(api, arn(role?.path), { ...existing, 'iam:PolicyARN': call.input.PolicyArn })];
      case 'GetRolePolicy':
      case 'ListRoleTags':
      case 'ListRolePolicies':
      case 'ListAttachedRolePolicies':
      case 'PutRolePolicy':
      case 'DeleteRolePolicy':
      case 'UpdateAssumeRolePolicy':
      case 'UpdateRole':
      case 'DeleteRolePermissionsBoundary':
      case 'DeleteRole':
        return [req(api, arn(role?.path), existing)];
      default:
        throw new Error(`${api}: no authorization mapping; add one to test/harness/iam-policy-match.ts`);
    }
  }

  if (call.service === 'eks') {
    // DescribeCluster names the cluster "name"; the association APIs "clusterName".
    const cluster = (call.operation === 'DescribeCluster' ? call.input.name : call.input.clusterName) as string;
    const clusterArn = `arn:${partition}:eks:${region}:${accountId}:cluster/${cluster}`;
    const associationArn = (id: string) => `arn:${partition}:eks:${region}:${accountId}:podidentityassociation/${cluster}/${id}`;
    // PassRole is authorized on the role passed, so its tags are in the context.
    const passedRoleTags = (roleArn: string): RequestContext => {
      const name = roleArn.split('/').pop() ?? '';
      const role = state.roles.get(name);
      return role && roleArn === `arn:${partition}:iam::${accountId}:role${role.path}${name}` ? prefixed('aws:ResourceTag/', role.tags) : {};
    };
    const passRole = (roleArn: string) => req('iam:PassRole', roleArn, { 'iam:PassedToService': 'pods.eks.amazonaws.com', ...passedRoleTags(roleArn) });
    const existing = (id: string) => prefixed('aws:ResourceTag/', state.associations.get(id) ?? {});
    switch (call.operation) {
      case 'DescribeCluster':
      case 'ListPodIdentityAssociations':
        return [req(api, clusterArn)];
      case 'DescribeAddon':
        return [req(api, call.output?.addon?.addonArn ?? `arn:${partition}:eks:${region}:${accountId}:addon/${cluster}/${call.input.addonName}/00000000-0000-0000-0000-000000000000`)];
      case 'CreatePodIdentityAssociation': {
        const tags = (call.input.tags ?? {}) as Record<string, string>;
        const id = call.output?.association?.associationId ?? 'a-not-created';
        return [
          req(api, clusterArn, requestTags(tags)),
          ...(Object.keys(tags).length ? [req('eks:TagResource', associationArn(id), requestTags(tags))] : []),
          passRole(call.input.roleArn),
        ];
      }
      case 'DescribePodIdentityAssociation':
      case 'DeletePodIdentityAssociation':
        return [req(api, associationArn(call.input.associationId), existing(call.input.associationId))];
      case 'UpdatePodIdentityAssociation':
        return [req(api, associationArn(call.input.associationId), existing(call.input.associationId)), ...(call.input.roleArn ? [passRole(call.input.roleArn)] : [])];
      // The tagging API names the resource by ARN; an association's tags are known from earlier calls, other resources' are not modelled.
      case 'TagResource':
      case 'UntagResource': {
        const arn = call.input.resourceArn as string;
        const id = associationIdOf(arn);
        const resourceTags = id !== undefined ? existing(id) : {};
        const context: RequestContext = call.operation === 'TagResource'
          ? { ...resourceTags, ...requestTags((call.input.tags ?? {}) as Record<string, string>) }
          : { ...resourceTags, 'aws:TagKeys': (call.input.tagKeys ?? []) as string[] };
        return [req(api, arn, context)];
      }
      default:
        throw new Error(`${api}: no authorization mapping; add one to test/harness/iam-policy-match.ts`);
    }
  }

  switch (call.operation) {
    case 'GetCallerIdentity':
      return [req(api, '*')];
    case 'AssumeRole':
      return [req(api, call.input.RoleArn)];
    // Not signed: the web identity token is the credential, the role's trust decides. No identity policy applies.
    case 'AssumeRoleWithWebIdentity':
      return [];
    default:
      throw new Error(`${api}: no authorization mapping; add one to test/harness/iam-policy-match.ts`);
  }
}
