// Pure decisions of issue 8's checks: which mechanism a pod uses, which
// prerequisite is missing, what a credential exchange means, and when a
// mechanism switch may retire the old trust and binding.
import { describe, expect, it } from '@jest/globals';
import type { PolicyDocument } from '../../src/compiler/types.js';
import { foldChecks, isRetireStep } from '../../src/controller/checks.js';
import type { ConditionInput } from '../../src/controller/conditions.js';
import { podMechanism, podsUsing, podView, type PodView } from '../../src/controller/pods.js';
import { missingPrerequisite, PrerequisiteChecker, trustedMechanisms, trustedOidcProviders, type AgentState } from '../../src/controller/prerequisites.js';
import { decideSwitch, type SwitchInput } from '../../src/controller/switch.js';
import { CredentialVerifier, mayMintFor, parseAssumedRole, sameRole, verificationCondition, type VerdictContext } from '../../src/controller/verify.js';
import { KubeConfig } from '@kubernetes/client-node';

const PROVIDER = 'arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC';
const PROVIDER2 = 'arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/DEF';
const irsaStatement = (arn: string) => ({ Effect: 'Allow' as const, Principal: { Federated: arn }, Action: ['sts:AssumeRoleWithWebIdentity'] });
const podStatement = { Effect: 'Allow' as const, Principal: { Service: 'pods.eks.amazonaws.com' }, Action: ['sts:AssumeRole', 'sts:TagSession'] };
const trust = (...Statement: PolicyDocument['Statement']): PolicyDocument => ({ Version: '2012-10-17', Statement });

describe('pods: the mechanism a pod uses, from the environment the webhooks injected', () => {
  const pod = (env: string[], phase = 'Running'): PodView => ({ name: `p-${env.join('-') || 'none'}-${phase}`, phase, env });

  it('reads IRSA, Pod Identity, both (IRSA wins: the SDK chains try the web identity token first) and none', () => {
    expect(podMechanism(pod(['AWS_ROLE_ARN', 'AWS_WEB_IDENTITY_TOKEN_FILE']))).toBe('IRSA');
    expect(podMechanism(pod(['AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE']))).toBe('PodIdentity');
    expect(podMechanism(pod(['AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_WEB_IDENTITY_TOKEN_FILE']))).toBe('IRSA');
    expect(podMechanism(pod(['PATH']))).toBeUndefined();
  });

  it('counts only pods that may still ask for credentials', () => {
    const pods = [pod(['AWS_ROLE_ARN']), pod(['AWS_ROLE_ARN'], 'Pending'), pod(['AWS_ROLE_ARN'], 'Succeeded'), pod(['AWS_ROLE_ARN'], 'Failed'), pod(['AWS_CONTAINER_CREDENTIALS_FULL_URI'])];
    expect(podsUsing(pods, 'IRSA')).toEqual(['p-AWS_ROLE_ARN-Pending', 'p-AWS_ROLE_ARN-Running']);
    expect(podsUsing(pods, 'PodIdentity')).toEqual(['p-AWS_CONTAINER_CREDENTIALS_FULL_URI-Running']);
  });

  it('looks at init containers too', () => {
    const v = podView({ metadata: { name: 'x' }, spec: { containers: [{ name: 'a' }], initContainers: [{ name: 'i', env: [{ name: 'AWS_ROLE_ARN', value: 'r' }] }] } });
    expect(podMechanism(v)).toBe('IRSA');
  });
});

