// deploy/aws/controller-policy.json against a real controller run: every AWS
// call the controller makes in a representative scenario (Pod Identity and
// IRSA claims, a managed policy, drift on every role property and the
// association (its tags included, and its ownership tags stripped), mechanism switches both ways, Delete and Retain) must be
// allowed by the rendered policy, conditions included; and every action the
// policy allows must have been used, or be in a short list of actions the
// scenario cannot reach. Every request is decided twice: by the project's
// matcher (test/harness/iam-policy-match.ts) and by @cloud-copilot/iam-simulate
// (test/harness/iam-simulate.ts), which must agree. The same for `awi inventory --aws` and
// deploy/aws/inventory-policy.json. A last part checks the trust policies of
// the controller's own role against the fake's STS and EKS Auth.
//
// How calls are attributed: the SDK clients' send() is wrapped for the
// duration of the scenario; a call whose caller is under src/inventory/ is
// the inventory's, under the rest of src/ the controller's, anything else the
// test's own. The AWS fake's call log is the
// independent witness that the wrapper saw every request.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api } from '@kubernetes/client-node';
import {
  CreatePolicyCommand, CreateRoleCommand, DeleteRolePermissionsBoundaryCommand, GetRoleCommand, IAMClient, ListAttachedRolePoliciesCommand,
  PutRolePolicyCommand, TagRoleCommand, UntagRoleCommand, UpdateAssumeRolePolicyCommand, UpdateRoleCommand,
} from '@aws-sdk/client-iam';
import { CreatePodIdentityAssociationCommand, EKSClient, TagResourceCommand, UntagResourceCommand, UpdatePodIdentityAssociationCommand } from '@aws-sdk/client-eks';
import { AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { assumeRoleForPodIdentity } from '../../testbed/awsfake/client.js';
import { captureIo } from '../fixtures/io.js';
import { claimsApi, createClaim, getClaim, readyCondition, startControllerEnv, testClaimSpec, testPlatformConfig, type ControllerEnv, waitForClaim, waitForReady } from '../harness/controller-env.js';
import {
  allowedActions, authorizationRequests, AwsStateModel, evaluate, statements, type AuthzRequest, type AwsCall, type PolicyDocument,
} from '../harness/iam-policy-match.js';
import { simulate } from '../harness/iam-simulate.js';
import { projectRoot } from '../../testbed/harness/paths.js';
import { awsClientConfig, awsFake, freshNamespace, kubeConfig, testbed } from '../../testbed/harness/testbed.js';
import { GROUP, PLURAL, VERSION } from '../../src/kube/claims.js';
import { mergePatch } from '../../src/kube/patch.js';
import { runInventory } from '../../src/cli/inventory.js';
import { CredentialVerifier } from '../../src/controller/verify.js';
import { verifyClusterIdentity } from '../../src/controller/cluster-identity.js';

/**
 * Allowed actions the scenario cannot reach, and why. Keep it short: each
 * entry is a permission no test run has shown to be needed or sufficient.
 */
const UNREACHABLE: Record<string, string> = {
  // Claims in other accounts run in multi-account.test.ts. Checking them here
  // would need a policy per account: the controller's role in each target
  // account carries this policy rendered for that account.
  // The test bed has the agent's DaemonSet; the add-on is asked only without it
  // (controller-verify.test.ts covers that path against the fake's DescribeAddon).
  'eks:DescribeAddon': 'the Pod Identity agent DaemonSet exists in the test bed',
  'sts:AssumeRole': 'the scenario stays in the cluster account',
};

const ACCOUNT_ROLE = 'arn:aws:iam::444455556666:role/awi-controller-access';
const MANAGED_POLICY_NAME = 'awi-test-read-only';

function renderTemplate(file: string, vars: Record<string, string>): any {
  return JSON.parse(execFileSync(process.execPath, [path.join(projectRoot, 'deploy', 'aws', 'render.mjs'), path.join(projectRoot, 'deploy', 'aws', file)], {
    env: { PATH: process.env.PATH ?? '', ...vars },
    encoding: 'utf8',
  }));
}

// --- recording the SDK calls --------------------------------------------------

type Origin = 'controller' | 'inventory' | 'test';

interface Recorded {
  origin: Origin;
  call: AwsCall;
  requests: AuthzRequest[];
  /** Why no authorization requests could be derived for a controller call. */
  unmapped?: string;
}

type Sendable = { prototype: { send: (...args: any[]) => Promise<any> } };
const CLIENTS: [Sendable, AwsCall['service']][] = [[IAMClient as unknown as Sendable, 'iam'], [EKSClient as unknown as Sendable, 'eks'], [STSClient as unknown as Sendable, 'sts']];

/** Who called send(): the first stack frame outside the wrapper and node_modules. */
function originOf(stack: string): Origin {
  const frames = stack.split('\n').slice(1).filter((f) => !f.includes('awiRecordingSend') && !f.includes('node_modules') && !f.includes('node:'));
  const caller = frames[0] ?? '';
  return /[/\\]src[/\\]inventory[/\\]/.test(caller) ? 'inventory' : /[/\\]src[/\\]/.test(caller) ? 'controller' : 'test';
}

function startRecording(env: { partition: string; accountId: string; region: string }): { calls: Recorded[]; stop(): void } {
  const calls: Recorded[] = [];
  const state = new AwsStateModel();
  const restore: (() => void)[] = [];
  let recording = true;
  // Credential verification calls EKS Auth without an SDK client (none exists): record it like one.
  {
    const proto = CredentialVerifier.prototype as unknown as { podIdentityCall: (token: string) => Promise<unknown>; o: { clusterName: string } };
    const original = proto.podIdentityCall;
    proto.podIdentityCall = async function recordedPodIdentityCall(this: typeof proto, token: string) {
      const output = await original.call(this, token);
      if (recording) {
        const call: AwsCall = { service: 'eks-auth', operation: 'AssumeRoleForPodIdentity', input: { clusterName: this.o.clusterName }, output: output as Record<string, any> };
        calls.push({ origin: 'controller', call, requests: authorizationRequests(call, env, state.clone()) });
      }
      return output;
    };
    restore.push(() => {
      proto.podIdentityCall = original;
    });
  }
  for (const [cls, service] of CLIENTS) {
    const original = cls.prototype.send;
    const own = Object.getOwnPropertyDescriptor(cls.prototype, 'send');
    cls.prototype.send = async function awiRecordingSend(this: unknown, command: { input: Record<string, any>; constructor: { name: string } }, ...rest: unknown[]) {
      const origin = originOf(new Error().stack ?? '');
      // The condition context is what AWS knew when the request arrived.
      const before = state.clone();
      const record = (result: { output?: any; error?: string }) => {
        if (!recording) return;
        const call: AwsCall = { service, operation: command.constructor.name.replace(/Command$/, ''), input: command.input, ...result };
        // Never throw into the caller: a call the mapping does not know fails the test, not the controller.
        let requests: AuthzRequest[] = [];
        let unmapped: string | undefined;
        if (origin !== 'test') {
          try {
            requests = authorizationRequests(call, env, before);
          } catch (err) {
            unmapped = (err as Error).message;
          }
        }
        calls.push({ origin, call, requests, ...(unmapped ? { unmapped } : {}) });
        state.apply(call);
      };
      try {
        const output = await original.call(this, command, ...rest);
        record({ output });
        return output;
      } catch (err) {
        record({ error: (err as { name?: string }).name ?? 'Error' });
        throw err;
      }
    };
    restore.push(() => {
      if (own) Object.defineProperty(cls.prototype, 'send', own);
      else delete (cls.prototype as { send?: unknown }).send;
    });
  }
  return {
    calls,
    stop: () => {
      recording = false;
      for (const r of restore) r();
    },
  };
}

// --- helpers --------------------------------------------------------------------

const iam = () => new IAMClient(awsClientConfig());
const eks = () => new EKSClient(awsClientConfig());
const core = () => kubeConfig().makeApiClient(CoreV1Api);

const spec = testClaimSpec;

async function patchSpec(namespace: string, name: string, specPatch: Record<string, unknown>): Promise<void> {
  await claimsApi().patchNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name, body: { spec: specPatch } }, mergePatch);
}

