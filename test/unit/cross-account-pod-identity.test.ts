// Pod Identity across accounts and the association's session policy, in the
// compiler, and the compiled trust policies run through the AWS fake's EKS
// Auth (role chaining with the association's external id, AWS's semantics):
// the pod gets the claim's role in the other account; it is refused when the
// claim role's trust does not allow the source role, when the external id is
// still the placeholder, and for another ServiceAccount.

import { beforeAll, describe, expect, it } from '@jest/globals';
import { compileClaim, policyDigest } from '../../src/compiler/index.js';
import { PENDING_EXTERNAL_ID, SESSION_POLICY_MAX_CHARS, withAssociationExternalId } from '../../src/compiler/pod-identity.js';
import { deleteSourceRole, ensureSourceRole, type SourceRoleManagers } from '../../src/controller/source-role.js';
import { TAG } from '../../src/compiler/tags.js';
import type { CompileOptions, DesiredState, PodIdentityBinding, Problem } from '../../src/compiler/types.js';
import type { PlatformConfig } from '../../src/config/types.js';
import type { AwsWorkloadIdentityClaim, SessionPolicyStatement } from '../../src/api/types.js';
import type { FakeResponse } from '../../testbed/awsfake/protocol.js';
import { awsRejection as refusal, exchangeWorld, tokenIssuer, type TokenIssuer } from '../harness/awsfake-memory.js';
import { claimWith, configWith } from '../fixtures/claims.js';

const CLUSTER_ACCOUNT = '111122223333';
const OTHER = '222233334444';
const CLUSTER = 'prod-platform-a';
const REGION = 'ap-southeast-1';
const CLUSTER_ARN = `arn:aws:eks:${REGION}:${CLUSTER_ACCOUNT}:cluster/${CLUSTER}`;
const ISSUER = 'https://oidc.eks.ap-southeast-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE';
const PODS = 'pods.eks.amazonaws.com';

const config = configWith((raw) => {
  raw.accounts = [{ accountId: CLUSTER_ACCOUNT }, { accountId: OTHER, assumeRoleArn: `arn:aws:iam::${OTHER}:role/awi-controller` }];
  raw.guardrails[0].allowedAccounts = [CLUSTER_ACCOUNT, OTHER];
});
const withSessionPolicies = configWith((raw) => {
  raw.accounts = [{ accountId: CLUSTER_ACCOUNT }, { accountId: OTHER, assumeRoleArn: `arn:aws:iam::${OTHER}:role/awi-controller` }];
  raw.guardrails[0].allowedAccounts = [CLUSTER_ACCOUNT, OTHER];
  raw.guardrails[0].allowSessionPolicies = true;
});

const SESSION_POLICY: SessionPolicyStatement[] = [{ effect: 'Allow', actions: ['s3:GetObject'], resources: ['arn:aws:s3:::company-prod-data/orders-prod/reports/*'] }];

const claimIn = (accountId: string, mutate: (c: AwsWorkloadIdentityClaim) => void = () => {}) =>
  claimWith((c) => {
    c.metadata.uid = 'uid-1';
    c.spec.mechanism = 'PodIdentity';
    c.spec.aws.accountId = accountId;
    mutate(c);
  });

function ok(claim: AwsWorkloadIdentityClaim, cfg: PlatformConfig = config, options: CompileOptions = {}): DesiredState {
  const r = compileClaim(claim, cfg, options);
  if (!r.ok) throw new Error(JSON.stringify(r.problems, null, 2));
  return r.desired;
}
function problems(claim: AwsWorkloadIdentityClaim, cfg: PlatformConfig = config): Problem[] {
  const r = compileClaim(claim, cfg);
  return r.ok ? [] : r.problems;
}
const rules = (found: Problem[]) => found.map((p) => `${p.field}: ${p.rule}`);

