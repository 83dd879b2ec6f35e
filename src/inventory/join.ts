// The inventory's decisions, pure: one row per claim, the audit of a claim
// against what AWS and the cluster show (content, not existence: policy and
// trust digests, every association field, the IRSA OIDC provider, the last
// credential verification), the bindings made outside awi or left without a
// claim, and the roles awi tagged that no claim accounts for. No clients, no clock.
import type { AwsWorkloadIdentityClaim } from '../api/types.js';
import { parseArn } from '../compiler/arn.js';
import { policiesEqual, policyDigest } from '../compiler/canonical.js';
import { withAssociationExternalId } from '../compiler/pod-identity.js';
import { compileClaim } from '../compiler/compile.js';
import type { DesiredState, Mechanism, PodIdentityBinding } from '../compiler/types.js';
import type { PlatformConfig } from '../config/types.js';
import { claimOwner, isOwnedBy, MANAGED_BY, namesClaim, ownerOf, ROLE_ARN_ANNOTATION, TAG, TAG_PREFIX, type ClaimRef, type LabelledServiceAccount, type Tags } from '../ownership.js';

/** A role as listed in AWS, with its tags and (URL-encoded, as IAM returns it) trust policy. */
export interface AwsRole {
  arn: string;
  name: string;
  path: string;
  accountId: string;
  tags: Record<string, string>;
  /** ISO time, when known. */
  created?: string;
  trustPolicy?: string;
}

/** The permission policies on a role: inline ones by name (documents as IAM returns them) and attached managed ARNs. */
export interface RolePolicies {
  inline: Record<string, string>;
  attached: string[];
}

/** A Pod Identity association with every field that changes what a pod gets. */
export interface LiveAssociation {
  associationId: string;
  namespace: string;
  serviceAccount: string;
  roleArn: string;
  targetRoleArn?: string;
  externalId?: string;
  disableSessionTags: boolean;
  policy?: string;
  tags: Record<string, string>;
}

/** A ServiceAccount as listed: its ownership labels, and its annotations (the IRSA binding). */
export interface LiveServiceAccount extends LabelledServiceAccount {
  name: string;
  annotations: Record<string, string>;
}

/** An IAM OIDC provider as GetOpenIDConnectProvider shows it. */
export interface OidcProviderState {
  arn: string;
  clientIds: string[];
}

/** A value read from AWS or the cluster, or why it could not be read. */
export type Observed<T> = T | { error: string };

const failed = (v: unknown): v is { error: string } => typeof v === 'object' && v !== null && 'error' in v;

/** What a claim's binding looks like from outside: the associations of its ServiceAccount, or the ServiceAccount. */
export type ObservedBinding =
  | { mechanism: 'PodIdentity'; associations: LiveAssociation[] }
  | { mechanism: 'IRSA'; serviceAccount?: LiveServiceAccount };

/** Everything read about one claim. */
export interface ClaimObservation {
  role: Observed<AwsRole | undefined>;
  /** Read when the role exists. */
  policies?: Observed<RolePolicies>;
  binding: Observed<ObservedBinding>;
  /** IRSA: each IAM OIDC provider the trust names, by ARN; undefined = it does not exist. */
  providers?: Observed<Record<string, OidcProviderState | undefined>>;
}

/** What the claim should have in AWS: compiled from its spec, or from the last valid spec awi recorded (status.applied). */
export interface Expected {
  desired: DesiredState;
  source: 'spec' | 'applied';
  /** Trust digest of the same claim trusting both mechanisms (what a mechanism switch leaves for a while). */
  dualTrustDigest?: string;
}

export interface AwsCheck {
  /** ok | missing | not owned | unknown: <why> */
  role: string;
  /** ok | differs: <tag keys> | - (no role to compare) */
  tags: string;
  /** ok | differs | missing inline <name> | extra inline: <names> | missing managed: <arns> | extra managed: <arns> (joined by "; ") | - | unknown: <why> */
  policy: string;
  /** ok | differs | dual: trusts both mechanisms | - | unknown: <why> */
  trust: string;
  /** ok | missing | not owned: <association> | differs: <field>=<live value>, ... | no ServiceAccount | unknown: <why> */
  binding: string;
  /** IRSA: ok | missing: <provider ARN> | no sts.amazonaws.com client ID: <provider ARN> | unknown: <why>; Pod Identity: - */
  provider: string;
  /** The claim's CredentialsVerified condition: True | False: <reason> | Unknown: <reason> | - (none) */
  verified: string;
  /** True when nothing above needs attention. */
  ok: boolean;
  /** Canonical digests, desired and live, for auditors (JSON output). */
  digests?: { policy?: { desired: string; live?: string }; trust?: { desired: string; live?: string } };
}