async function deleteClaim(namespace: string, name: string): Promise<void> {
  await claimsApi().deleteNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name });
  await waitForClaim(namespace, name, (c) => c === undefined);
}

const roleNameOf = async (namespace: string, name: string) => (await getClaim(namespace, name))!.status!.roleArn!.split('/').pop()!;

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const describeRequest = (r: AuthzRequest) => `${r.action} on ${r.resource}${Object.keys(r.context).length ? ` with ${JSON.stringify(r.context)}` : ''}`;

// --- the scenario ----------------------------------------------------------------

let env: ControllerEnv;
let recorder: { calls: Recorded[]; stop(): void };
let policy: PolicyDocument;
let inventoryPolicy: PolicyDocument;
let logCounts: Record<string, number> = {};

beforeAll(async () => {
  const tb = testbed();
  const awsEnv = { partition: 'aws', accountId: tb.accountId, region: tb.region };
  // Managed policies are allowed in this test's namespaces, so that attach and detach run too.
  const config = testPlatformConfig((raw) => {
    raw.guardrails.push({
      ...raw.guardrails[0],
      namespaces: ['iamcov-*'],
      allowManagedPolicies: true,
      allowedManagedPolicyArns: [`arn:aws:iam::${tb.accountId}:policy/awi-test-*`],
    });
  });
  policy = renderTemplate('controller-policy.json', {
    ACCOUNT_ID: tb.accountId,
    REGION: tb.region,
    CLUSTER_NAME: tb.clusterName,
    CLUSTER_ARN: config.cluster.arn,
    BOUNDARY_POLICY_ARN: config.roles.permissionsBoundaryArn!,
    ACCOUNT_ROLE_ARNS: ACCOUNT_ROLE,
  }) as PolicyDocument;

  inventoryPolicy = renderTemplate('inventory-policy.json', { ACCOUNT_ID: tb.accountId, REGION: tb.region, CLUSTER_NAME: tb.clusterName }) as PolicyDocument;

  recorder = startRecording(awsEnv);
  try {
    env = await startControllerEnv({ config });
    await runScenario();
    logCounts = {};
    for (const entry of await awsFake().callLog()) logCounts[entry.api] = (logCounts[entry.api] ?? 0) + 1;
  } finally {
    recorder.stop();
  }
}, 180_000);