describe('compiling a claim for another account', () => {
  const d = ok(claimIn(OTHER));
  const binding = d.binding as PodIdentityBinding;
  const source = d.sourceRole!;

  it('binds through a source role in the cluster account whose target is the claim role', () => {
    expect(d.role.arn).toBe(`arn:aws:iam::${OTHER}:role/awi/${CLUSTER}-orders-prod-orders-aws-sa`);
    expect(source.arn).toBe(`arn:aws:iam::${CLUSTER_ACCOUNT}:role/awi/${CLUSTER}-orders-prod-orders-aws-sa-source`);
    expect(source.accountId).toBe(CLUSTER_ACCOUNT);
    expect(binding).toMatchObject({ kind: 'PodIdentityAssociation', clusterName: CLUSTER, roleArn: source.arn, targetRoleArn: d.role.arn });
    expect(binding.disableSessionTags).toBeUndefined();
    expect(binding.policy).toBeUndefined();
  });

  it('the source role trusts EKS Pod Identity pinned to cluster, namespace and ServiceAccount, and may only chain into the claim role', () => {
    expect(source.trustPolicy.Statement).toEqual([
      {
        Sid: 'EksPodIdentity',
        Effect: 'Allow',
        Principal: { Service: PODS },
        Action: ['sts:AssumeRole', 'sts:TagSession'],
        Condition: {
          StringEquals: {
            'aws:RequestTag/eks-cluster-arn': CLUSTER_ARN,
            'aws:RequestTag/kubernetes-namespace': 'orders-prod',
            'aws:RequestTag/kubernetes-service-account': 'orders-aws-sa',
          },
        },
      },
    ]);
    expect(source.permissionPolicy.document.Statement).toEqual([
      { Sid: 'ChainToClaimRole', Effect: 'Allow', Action: ['sts:AssumeRole', 'sts:TagSession'], Resource: [d.role.arn] },
    ]);
  });

  it('the claim role trusts exactly the source role, with the external id (a placeholder until the association exists)', () => {
    const statements = d.role.trustPolicy.Statement;
    expect(statements.map((s) => s.Principal)).toEqual([{ AWS: source.arn }, { AWS: source.arn }]);
    expect(statements[0]).toMatchObject({ Action: ['sts:AssumeRole'], Condition: { StringEquals: { 'sts:ExternalId': PENDING_EXTERNAL_ID, 'aws:RequestTag/kubernetes-namespace': 'orders-prod' } } });
    expect(statements[1]).toMatchObject({ Action: ['sts:TagSession'], Condition: { StringEquals: { 'aws:RequestTag/kubernetes-service-account': 'orders-aws-sa' } } });
    expect(JSON.stringify(statements)).not.toContain(PODS);

    const known = ok(claimIn(OTHER), config, { associationExternalId: 'ext-123' });
    expect(known.role.trustPolicy.Statement[0]!.Condition).toMatchObject({ StringEquals: { 'sts:ExternalId': 'ext-123' } });
    expect(known.digests.trust).toBe(policyDigest(known.role.trustPolicy));
    expect(known.digests.trust).not.toBe(d.digests.trust);
  });

  it('both roles carry the ownership tags (cluster ARN, namespace, claim, uid) and the boundary of their account', () => {
    for (const role of [d.role, source]) {
      expect(role.tags).toMatchObject({ [TAG.cluster]: CLUSTER_ARN, [TAG.namespace]: 'orders-prod', [TAG.claim]: 'orders', [TAG.claimUid]: 'uid-1' });
    }
    expect(d.role.permissionsBoundaryArn).toBe(`arn:aws:iam::${OTHER}:policy/awi-workload-boundary`);
    expect(source.permissionsBoundaryArn).toBe(`arn:aws:iam::${CLUSTER_ACCOUNT}:policy/awi-workload-boundary`);
  });

  it('a claim in the cluster account has no source role and no target', () => {
    const same = ok(claimIn(CLUSTER_ACCOUNT));
    expect(same.sourceRole).toBeUndefined();
    expect((same.binding as PodIdentityBinding).targetRoleArn).toBeUndefined();
    expect((same.binding as PodIdentityBinding).roleArn).toBe(same.role.arn);
    expect(same.role.trustPolicy.Statement[0]!.Principal).toEqual({ Service: PODS });
  });

  it('IRSA in another account needs no source role', () => {
    expect(ok(claimIn(OTHER, (c) => (c.spec.mechanism = 'IRSA'))).sourceRole).toBeUndefined();
  });
});