export interface InventoryRow {
  cluster: string;
  namespace: string;
  name: string;
  serviceAccount: string;
  mechanism: string;
  roleArn: string;
  /** Cross-account Pod Identity: the association's source role in the cluster's account (also the claim's). */
  sourceRoleArn?: string;
  owner: string;
  environment: string;
  /** Status of the Ready condition: True, False or Unknown. */
  ready: string;
  reason: string;
  /** lastTransitionTime of the Ready condition (ISO), or "". */
  lastChange: string;
  aws?: AwsCheck;
}

export type OrphanStatus = 'no claim' | 'not the claim\'s role' | 'released';

export interface OrphanRole {
  accountId: string;
  roleArn: string;
  /** From the role's ownership tags. */
  namespace: string;
  claim: string;
  owner: string;
  environment: string;
  created: string;
  status: OrphanStatus;
}

export type BindingFindingKind = 'foreign ServiceAccount' | 'foreign association' | 'orphaned ServiceAccount' | 'orphaned association';

/** A binding that gives pods a role outside awi's claims: made by someone else, or awi's without a claim. */
export interface BindingFinding {
  kind: BindingFindingKind;
  namespace: string;
  serviceAccount: string;
  /** The role pods of that ServiceAccount get (association: its target role when set). */
  roleArn: string;
  associationId?: string;
  /** The claim named by awi's tags or labels, when there are any. */
  claim?: string;
  detail: string;
}

export interface Inventory {
  cluster: string;
  claims: InventoryRow[];
  /** Only when AWS was consulted. */
  orphans?: OrphanRole[];
  /** Only when AWS was consulted. */
  bindings?: BindingFinding[];
}