describe('prerequisites', () => {
  const present: AgentState = { present: true, detail: 'DaemonSet kube-system/eks-pod-identity-agent' };
  const absent: AgentState = { present: false, detail: 'no DaemonSet kube-system/eks-pod-identity-agent and no EKS add-on eks-pod-identity-agent' };

  it('reads the providers and mechanisms a trust names', () => {
    const t = trust(irsaStatement(PROVIDER2), irsaStatement(PROVIDER), podStatement);
    expect(trustedOidcProviders(t)).toEqual([PROVIDER, PROVIDER2]);
    expect(trustedMechanisms(t)).toEqual(['IRSA', 'PodIdentity']);
    expect(trustedMechanisms(trust(podStatement))).toEqual(['PodIdentity']);
  });

  it('IRSA: every provider the trust names must exist and list sts.amazonaws.com', () => {
    const t = trust(irsaStatement(PROVIDER), irsaStatement(PROVIDER2));
    expect(missingPrerequisite(t, [{ arn: PROVIDER, exists: true, clientIds: ['sts.amazonaws.com'] }, { arn: PROVIDER2, exists: true, clientIds: ['sts.amazonaws.com'] }], undefined)).toBeUndefined();
    const missing = missingPrerequisite(t, [{ arn: PROVIDER, exists: true, clientIds: ['sts.amazonaws.com'] }, { arn: PROVIDER2, exists: false }], undefined);
    expect(missing?.reason).toBe('OIDCProviderMissing');
    expect(missing?.message).toContain(PROVIDER2);
    expect(missing?.message).not.toContain(`${PROVIDER},`);
    expect(missing?.message).toContain('--url https://oidc.eks.eu-west-1.amazonaws.com/id/DEF');
    const noAudience = missingPrerequisite(t, [{ arn: PROVIDER, exists: true, clientIds: ['sts.amazonaws.com'] }, { arn: PROVIDER2, exists: true, clientIds: ['other'] }], undefined);
    expect(noAudience).toMatchObject({ reason: 'OIDCProviderMissing' });
    expect(noAudience!.message).toContain('does not list sts.amazonaws.com');
    expect(noAudience!.message).toContain('add-client-id-to-open-id-connect-provider');
    // A provider not looked up counts as missing (never assume).
    expect(missingPrerequisite(t, [], undefined)?.reason).toBe('OIDCProviderMissing');
  });

  it('Pod Identity: the agent must be present; IRSA-only trusts do not need it', () => {
    expect(missingPrerequisite(trust(podStatement), [], present)).toBeUndefined();
    const p = missingPrerequisite(trust(podStatement), [], absent);
    expect(p?.reason).toBe('PodIdentityAgentMissing');
    expect(p?.message).toContain('aws eks create-addon');
    expect(p?.message).toContain(absent.detail);
    expect(missingPrerequisite(trust(irsaStatement(PROVIDER)), [{ arn: PROVIDER, exists: true, clientIds: ['sts.amazonaws.com'] }], absent)).toBeUndefined();
  });

  it('a switch trusting both needs both prerequisites', () => {
    const t = trust(irsaStatement(PROVIDER), podStatement);
    const ok = [{ arn: PROVIDER, exists: true as const, clientIds: ['sts.amazonaws.com'] }];
    expect(missingPrerequisite(t, ok, absent)?.reason).toBe('PodIdentityAgentMissing');
    expect(missingPrerequisite(t, [{ arn: PROVIDER, exists: false }], present)?.reason).toBe('OIDCProviderMissing');
  });
});

describe('credential verification verdicts', () => {
  const ROLE = 'arn:aws:iam::111122223333:role/awi/awi-test-ns-app';
  const ctx: VerdictContext = { mechanism: 'IRSA', serviceAccount: 'ns/app', roleArn: ROLE, propagationGraceMs: 60_000 };

  it('parses assumed-role ARNs and compares them with the role (the path is not in a session ARN)', () => {
    expect(parseAssumedRole('arn:aws:sts::111122223333:assumed-role/awi-test-ns-app/awi-verify')).toEqual({ account: '111122223333', roleName: 'awi-test-ns-app' });
    expect(sameRole('arn:aws:sts::111122223333:assumed-role/awi-test-ns-app/s', ROLE)).toBe(true);
    expect(sameRole('arn:aws:sts::444455556666:assumed-role/awi-test-ns-app/s', ROLE)).toBe(false);
    expect(sameRole('arn:aws:sts::111122223333:assumed-role/broader-role/s', ROLE)).toBe(false);
    expect(sameRole('not an arn', ROLE)).toBe(false);
  });

  it('True only for a session of the claimed role', () => {
    expect(verificationCondition({ ok: true, assumedRoleArn: 'arn:aws:sts::111122223333:assumed-role/awi-test-ns-app/s' }, ctx)).toMatchObject({ type: 'CredentialsVerified', status: 'True', reason: 'Verified' });
    // The session name differs at every exchange: a verdict that names it would patch status at every re-verification.
    expect(verificationCondition({ ok: true, assumedRoleArn: 'arn:aws:sts::111122223333:assumed-role/awi-test-ns-app/eks-1' }, ctx))
      .toEqual(verificationCondition({ ok: true, assumedRoleArn: 'arn:aws:sts::111122223333:assumed-role/awi-test-ns-app/eks-2' }, ctx));
    // A target role the claim did not ask for (association targetRoleArn): pods get another identity.
    const other = verificationCondition({ ok: true, assumedRoleArn: 'arn:aws:sts::111122223333:assumed-role/broader-role/s' }, { ...ctx, mechanism: 'PodIdentity' });
    expect(other).toMatchObject({ status: 'False', reason: 'UnexpectedRole' });
    expect(other.message).toContain('broader-role');
  });

  it('a refusal is IAMPropagating only shortly after an awi write, else VerificationFailed with the AWS error', () => {
    const refused = { ok: false as const, code: 'AccessDenied', message: 'Not authorized to perform sts:AssumeRoleWithWebIdentity', retryable: false };
    expect(verificationCondition(refused, { ...ctx, sinceLastWriteMs: 5_000 })).toMatchObject({ status: 'False', reason: 'IAMPropagating' });
    const failed = verificationCondition(refused, { ...ctx, sinceLastWriteMs: 120_000 });
    expect(failed).toMatchObject({ status: 'False', reason: 'VerificationFailed' });
    expect(failed.message).toContain('AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity');
    expect(verificationCondition(refused, ctx).reason).toBe('VerificationFailed');
    // Not something propagation explains, even right after a write.
    expect(verificationCondition({ ok: false, code: 'ExpiredTokenException', message: 'x', retryable: false }, { ...ctx, sinceLastWriteMs: 1 }).reason).toBe('VerificationFailed');
    expect(verificationCondition({ ok: false, code: 'Throttling', message: 'slow down', retryable: true }, ctx)).toMatchObject({ status: 'Unknown', reason: 'VerificationUnavailable' });
  });

  it('mints tokens only for ServiceAccounts awi manages, before any API call', async () => {
    expect(mayMintFor({ labels: { 'app.kubernetes.io/managed-by': 'awi', 'awi.dev/claim': 'c' } })).toBe(true);
    expect(mayMintFor({ labels: { 'app.kubernetes.io/managed-by': 'awi' } })).toBe(false);
    expect(mayMintFor({ labels: {} })).toBe(false);
    const kc = new KubeConfig();
    kc.loadFromOptions({ clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }], users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
    const verifier = new CredentialVerifier({ kubeConfig: kc, sts: undefined as never, region: 'eu-west-1', clusterName: 'c', credentials: async () => ({ accessKeyId: 'a', secretAccessKey: 'b' }) });
    await expect(verifier.exchange({ namespace: 'kube-system', name: 'default', uid: 'u', resourceVersion: '1', labels: {}, annotations: {} }, 'IRSA', 'arn:aws:iam::1:role/x'))
      .rejects.toThrow('awi does not manage it');
  });
});