describe('guardrails across accounts', () => {
  it('the account must be allowed for the namespace (one refusal, not two)', () => {
    const narrow = configWith((raw) => {
      raw.accounts = [{ accountId: CLUSTER_ACCOUNT }, { accountId: OTHER, assumeRoleArn: `arn:aws:iam::${OTHER}:role/awi-controller` }];
    });
    expect(rules(problems(claimIn(OTHER), narrow))).toEqual(['spec.aws.accountId: account-allowed']);
  });

  it('the account must be configured, with a role the controller assumes there', () => {
    const unknown = configWith((raw) => {
      raw.guardrails[0].allowedAccounts = [CLUSTER_ACCOUNT, OTHER];
    });
    expect(rules(problems(claimIn(OTHER), unknown))).toEqual(['spec.aws.accountId: account-known']);
    // The loader refuses an account without assumeRoleArn; a config built another way is refused here.
    const noRole: PlatformConfig = { ...config, accounts: [{ accountId: CLUSTER_ACCOUNT }, { accountId: OTHER }] };
    expect(rules(problems(claimIn(OTHER), noRole))).toEqual(['spec.mechanism: pod-identity-same-account']);
  });
});

describe('session policy', () => {
  const withPolicy = (accountId: string, statements = SESSION_POLICY) => claimIn(accountId, (c) => (c.spec.podIdentity = { sessionPolicy: statements }));

  it('is refused unless every guardrail of the namespace allows session policies: it turns the namespace pin off', () => {
    const found = problems(withPolicy(CLUSTER_ACCOUNT));
    expect(rules(found)).toEqual(['spec.podIdentity.sessionPolicy: session-policy-allowed']);
    expect(found[0]!.message).toMatch(/session tags off/);
  });

  it('compiles into the association policy with session tags disabled; the trust pins the cluster by aws:SourceArn', () => {
    const d = ok(withPolicy(CLUSTER_ACCOUNT), withSessionPolicies);
    const binding = d.binding as PodIdentityBinding;
    expect(binding.disableSessionTags).toBe(true);
    expect(JSON.parse(binding.policy!)).toEqual({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::company-prod-data/orders-prod/reports/*'] }],
    });
    expect(d.role.trustPolicy.Statement).toEqual([
      {
        Sid: 'EksPodIdentityCluster',
        Effect: 'Allow',
        Principal: { Service: PODS },
        Action: ['sts:AssumeRole'],
        Condition: { StringEquals: { 'aws:SourceAccount': CLUSTER_ACCOUNT, 'aws:SourceArn': CLUSTER_ARN } },
      },
    ]);
  });

  it('across accounts: no tag pins, no sts:TagSession, the external id still required', () => {
    const d = ok(withPolicy(OTHER), withSessionPolicies, { associationExternalId: 'ext-9' });
    expect(d.sourceRole!.trustPolicy.Statement[0]!.Action).toEqual(['sts:AssumeRole']);
    expect(d.sourceRole!.permissionPolicy.document.Statement[0]!.Action).toEqual(['sts:AssumeRole']);
    expect(d.role.trustPolicy.Statement).toEqual([
      { Sid: 'EksPodIdentityChain', Effect: 'Allow', Principal: { AWS: d.sourceRole!.arn }, Action: ['sts:AssumeRole'], Condition: { StringEquals: { 'sts:ExternalId': 'ext-9' } } },
    ]);
  });

  it('is a Pod Identity setting: refused with IRSA', () => {
    expect(rules(problems(claimIn(CLUSTER_ACCOUNT, (c) => {
      c.spec.mechanism = 'IRSA';
      c.spec.podIdentity = { sessionPolicy: SESSION_POLICY };
    }), withSessionPolicies))).toEqual(['spec.podIdentity.sessionPolicy: session-policy-mechanism']);
  });

  it('must fit the 2,048 characters STS allows', () => {
    const big = Array.from({ length: 10 }, (_, i): SessionPolicyStatement => ({
      effect: 'Allow',
      actions: ['s3:GetObject'],
      resources: Array.from({ length: 5 }, (_, j) => `arn:aws:s3:::company-prod-data/orders-prod/${'x'.repeat(40)}-${i}-${j}/*`),
    }));
    const found = problems(withPolicy(CLUSTER_ACCOUNT, big), withSessionPolicies);
    expect(rules(found)).toEqual(['spec.podIdentity.sessionPolicy: session-policy-size']);
    expect(found[0]!.message).toContain(String(SESSION_POLICY_MAX_CHARS));
  });
});

// --- the compiled policies through the AWS fake's EKS Auth ------------------------

let tokens: TokenIssuer;
beforeAll(async () => {
  tokens = await tokenIssuer(ISSUER);
});

function bed() {
  const world = exchangeWorld({ name: CLUSTER, accountId: CLUSTER_ACCOUNT, region: REGION, issuer: ISSUER, jwks: tokens.jwks });
  const { iam, eks } = world;
  return {
    iam,
    eks,
    exchange: async (namespace: string, sa: string): Promise<FakeResponse> =>
      world.exchange(await tokens.podToken({ namespace, serviceAccount: sa, audience: [PODS], pod: { name: 'app-1', uid: 'pod-uid' } })),
    /** What the controller does with a desired state: roles first, then the association; returns its externalId. */
    apply(d: DesiredState): string | undefined {
      const b = d.binding as PodIdentityBinding;
      if (d.sourceRole) iam.role(d.sourceRole.arn, d.sourceRole.trustPolicy);
      iam.role(d.role.arn, d.role.trustPolicy);
      const body = { namespace: b.namespace, serviceAccount: b.serviceAccount, roleArn: b.roleArn, ...(b.targetRoleArn ? { targetRoleArn: b.targetRoleArn } : {}), ...(b.disableSessionTags ? { disableSessionTags: true } : {}), ...(b.policy ? { policy: b.policy } : {}) };
      return (world.associate(body) as { externalId?: string }).externalId;
    },
  };
}

const assumed = (out: FakeResponse) => (JSON.parse(String(out.body)) as { assumedRoleUser: { arn: string } }).assumedRoleUser.arn;

describe('compiled trust policies through EKS Auth (the fake, AWS semantics)', () => {
  it('the pod gets the claim role in the other account once the trust carries the association external id', async () => {
    const b = bed();
    const pending = ok(claimIn(OTHER));
    const externalId = b.apply(pending);
    expect(externalId).toMatch(/.+/);
    // Before the trust names the association's external id, nobody chains in.
    expect((await refusal(b.exchange('orders-prod', 'orders-aws-sa'))).message).toContain('sts:ExternalId');

    // The controller recompiles with the id CreatePodIdentityAssociation returned and rewrites the trust.
    const ready = ok(claimIn(OTHER), config, { associationExternalId: externalId! });
    b.iam.role(ready.role.arn, ready.role.trustPolicy);
    const out = await b.exchange('orders-prod', 'orders-aws-sa');
    expect(assumed(out)).toMatch(new RegExp(`^arn:aws:sts::${OTHER}:assumed-role/${ready.role.name}/`));
    expect(out.detail).toMatchObject({ roleArn: ready.sourceRole!.arn, targetRoleArn: ready.role.arn, assumedRoleArn: ready.role.arn });
    expect(b.iam.mints.map((m) => m.roleArn)).toEqual([ready.role.arn]);
  });

  it('refused when the claim role no longer trusts the source role', async () => {
    const b = bed();
    const externalId = b.apply(ok(claimIn(OTHER)));
    const ready = ok(claimIn(OTHER), config, { associationExternalId: externalId! });
    const broken = JSON.parse(JSON.stringify(ready.role.trustPolicy).replaceAll(ready.sourceRole!.arn, `arn:aws:iam::${CLUSTER_ACCOUNT}:role/awi/someone-else`)) as object;
    b.iam.role(ready.role.arn, broken);
    const err = await refusal(b.exchange('orders-prod', 'orders-aws-sa'));
    expect(err.code).toBe('AccessDeniedException');
    expect(err.message).toContain(`does not allow ${ready.sourceRole!.arn}`);
    expect(b.iam.mints).toEqual([]);
  });

  it('another ServiceAccount associated with the same source role is refused by the source role trust', async () => {
    const b = bed();
    const externalId = b.apply(ok(claimIn(OTHER)));
    const ready = ok(claimIn(OTHER), config, { associationExternalId: externalId! });
    b.iam.role(ready.role.arn, ready.role.trustPolicy);
    b.eks.handle({
      method: 'POST',
      path: `/clusters/${CLUSTER}/pod-identity-associations`,
      query: new URLSearchParams(),
      body: Buffer.from(JSON.stringify({ namespace: 'intruder-prod', serviceAccount: 'x', roleArn: ready.sourceRole!.arn, targetRoleArn: ready.role.arn })),
    });
    expect((await refusal(b.exchange('intruder-prod', 'x'))).message).toContain(`does not allow ${PODS}`);
  });

  it('with a session policy: the pod gets the claim role narrowed by it', async () => {
    const b = bed();
    const claim = claimIn(OTHER, (c) => (c.spec.podIdentity = { sessionPolicy: SESSION_POLICY }));
    const externalId = b.apply(ok(claim, withSessionPolicies));
    const ready = ok(claim, withSessionPolicies, { associationExternalId: externalId! });
    b.iam.role(ready.role.arn, ready.role.trustPolicy);
    const out = await b.exchange('orders-prod', 'orders-aws-sa');
    expect(out.detail?.sessionTags).toBeNull();
    expect(b.iam.mints).toEqual([{ roleArn: ready.role.arn, sessionPolicy: (ready.binding as PodIdentityBinding).policy }]);
  });
});

describe('the external id, learnt from the association', () => {
  it('withAssociationExternalId gives what compiling with the id gives (trust and digest); nothing without a source role or an id', () => {
    const pending = ok(claimIn(OTHER));
    const known = ok(claimIn(OTHER), config, { associationExternalId: 'ext-42' });
    expect(withAssociationExternalId(pending, 'ext-42')).toEqual(known);
    expect(withAssociationExternalId(pending, undefined)).toBe(pending);
    const same = ok(claimIn(CLUSTER_ACCOUNT));
    expect(withAssociationExternalId(same, 'ext-42')).toBe(same);
  });
});

describe('the source role in the controller (source-role.ts)', () => {
  const d = ok(claimIn(OTHER));
  const owner = { cluster: CLUSTER_ARN, namespace: 'orders-prod', claim: 'orders' };

  /** RoleManager and PermissionPolicyManager over one in-memory role. */
  function managers(role?: { tags: Record<string, string>; trust: object; inline: Record<string, object>; attached: string[] }) {
    const calls: string[] = [];
    const state = role ? { ...role } : undefined;
    const m = {
      role: {
        get: async () => (state ? { name: d.sourceRole!.name, path: '/awi/', arn: d.sourceRole!.arn, trustPolicy: state.trust, tags: state.tags, permissionsBoundaryArn: d.sourceRole!.permissionsBoundaryArn, maxSessionDurationSeconds: 3600, description: '' } : undefined),
        create: async () => void calls.push('create'),
        updateTrust: async () => void calls.push('updateTrust'),
        tag: async () => void calls.push('tag'),
        setBoundary: async () => void calls.push('setBoundary'),
        delete: async () => void calls.push('delete'),
      },
      policy: {
        listInlineNames: async () => Object.keys(state?.inline ?? {}),
        getInline: async (_r: string, n: string) => state?.inline[n],
        putInline: async () => void calls.push('putInline'),
        deleteInline: async (_r: string, n: string) => void calls.push(`deleteInline ${n}`),
        listAttached: async () => state?.attached ?? [],
        detach: async (_r: string, arn: string) => void calls.push(`detach ${arn}`),
      },
    };
    return { m: m as unknown as SourceRoleManagers, calls };
  }

  it('creates a missing role with its policy; leaves a converged one alone', async () => {
    const fresh = managers();
    expect((await ensureSourceRole(d.sourceRole!, owner, fresh.m)).blocker).toBeUndefined();
    expect(fresh.calls).toEqual(['create', 'putInline']);
    const converged = managers({ tags: d.sourceRole!.tags, trust: d.sourceRole!.trustPolicy, inline: { 'awi-permissions': d.sourceRole!.permissionPolicy.document }, attached: [] });
    expect(await ensureSourceRole(d.sourceRole!, owner, converged.m)).toEqual({ applied: [] });
    expect(converged.calls).toEqual([]);
  });

  it('restores trust and policy, removes what was added behind its back', async () => {
    const drifted = managers({
      tags: d.sourceRole!.tags,
      trust: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: PODS }, Action: 'sts:AssumeRole' }] },
      inline: { 'awi-permissions': { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }] }, extra: {} },
      attached: ['arn:aws:iam::aws:policy/AdministratorAccess'],
    });
    await ensureSourceRole(d.sourceRole!, owner, drifted.m);
    expect(drifted.calls).toEqual(['updateTrust', 'deleteInline extra', 'putInline', 'detach arn:aws:iam::aws:policy/AdministratorAccess']);
  });

  it('a role of that name not owned by the claim blocks and is not touched, nor deleted', async () => {
    const foreign = managers({ tags: { ...d.sourceRole!.tags, [TAG.claim]: 'someone-else' }, trust: {}, inline: {}, attached: [] });
    const out = await ensureSourceRole(d.sourceRole!, owner, foreign.m);
    expect(out.blocker).toMatchObject({ resource: 'Role', reason: 'RoleNotOwned' });
    expect(await deleteSourceRole(d.sourceRole!.name, owner, foreign.m)).toBeUndefined();
    expect(foreign.calls).toEqual([]);
  });
});