/** RFC 3339 to the second, as Kubernetes prints times: 2026-11-23T10:00:00Z. */
export function isoSeconds(time: string | Date): string {
  const d = new Date(time);
  return Number.isNaN(d.getTime()) ? String(time) : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const byKey = <T extends { namespace: string }>(key: (x: T) => string) => (a: T, b: T) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

/**
 * The claim's role ARN: the one the controller reported, else the one the
 * claim compiles to (a claim not reconciled yet), else "".
 */
export function claimRoleArn(claim: AwsWorkloadIdentityClaim, config: PlatformConfig): string {
  if (claim.status?.roleArn) return claim.status.roleArn;
  const compiled = compileClaim(claim, config);
  return compiled.ok ? compiled.desired.role.arn : '';
}

function sourceRoleOf(claim: AwsWorkloadIdentityClaim, config: PlatformConfig): { sourceRoleArn?: string } {
  const compiled = compileClaim(claim, config);
  return compiled.ok && compiled.desired.sourceRole ? { sourceRoleArn: compiled.desired.sourceRole.arn } : {};
}

export function claimRow(claim: AwsWorkloadIdentityClaim, config: PlatformConfig): InventoryRow {
  const ready = claim.status?.conditions?.find((c) => c.type === 'Ready');
  return {
    cluster: config.cluster.name,
    namespace: claim.metadata.namespace ?? '',
    name: claim.metadata.name,
    serviceAccount: claim.spec?.serviceAccountName ?? '',
    mechanism: claim.status?.mechanism ?? claim.spec?.mechanism ?? config.defaults.mechanism,
    roleArn: claimRoleArn(claim, config),
    ...sourceRoleOf(claim, config),
    owner: claim.spec?.owner ?? '',
    environment: claim.spec?.environment ?? '',
    ready: ready?.status ?? 'Unknown',
    reason: ready?.reason ?? '',
    lastChange: ready?.lastTransitionTime ? isoSeconds(ready.lastTransitionTime) : '',
  };
}

// --- what a claim should have --------------------------------------------------

const otherMechanism = (m: Mechanism): Mechanism => (m === 'IRSA' ? 'PodIdentity' : 'IRSA');

/**
 * The claim's desired state: compiled from its spec; a claim edited into an
 * invalid one is held to the last valid spec awi recorded (status.applied),
 * which awi keeps enforcing. Undefined when neither compiles.
 */
export function expectedState(claim: AwsWorkloadIdentityClaim, config: PlatformConfig): Expected | undefined {
  const applied = claim.status?.applied;
  const candidates: Array<[AwsWorkloadIdentityClaim, Expected['source']]> = [[claim, 'spec']];
  if (applied?.spec) candidates.push([{ ...claim, spec: applied.spec }, 'applied']);
  for (const [source, kind] of candidates) {
    const compiled = compileClaim(source, config);
    if (!compiled.ok) continue;
    const dual = compileClaim(source, config, { alsoTrust: otherMechanism(compiled.desired.mechanism) });
    return { desired: compiled.desired, source: kind, ...(dual.ok ? { dualTrustDigest: dual.desired.digests.trust } : {}) };
  }
  return undefined;
}

/** The ownership ledger on the claim's role: the awi.dev/* tags the compiler writes. */
export function expectedOwnershipTags(desired: DesiredState): Record<string, string> {
  return Object.fromEntries(Object.entries(desired.role.tags).filter(([k]) => k.startsWith(TAG_PREFIX)));
}

/**
 * Is it the claim's, as the controller decides it: its tags name the claim on
 * this cluster. A claim that compiles from nothing names no cluster; then its
 * namespace and name must match.
 */
function claimOwns(x: Tags, desired: DesiredState | undefined, ref: ClaimRef): boolean {
  return desired ? isOwnedBy(x, claimOwner(desired)) : namesClaim(x, ref);
}

/** The IAM OIDC providers a trust policy names (Principal.Federated). */
export function federatedProviders(desired: DesiredState): string[] {
  const arns = desired.role.trustPolicy.Statement.flatMap((s) => [s.Principal?.Federated ?? []].flat());
  return [...new Set(arns)].sort();
}

// --- the audit of one claim ----------------------------------------------------

export function checkClaim(claim: AwsWorkloadIdentityClaim, row: InventoryRow, compiled: Expected | undefined, obs: ClaimObservation): AwsCheck {
  const expected = withLiveExternalId(compiled, obs.binding);
  const desired = expected?.desired;
  const ref: ClaimRef = { namespace: claim.metadata.namespace ?? '', claim: claim.metadata.name };
  const role = obs.role;
  const digests: NonNullable<AwsCheck['digests']> = {};

  let roleState: string;
  let tags = '-';
  if (!row.roleArn) roleState = 'unknown: the claim does not compile';
  else if (failed(role)) roleState = `unknown: ${role.error}`;
  else if (!role) roleState = 'missing';
  else {
    roleState = claimOwns(role.tags, desired, ref) ? 'ok' : 'not owned';
    if (!desired) tags = 'unknown: the claim does not compile';
    else {
      const want = expectedOwnershipTags(desired);
      const differing = Object.keys(want).filter((k) => role.tags[k] !== want[k]).sort();
      tags = differing.length ? `differs: ${differing.join(',')}` : 'ok';
    }
  }
  const liveRole = roleState === 'ok' && role && !failed(role) ? role : undefined;

  let policy = '-';
  let trust = '-';
  if (liveRole && desired) {
    policy = checkPolicies(desired, obs.policies, digests);
    trust = checkTrust(expected, liveRole, digests);
  } else if (liveRole) {
    policy = trust = 'unknown: the claim does not compile';
  }

  const binding = checkBinding(ref, row, desired, obs.binding);
  const provider = checkProviders(desired, row.mechanism, obs.providers);
  const verified = verification(claim);
  const ok =
    roleState === 'ok' && tags === 'ok' && policy === 'ok' && trust === 'ok' && binding === 'ok' && (provider === 'ok' || provider === '-') && !verified.startsWith('False');
  return { role: roleState, tags, policy, trust, binding, provider, verified, ok, ...(Object.keys(digests).length ? { digests } : {}) };
}

/** Cross-account Pod Identity: the claim role's trust names the external id of the live association (known only from it). */
function withLiveExternalId(expected: Expected | undefined, binding: Observed<ObservedBinding>): Expected | undefined {
  if (!expected?.desired.sourceRole || failed(binding) || binding.mechanism !== 'PodIdentity') return expected;
  const association = binding.associations.find((a) => a.targetRoleArn === expected.desired.role.arn);
  return { ...expected, desired: withAssociationExternalId(expected.desired, association?.externalId) };
}

function safeDigest(doc: string): string | undefined {
  try {
    return policyDigest(doc);
  } catch {
    return undefined;
  }
}

/** The inline policy by canonical digest, and no permission awi did not grant: no other inline policy, exactly the claimed managed policies. */
function checkPolicies(desired: DesiredState, policies: Observed<RolePolicies> | undefined, digests: NonNullable<AwsCheck['digests']>): string {
  if (!policies) return 'unknown: not read';
  if (failed(policies)) return `unknown: ${policies.error}`;
  const findings: string[] = [];
  const name = desired.permissionPolicy.name;
  const live = policies.inline[name];
  const liveDigest = live === undefined ? undefined : safeDigest(live);
  digests.policy = { desired: desired.digests.policy, ...(liveDigest ? { live: liveDigest } : {}) };
  if (live === undefined) findings.push(`missing inline ${name}`);
  else if (liveDigest !== desired.digests.policy) findings.push('differs');
  const extraInline = Object.keys(policies.inline).filter((n) => n !== name).sort();
  if (extraInline.length) findings.push(`extra inline: ${extraInline.join(',')}`);
  const missingManaged = desired.managedPolicyArns.filter((a) => !policies.attached.includes(a)).sort();
  if (missingManaged.length) findings.push(`missing managed: ${missingManaged.join(',')}`);
  const extraManaged = policies.attached.filter((a) => !desired.managedPolicyArns.includes(a)).sort();
  if (extraManaged.length) findings.push(`extra managed: ${extraManaged.join(',')}`);
  return findings.length ? findings.join('; ') : 'ok';
}

function checkTrust(expected: Expected | undefined, role: AwsRole, digests: NonNullable<AwsCheck['digests']>): string {
  if (!expected) return 'unknown: the claim does not compile';
  if (role.trustPolicy === undefined) return 'unknown: not read';
  const live = safeDigest(role.trustPolicy);
  digests.trust = { desired: expected.desired.digests.trust, ...(live ? { live } : {}) };
  if (live === expected.desired.digests.trust) return 'ok';
  if (live !== undefined && live === expected.dualTrustDigest) return 'dual: trusts both mechanisms';
  return 'differs';
}

/** Association fields the compiler may set (absent: AWS's defaults, no target role, session tags on, no session policy). */
type BindingSettings = PodIdentityBinding & { targetRoleArn?: string; disableSessionTags?: boolean; policy?: string };

function checkBinding(ref: ClaimRef, row: InventoryRow, desired: DesiredState | undefined, binding: Observed<ObservedBinding>): string {
  if (failed(binding)) return `unknown: ${binding.error}`;
  const roleArn = row.roleArn || desired?.role.arn;
  if (binding.mechanism === 'PodIdentity') {
    if (!binding.associations.length) return 'missing';
    const foreign = binding.associations.find((a) => !claimOwns(a.tags, desired, ref));
    if (foreign) return `not owned: ${foreign.associationId} (${foreign.targetRoleArn ?? foreign.roleArn})`;
    const a = binding.associations[0]!;
    const want = desired?.binding.kind === 'PodIdentityAssociation' ? (desired.binding as BindingSettings) : undefined;
    const diffs: string[] = [];
    // Cross-account: the association's roleArn is the source role, its target the claim's role.
    if (a.roleArn !== (row.sourceRoleArn ?? roleArn)) diffs.push(`roleArn=${a.roleArn}`);
    if ((a.targetRoleArn || undefined) !== (want?.targetRoleArn || undefined)) diffs.push(`targetRoleArn=${a.targetRoleArn ?? '<none>'}`);
    if (a.disableSessionTags !== (want?.disableSessionTags ?? false)) diffs.push(`disableSessionTags=${a.disableSessionTags}`);
    if (!sessionPoliciesEqual(a.policy, want?.policy)) diffs.push(`policy=${a.policy ? (safeDigest(a.policy) ?? 'unparseable') : '<none>'}`);
    if (want) {
      const wantTags = Object.entries(want.tags).filter(([k]) => k.startsWith(TAG_PREFIX));
      const differing = wantTags.filter(([k, v]) => a.tags[k] !== v).map(([k]) => k).sort();
      if (differing.length) diffs.push(`tags=${differing.join(',')}`);
    }
    if (binding.associations.length > 1) diffs.push(`${binding.associations.length} associations`);
    return diffs.length ? `differs: ${diffs.join(', ')}` : 'ok';
  }
  const sa = binding.serviceAccount;
  if (!sa) return 'no ServiceAccount';
  if (!isOwnedBy(sa, ref)) return 'not owned';
  const annotation = sa.annotations[ROLE_ARN_ANNOTATION];
  if (annotation === undefined) return 'missing';
  return annotation === roleArn ? 'ok' : `differs: ${ROLE_ARN_ANNOTATION}=${annotation}`;
}

function sessionPoliciesEqual(live: string | undefined, want: string | undefined): boolean {
  if (!live || !want) return !live && !want;
  try {
    return policiesEqual(live, want);
  } catch {
    return live === want;
  }
}

function checkProviders(desired: DesiredState | undefined, mechanism: string, providers: ClaimObservation['providers']): string {
  if ((desired?.mechanism ?? mechanism) !== 'IRSA') return '-';
  if (!desired) return 'unknown: the claim does not compile';
  if (!providers) return 'unknown: not read';
  if (failed(providers)) return `unknown: ${providers.error}`;
  const findings: string[] = [];
  for (const arn of federatedProviders(desired)) {
    const p = providers[arn];
    if (!p) findings.push(`missing: ${arn}`);
    else if (!p.clientIds.includes('sts.amazonaws.com')) findings.push(`no sts.amazonaws.com client ID: ${arn}`);
  }
  return findings.length ? findings.join('; ') : 'ok';
}

/** The last credential verification the controller recorded (the CredentialsVerified condition), if any. */
function verification(claim: AwsWorkloadIdentityClaim): string {
  const c = claim.status?.conditions?.find((x) => x.type === 'CredentialsVerified');
  if (!c) return '-';
  return c.status === 'True' ? 'True' : `${c.status}: ${c.reason ?? ''}`.replace(/: $/, '');
}

// --- bindings outside awi ------------------------------------------------------

/**
 * Bindings that hand pods a role outside awi's claims: ServiceAccounts
 * annotated with a role that awi did not label, associations without awi's
 * tags, and awi's own ServiceAccounts and associations whose claim is gone or
 * binds another ServiceAccount (or, for an association, uses IRSA now).
 */
export function findBindings(claims: AwsWorkloadIdentityClaim[], serviceAccounts: LiveServiceAccount[], associations: LiveAssociation[]): BindingFinding[] {
  const byKey = new Map(claims.map((c) => [`${c.metadata.namespace ?? ''}/${c.metadata.name}`, c]));
  const out: BindingFinding[] = [];
  for (const sa of serviceAccounts) {
    const annotation = sa.annotations[ROLE_ARN_ANNOTATION];
    const owner = ownerOf(sa);
    if (owner.kind !== 'claim') {
      if (annotation === undefined) continue;
      out.push(
        owner.kind === 'released'
          ? { kind: 'orphaned ServiceAccount', namespace: sa.namespace, serviceAccount: sa.name, roleArn: annotation, detail: `annotated with ${ROLE_ARN_ANNOTATION}; released by awi (deletionPolicy Retain), no claim binds it` }
          : { kind: 'foreign ServiceAccount', namespace: sa.namespace, serviceAccount: sa.name, roleArn: annotation, detail: `annotated with ${ROLE_ARN_ANNOTATION}, not created by awi` },
      );
      continue;
    }
    const { claim: claimName, namespace: claimNs } = owner;
    const claim = byKey.get(`${claimNs}/${claimName}`);
    const why = !claim ? `claim ${claimNs}/${claimName} does not exist` : claim.spec?.serviceAccountName !== sa.name || claimNs !== sa.namespace ? `claim ${claimNs}/${claimName} binds ServiceAccount ${claim.spec?.serviceAccountName}` : undefined;
    if (why) out.push({ kind: 'orphaned ServiceAccount', namespace: sa.namespace, serviceAccount: sa.name, roleArn: annotation ?? '', claim: claimName, detail: why });
  }
  for (const a of associations) {
    const gives = a.targetRoleArn ?? a.roleArn;
    const owner = ownerOf(a.tags);
    if (owner.kind === 'foreign') {
      out.push({ kind: 'foreign association', namespace: a.namespace, serviceAccount: a.serviceAccount, roleArn: gives, associationId: a.associationId, detail: `no ${TAG.managedBy}=${MANAGED_BY} tag` });
      continue;
    }
    const { namespace: claimNs, claim: claimName } = owner;
    const claim = byKey.get(`${claimNs}/${claimName}`);
    const mechanism = claim?.status?.mechanism ?? claim?.spec?.mechanism;
    const why = !claim
      ? `claim ${claimNs}/${claimName} does not exist`
      : claim.spec?.serviceAccountName !== a.serviceAccount || claimNs !== a.namespace
        ? `claim ${claimNs}/${claimName} binds ServiceAccount ${claim.spec?.serviceAccountName}`
        : mechanism === 'IRSA'
          ? `claim ${claimNs}/${claimName} uses IRSA`
          : undefined;
    if (why) out.push({ kind: 'orphaned association', namespace: a.namespace, serviceAccount: a.serviceAccount, roleArn: gives, associationId: a.associationId, claim: claimName, detail: why });
  }
  return out.sort(byFindingKey);
}

const byFindingKey = (a: BindingFinding, b: BindingFinding): number => {
  const ka = `${a.namespace}/${a.serviceAccount}/${a.kind}/${a.associationId ?? ''}`;
  const kb = `${b.namespace}/${b.serviceAccount}/${b.kind}/${b.associationId ?? ''}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
};

/**
 * Roles tagged as awi's for this cluster that no claim accounts for: no claim
 * of that namespace and name, or a claim whose role is another one (its
 * ServiceAccount or the name template changed). Released roles (deletionPolicy
 * Retain) are listed as such.
 */
export function findOrphans(roles: AwsRole[], rows: InventoryRow[], cluster: string | string[], namespace?: string): OrphanRole[] {
  // The cluster tag: the cluster's ARN (or, written by earlier versions, its name).
  const clusterValues = [cluster].flat();
  const claimRoles = new Map(rows.map((r) => [`${r.namespace}/${r.name}`, [r.roleArn, ...(r.sourceRoleArn ? [r.sourceRoleArn] : [])]]));
  const orphans: OrphanRole[] = [];
  for (const role of roles) {
    const t = role.tags;
    const owner = ownerOf(t);
    if (owner.kind === 'foreign' || !clusterValues.includes(owner.cluster)) continue;
    const ns = owner.namespace;
    if (namespace !== undefined && ns !== namespace) continue;
    const key = `${ns}/${owner.claim}`;
    const claimRole = claimRoles.get(key);
    if (claimRole?.includes(role.arn)) continue;
    orphans.push({
      accountId: role.accountId || (parseArn(role.arn)?.account ?? ''),
      roleArn: role.arn,
      namespace: ns,
      claim: owner.claim,
      owner: t[TAG.owner] ?? '',
      environment: t[TAG.environment] ?? '',
      created: role.created ?? '',
      status: owner.kind === 'released' ? 'released' : claimRole === undefined ? 'no claim' : "not the claim's role",
    });
  }
  return orphans.sort(byKey((o) => `${o.namespace}/${o.claim}/${o.roleArn}`));
}

export function sortRows(rows: InventoryRow[]): InventoryRow[] {
  return [...rows].sort(byKey((r) => `${r.namespace}/${r.name}`));
}