describe('mechanism switch', () => {
  const base: SwitchInput = { desired: 'PodIdentity', oldBindingPresent: true, roleTrustsOld: true, podsOnOld: [], now: new Date('2026-01-01T00:10:00Z'), startedAt: new Date('2026-01-01T00:00:00Z'), maxSeconds: 3600, newVerified: true };

  it('no switch: nothing kept', () => {
    expect(decideSwitch({ ...base, oldBindingPresent: false, roleTrustsOld: false })).toMatchObject({ inProgress: false, keepOldTrust: false, mayRetireBinding: true });
  });

  it('IRSA -> Pod Identity: the annotation goes once the new mechanism is verified; the IRSA trust stays while IRSA pods run', () => {
    const waiting = decideSwitch({ ...base, podsOnOld: ['a', 'b'] });
    expect(waiting).toMatchObject({ inProgress: true, from: 'IRSA', keepOldTrust: true, mayRetireBinding: true });
    expect(waiting.condition).toMatchObject({ type: 'MechanismSwitch', status: 'True', reason: 'WaitingForPods' });
    expect(waiting.condition!.message).toContain('2 running pods still use IRSA (a, b)');
    expect(waiting.condition!.message).toContain('2026-01-01T01:00:00.000Z');
    expect(decideSwitch({ ...base, newVerified: false }).mayRetireBinding).toBe(false);
    // Annotation gone, pods still on IRSA: the trust stays.
    expect(decideSwitch({ ...base, oldBindingPresent: false, podsOnOld: ['a'] }).keepOldTrust).toBe(true);
    // No IRSA pod left: the trust goes.
    expect(decideSwitch({ ...base, oldBindingPresent: false })).toMatchObject({ inProgress: true, keepOldTrust: false });
  });

  it('Pod Identity -> IRSA: the association and its trust stay while Pod Identity pods run', () => {
    const d = decideSwitch({ ...base, desired: 'IRSA', podsOnOld: ['p'] });
    expect(d).toMatchObject({ from: 'PodIdentity', keepOldTrust: true, mayRetireBinding: false });
    expect(d.condition!.message).toContain('1 running pod still uses PodIdentity (p)');
    expect(decideSwitch({ ...base, desired: 'IRSA' })).toMatchObject({ keepOldTrust: true, mayRetireBinding: true });
  });

  it('switchMaxSeconds ends the wait, and the status says which pods lose out', () => {
    const late = decideSwitch({ ...base, desired: 'IRSA', podsOnOld: ['p'], now: new Date('2026-01-01T01:00:00Z') });
    expect(late).toMatchObject({ timedOut: true, mayRetireBinding: true });
    expect(late.condition).toMatchObject({ reason: 'SwitchTimedOut' });
    expect(late.condition!.message).toContain('restart them');
    expect(decideSwitch({ ...base, desired: 'IRSA', podsOnOld: ['p'], oldBindingPresent: false, now: new Date('2026-01-01T01:00:00Z') }).keepOldTrust).toBe(false);
  });

  it('knows the retire steps', () => {
    expect(isRetireStep({ kind: 'DeleteAssociation', associationId: 'a-1', why: 'retire' })).toBe(true);
    expect(isRetireStep({ kind: 'PatchServiceAccount', resource: 'Binding', labels: {}, annotations: { 'eks.amazonaws.com/role-arn': null }, why: 'retire' })).toBe(true);
    expect(isRetireStep({ kind: 'PatchServiceAccount', resource: 'Binding', labels: {}, annotations: { 'eks.amazonaws.com/role-arn': 'arn' }, why: 'set' })).toBe(false);
    expect(isRetireStep({ kind: 'CreateAssociation' })).toBe(false);
  });
});