afterAll(async () => {
  await env?.stop();
});

async function runScenario(): Promise<void> {
  const tb = testbed();
  const managedPolicyArn = (await iam().send(new CreatePolicyCommand({
    PolicyName: MANAGED_POLICY_NAME,
    PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:ListAllMyBuckets', Resource: '*' }] }),
  }))).Policy!.Arn!;

  // The start-up check of run.ts (the controller env does not go through run.ts).
  await verifyClusterIdentity(env.config, eks());

  const ns = await freshNamespace('iamcov');
  // 1. Create: a Pod Identity claim and an IRSA claim with a managed policy.
  await createClaim(ns, 'pod', spec('pod-sa', 'PodIdentity'));
  await createClaim(ns, 'irsa', spec('irsa-sa', 'IRSA', { permissions: { s3: [{ bucket: 'company-prod-data', prefix: 'app/', access: ['read'] }], managedPolicyArns: [managedPolicyArn] } }));
  await waitForReady(ns, 'pod');
  await waitForReady(ns, 'irsa');
  const podRole = await roleNameOf(ns, 'pod');
  const irsaRoleArn = (await getClaim(ns, 'irsa'))!.status!.roleArn!;

  // 2. Drift on every property of the Pod Identity role and its association.
  await iam().send(new UpdateAssumeRolePolicyCommand({ RoleName: podRole, PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::999999999999:root' }, Action: 'sts:AssumeRole' }] }) }));
  await iam().send(new UntagRoleCommand({ RoleName: podRole, TagKeys: ['awi.dev/owner'] }));
  await iam().send(new TagRoleCommand({ RoleName: podRole, Tags: [{ Key: 'awi.dev/stale', Value: 'x' }] }));
  await iam().send(new DeleteRolePermissionsBoundaryCommand({ RoleName: podRole }));
  await iam().send(new UpdateRoleCommand({ RoleName: podRole, Description: 'changed by hand' }));
  await iam().send(new PutRolePolicyCommand({ RoleName: podRole, PolicyName: 'awi-permissions', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] }) }));
  await iam().send(new PutRolePolicyCommand({ RoleName: podRole, PolicyName: 'added-by-hand', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:ListBucket', Resource: '*' }] }) }));
  const association = (await awsFake().associations()).find((a) => a.namespace === ns && a.serviceAccount === 'pod-sa')!;
  await eks().send(new UpdatePodIdentityAssociationCommand({ clusterName: tb.clusterName, associationId: association.associationId, roleArn: irsaRoleArn }));
  // Its tags: one changed, one stale added (restored with TagResource, removed with UntagResource).
  await eks().send(new TagResourceCommand({ resourceArn: association.associationArn, tags: { 'awi.dev/owner': 'someone-else', 'awi.dev/stale': 'x' } }));

  env.controller.queue.add(`${ns}/pod`);
  await until('the drift to be corrected', async () => {
    const role = (await iam().send(new GetRoleCommand({ RoleName: podRole }))).Role!;
    const tags = Object.fromEntries((role.Tags ?? []).map((t) => [t.Key, t.Value]));
    const a = (await awsFake().associations()).find((x) => x.associationId === association.associationId);
    return tags['awi.dev/owner'] === 'team-a' && !('awi.dev/stale' in tags) && !!role.PermissionsBoundary && a?.roleArn.endsWith(`/${podRole}`) === true
      && a.tags['awi.dev/owner'] === 'team-a' && !('awi.dev/stale' in a.tags);
  });
  await waitForReady(ns, 'pod');

  // Its ownership tags stripped by hand: the controller puts them back (TagResource with the ownership pair, on an untagged association).
  await eks().send(new UntagResourceCommand({ resourceArn: association.associationArn, tagKeys: ['awi.dev/managed-by', 'awi.dev/cluster'] }));
  env.controller.queue.add(`${ns}/pod`);
  await until('the ownership tags to be restored', async () =>
    (await awsFake().associations()).find((x) => x.associationId === association.associationId)?.tags['awi.dev/managed-by'] === 'awi');
  await waitForReady(ns, 'pod');

  // 3. The managed policy is dropped from the claim.
  await patchSpec(ns, 'irsa', { permissions: { s3: [{ bucket: 'company-prod-data', prefix: 'app/', access: ['read'] }], managedPolicyArns: null } });
  const irsaRole = irsaRoleArn.split('/').pop()!;
  await until('the managed policy to be detached', async () =>
    ((await iam().send(new ListAttachedRolePoliciesCommand({ RoleName: irsaRole }))).AttachedPolicies ?? []).length === 0);
  await waitForReady(ns, 'irsa');

  // 4. Mechanism switches, both ways.
  await patchSpec(ns, 'irsa', { mechanism: 'PodIdentity' });
  await patchSpec(ns, 'pod', { mechanism: 'IRSA' });
  await until('both switches to finish', async () => {
    const associations = (await awsFake().associations()).filter((a) => a.namespace === ns);
    const irsaSa = await core().readNamespacedServiceAccount({ namespace: ns, name: 'irsa-sa' });
    return associations.map((a) => a.serviceAccount).join() === 'irsa-sa' && irsaSa.metadata?.annotations?.['eks.amazonaws.com/role-arn'] === undefined;
  });
  await waitForClaim(ns, 'irsa', (c) => readyCondition(c)?.status === 'True' && c?.status?.mechanism === 'PodIdentity');
  await waitForClaim(ns, 'pod', (c) => readyCondition(c)?.status === 'True' && c?.status?.mechanism === 'IRSA');

  // The inventory, while there are claims of both mechanisms.
  const io = captureIo();
  expect(await runInventory({ config: env.config, aws: true, namespace: ns, output: 'json' }, io, { kubeConfig: kubeConfig() })).toBe(0);
  expect(JSON.parse(io.stdout.join('\n')).claims.every((r: { aws: { ok: boolean } }) => r.aws.ok)).toBe(true);

  // 5. Deletion: Delete (both mechanisms) and Retain.
  await createClaim(ns, 'kept', { ...spec('kept-sa', 'PodIdentity'), deletionPolicy: 'Retain' });
  await waitForReady(ns, 'kept');
  await deleteClaim(ns, 'pod');
  await deleteClaim(ns, 'irsa');
  await deleteClaim(ns, 'kept');
  await env.controller.queue.idle();
}

describe('the controller IAM policy (deploy/aws/controller-policy.json)', () => {
  it('saw the controller work: reads, creates, updates and deletes in IAM and EKS', () => {
    const operations = new Set(recorder.calls.filter((c) => c.origin === 'controller').map((c) => `${c.call.service}:${c.call.operation}`));
    for (const op of ['sts:GetCallerIdentity', 'iam:GetRole', 'iam:CreateRole', 'iam:PutRolePolicy', 'iam:DeleteRole', 'eks:CreatePodIdentityAssociation', 'eks:DeletePodIdentityAssociation']) {
      expect(operations).toContain(op);
    }
  });

  it('the wrapper saw every request the AWS fake received', () => {
    const recorded: Record<string, number> = {};
    for (const c of recorder.calls) {
      const api = `${c.call.service}:${c.call.operation}`;
      recorded[api] = (recorded[api] ?? 0) + 1;
    }
    expect(recorded).toEqual(logCounts);
  });

  it('allows every call the controller made, with the conditions as AWS would evaluate them', () => {
    expect(recorder.calls.flatMap((c) => (c.unmapped ? [c.unmapped] : []))).toEqual([]);
    const denied = recorder.calls
      .filter((c) => c.origin === 'controller')
      .flatMap((c) => c.requests.map((r) => ({ r, d: evaluate(policy, r) })).filter(({ d }) => d.decision !== 'Allow').map(({ r }) => `${c.call.operation}: ${describeRequest(r)}`));
    expect([...new Set(denied)]).toEqual([]);
  });

  it('an evaluator the project did not write agrees on every request the controller made', async () => {
    const requests = recorder.calls.filter((c) => c.origin === 'controller').flatMap((c) => c.requests);
    const unique = [...new Map(requests.map((r) => [JSON.stringify(r), r])).values()];
    const disagreements: string[] = [];
    for (const r of unique) {
      const ours = evaluate(policy, r).decision;
      const theirs = await simulate(policy, r, testbed().accountId);
      if (ours !== theirs.decision) disagreements.push(`${describeRequest(r)}: matcher ${ours}, iam-simulate ${theirs.decision}`);
      if (theirs.ignoredContextKeys.length) disagreements.push(`${describeRequest(r)}: iam-simulate ignored ${theirs.ignoredContextKeys.join(', ')}`);
    }
    expect(disagreements).toEqual([]);
    expect(unique.length).toBeGreaterThan(10);
  });

  it('allows nothing the controller did not use, except the documented unreachable actions', () => {
    const requests = recorder.calls.filter((c) => c.origin === 'controller').flatMap((c) => c.requests);
    const used = new Set(requests.map((r) => r.action));
    const unused = allowedActions(policy).filter((a) => !used.has(a));
    expect(unused).toEqual(Object.keys(UNREACHABLE).sort());

    // Statement by statement too: an Allow no request needed is a permission nobody asked for.
    const usedStatements = new Set(requests.flatMap((r) => evaluate(policy, r).allowedBy));
    const unusedStatements = statements(policy).filter((s) => !usedStatements.has(s.Sid!));
    expect(unusedStatements.map((s) => [s.Action].flat().join())).toEqual(Object.keys(UNREACHABLE));
  });
});

describe('the inventory IAM policy (deploy/aws/inventory-policy.json)', () => {
  const inventoryRequests = () => recorder.calls.filter((c) => c.origin === 'inventory');

  it('allows every call of awi inventory --aws, and nothing it did not use', () => {
    const calls = inventoryRequests();
    expect(new Set(calls.map((c) => `${c.call.service}:${c.call.operation}`))).toEqual(
      new Set([
        'iam:ListRoles', 'iam:ListRoleTags', 'iam:ListRolePolicies', 'iam:GetRolePolicy', 'iam:ListAttachedRolePolicies', 'iam:GetOpenIDConnectProvider',
        'eks:ListPodIdentityAssociations', 'eks:DescribePodIdentityAssociation',
      ]),
    );
    expect(calls.flatMap((c) => (c.unmapped ? [c.unmapped] : []))).toEqual([]);
    const requests = calls.flatMap((c) => c.requests);
    expect(requests.filter((r) => evaluate(inventoryPolicy, r).decision !== 'Allow').map(describeRequest)).toEqual([]);
    const used = new Set(requests.map((r) => r.action));
    expect(allowedActions(inventoryPolicy).filter((a) => !used.has(a))).toEqual([]);
  });
});

describe("the controller role's trust policies (deploy/aws/trust-policy-*.json)", () => {
  const tokenFor = async (sa: string, audience: string) =>
    (await core().createNamespacedServiceAccountToken({ namespace: 'awi-system', name: sa, body: { spec: { audiences: [audience] } } })).status!.token!;

  beforeAll(async () => {
    for (const body of [{ metadata: { name: 'awi-system' } }]) {
      await core().createNamespace({ body }).catch((err: { code?: number }) => { if (err.code !== 409) throw err; });
    }
    for (const name of ['awi-controller', 'not-the-controller']) {
      await core().createNamespacedServiceAccount({ namespace: 'awi-system', body: { metadata: { name } } }).catch((err: { code?: number }) => { if (err.code !== 409) throw err; });
    }
  });

  it('IRSA: the awi-system/awi-controller token gets the role, another ServiceAccount does not', async () => {
    const tb = testbed();
    const trust = renderTemplate('trust-policy-irsa.json', { ACCOUNT_ID: tb.accountId, OIDC_PROVIDER: tb.issuer.replace(/^https:\/\//, '').replace(/\/$/, '') });
    const role = (await iam().send(new CreateRoleCommand({ RoleName: 'awi-controller-irsa', AssumeRolePolicyDocument: JSON.stringify(trust) }))).Role!;
    const sts = new STSClient(awsClientConfig());
    const ok = await sts.send(new AssumeRoleWithWebIdentityCommand({ RoleArn: role.Arn, RoleSessionName: 'awi', WebIdentityToken: await tokenFor('awi-controller', 'sts.amazonaws.com') }));
    expect(ok.Credentials?.AccessKeyId).toBeTruthy();
    await expect(sts.send(new AssumeRoleWithWebIdentityCommand({ RoleArn: role.Arn, RoleSessionName: 'awi', WebIdentityToken: await tokenFor('not-the-controller', 'sts.amazonaws.com') })))
      .rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it('Pod Identity: an association for awi-system/awi-controller on this cluster gets the role, one for another ServiceAccount does not', async () => {
    const tb = testbed();
    const trust = renderTemplate('trust-policy-pod-identity.json', { ACCOUNT_ID: tb.accountId, REGION: tb.region, CLUSTER_NAME: tb.clusterName });
    const role = (await iam().send(new CreateRoleCommand({ RoleName: 'awi-controller-pod-identity', AssumeRolePolicyDocument: JSON.stringify(trust) }))).Role!;
    for (const serviceAccount of ['awi-controller', 'not-the-controller']) {
      await eks().send(new CreatePodIdentityAssociationCommand({ clusterName: tb.clusterName, namespace: 'awi-system', serviceAccount, roleArn: role.Arn }));
    }
    const ok = await assumeRoleForPodIdentity(tb.awsEndpoint, tb.clusterName, await tokenFor('awi-controller', 'pods.eks.amazonaws.com'));
    expect(ok.assumedRoleUser.arn).toContain('awi-controller-pod-identity');
    await expect(assumeRoleForPodIdentity(tb.awsEndpoint, tb.clusterName, await tokenFor('not-the-controller', 'pods.eks.amazonaws.com')))
      .rejects.toMatchObject({ name: 'AccessDeniedException' });
  });
});