describe('Ready with the checks folded in', () => {
  const ok: ConditionInput = { type: 'Ready', status: 'True', reason: 'Reconciled', message: 'fine' };
  const resources: ConditionInput[] = [{ type: 'RoleReady', status: 'True', reason: 'Reconciled', message: 'role' }];
  const verified: ConditionInput = { type: 'CredentialsVerified', status: 'True', reason: 'Verified', message: 'v' };
  const failed: ConditionInput = { type: 'CredentialsVerified', status: 'False', reason: 'VerificationFailed', message: 'AccessDenied' };

  it('Ready only when the credentials are verified', () => {
    expect(foldChecks([ok, ...resources], { blocked: false, credentials: verified })[0]).toEqual(ok);
    expect(foldChecks([ok, ...resources], { blocked: false, credentials: failed })[0]).toMatchObject({ status: 'False', reason: 'VerificationFailed', message: 'AccessDenied' });
    expect(foldChecks([ok, ...resources], { blocked: false, credentials: failed }).map((c) => c.type)).toEqual(['Ready', 'RoleReady', 'CredentialsVerified']);
  });

  it('a missing prerequisite is the reason, unless a blocker is', () => {
    const prerequisite = { reason: 'PodIdentityAgentMissing' as const, message: 'install it' };
    expect(foldChecks([ok, ...resources], { blocked: false, prerequisite, credentials: verified })[0]).toMatchObject({ status: 'False', reason: 'PodIdentityAgentMissing' });
    const blocked: ConditionInput = { type: 'Ready', status: 'False', reason: 'ServiceAccountConflict', message: 'taken' };
    expect(foldChecks([blocked], { blocked: true, prerequisite })[0]).toEqual(blocked);
  });
});

describe('PrerequisiteChecker: per provider and cached, not per claim', () => {
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }], users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });

  function checker(existing: Set<string>) {
    let now = 0;
    const calls: string[] = [];
    const iamFor = (account: string) => ({
      send: async (cmd: { input: { OpenIDConnectProviderArn: string } }) => {
        calls.push(`${account} ${cmd.input.OpenIDConnectProviderArn}`);
        if (!existing.has(cmd.input.OpenIDConnectProviderArn)) throw Object.assign(new Error('not found'), { name: 'NoSuchEntityException' });
        return { ClientIDList: ['sts.amazonaws.com'] };
      },
    });
    const c = new PrerequisiteChecker({ iamFor: iamFor as never, eks: undefined as never, clusterName: 'c', kubeConfig: kc, ttlMs: 60_000, missingTtlMs: 5_000, now: () => now });
    return { c, calls, advance: (ms: number) => (now += ms) };
  }
  const t = trust(irsaStatement(PROVIDER));

  it('asks the provider\'s own account once per TTL, whatever the number of claims', async () => {
    const { c, calls, advance } = checker(new Set([PROVIDER]));
    for (let i = 0; i < 5; i++) expect(await c.check(t)).toBeUndefined();
    expect(calls).toEqual([`111122223333 ${PROVIDER}`]);
    advance(60_001);
    await c.check(t);
    expect(calls).toHaveLength(2);
  });

  it('remembers a missing provider only briefly, so that its creation shows soon', async () => {
    const existing = new Set<string>();
    const { c, calls, advance } = checker(existing);
    expect((await c.check(t))?.reason).toBe('OIDCProviderMissing');
    existing.add(PROVIDER);
    expect((await c.check(t))?.reason).toBe('OIDCProviderMissing'); // cached
    advance(5_001);
    expect(await c.check(t)).toBeUndefined();
    expect(calls).toHaveLength(2);
    // A failed exchange drops the cache: the next check asks again.
    c.invalidate();
    await c.check(t);
    expect(calls).toHaveLength(3);
  });
});
