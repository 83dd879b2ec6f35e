// The controller's decision function: desired state + observed state -> steps.
import { RELEASE_LABELS, ROLE_ARN_ANNOTATION, ownerOf } from '../../src/ownership.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import YAML from 'yaml';
import { compileClaim } from '../../src/compiler/compile.js';
import type { DesiredState } from '../../src/compiler/types.js';
import { parsePlatformConfig } from '../../src/config/index.js';
import type { ObservedAssociation } from '../../src/controller/managers/association.js';
import type { ObservedServiceAccount } from '../../src/controller/managers/service-account.js';
import {
  associationDrift, associationUpdate, planReconcile, previousBindingPresent, type Observed,
} from '../../src/controller/plan.js';

const examples = path.join(process.cwd(), 'deploy', 'examples');
const config = parsePlatformConfig(YAML.parse(readFileSync(path.join(examples, 'platform-config.yaml'), 'utf8')));

function desiredFor(file: string, patch: (spec: Record<string, unknown>) => void = () => undefined, alsoTrust?: 'IRSA' | 'PodIdentity'): DesiredState {
  const claim = YAML.parse(readFileSync(path.join(examples, file), 'utf8')) as { metadata: Record<string, unknown>; spec: Record<string, unknown> };
  claim.metadata.uid = '0b6d1c2e-1111-2222-3333-444455556666';
  patch(claim.spec);
  const r = compileClaim(claim, config, alsoTrust ? { alsoTrust } : {});
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.desired;
}

const sa = (d: DesiredState, over: Partial<ObservedServiceAccount> = {}): ObservedServiceAccount => ({
  namespace: d.serviceAccount.namespace, name: d.serviceAccount.name, uid: 'u1', resourceVersion: '7',
  labels: { ...d.serviceAccount.labels }, annotations: d.binding.kind === 'IRSAAnnotation' ? { ...d.binding.annotations } : {}, ...over,
});

const association = (d: DesiredState, over: Partial<ObservedAssociation> = {}): ObservedAssociation => ({
  associationId: 'a-abcdefghijklmnopq', associationArn: `arn:aws:eks:${config.cluster.region}:${config.cluster.accountId}:podidentityassociation/${config.cluster.name}/a-abcdefghijklmnopq`,
  clusterName: config.cluster.name, namespace: d.serviceAccount.namespace, serviceAccount: d.serviceAccount.name, roleArn: d.role.arn, tags: { ...d.role.tags }, disableSessionTags: false, ...over,
});

/** The world exactly as the claim wants it. */
function inSync(d: DesiredState): Observed {
  return {
    serviceAccount: sa(d),
    role: {
      name: d.role.name, path: d.role.path, arn: d.role.arn, trustPolicy: structuredClone(d.role.trustPolicy), tags: { ...d.role.tags },
      ...(d.role.permissionsBoundaryArn ? { permissionsBoundaryArn: d.role.permissionsBoundaryArn } : {}),
      maxSessionDurationSeconds: d.role.maxSessionDurationSeconds, description: d.role.description,
    },
    inlinePolicy: structuredClone(d.permissionPolicy.document),
    inlinePolicyNames: [d.permissionPolicy.name],
    attachedPolicyArns: [...d.managedPolicyArns],
    associations: d.binding.kind === 'PodIdentityAssociation' ? [association(d)] : [],
  };
}

const kinds = (p: { steps: { kind: string }[] }): string[] => p.steps.map((s) => s.kind);
const empty: Observed = { inlinePolicyNames: [], attachedPolicyArns: [], associations: [] };

describe('planReconcile', () => {
  const pod = desiredFor('checkout-api-s3-read.yaml');
  const irsa = desiredFor('billing-worker-sqs.yaml');

  it('creates the ServiceAccount first, then role, policy and association (Pod Identity)', () => {
    expect(kinds(planReconcile(pod, empty))).toEqual(['CreateServiceAccount', 'CreateRole', 'PutInlinePolicy', 'CreateAssociation']);
  });

  it('creates the IRSA ServiceAccount with its annotation in the same write, and no association', () => {
    const plan = planReconcile(irsa, empty);
    expect(kinds(plan)).toEqual(['CreateServiceAccount', 'CreateRole', 'PutInlinePolicy']);
    expect(plan.steps[0]).toEqual({ kind: 'CreateServiceAccount', annotations: { [ROLE_ARN_ANNOTATION]: irsa.role.arn } });
    expect(planReconcile(pod, empty).steps[0]).toEqual({ kind: 'CreateServiceAccount', annotations: {} });
  });

  it('plans nothing when the world matches the claim', () => {
    expect(planReconcile(pod, inSync(pod))).toEqual({ steps: [], blockers: [] });
    expect(planReconcile(irsa, inSync(irsa))).toEqual({ steps: [], blockers: [] });
  });

  it('compares policies by meaning: reordered, scalar-vs-list and URL-encoded forms are equal', () => {
    const o = inSync(pod);
    const st = o.inlinePolicy!.Statement.map((s) => ({ ...s, Action: Array.isArray(s.Action) && s.Action.length === 1 ? s.Action[0]! : s.Action })).reverse();
    o.inlinePolicy = { Version: '2012-10-17', Statement: st };
    o.role!.trustPolicy = JSON.parse(JSON.stringify(pod.role.trustPolicy));
    expect(planReconcile(pod, o).steps).toEqual([]);
  });

  it('restores drift on each managed kind', () => {
    const o = inSync(pod);
    o.role!.trustPolicy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::999999999999:root' }, Action: 'sts:AssumeRole' }] };
    delete o.role!.tags['awi.dev/owner'];
    o.role!.tags['awi.dev/stale'] = 'x';
    o.role!.tags['team-cost-center'] = 'kept';
    o.inlinePolicy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] };
    o.inlinePolicyNames.push('added-by-hand');
    o.attachedPolicyArns.push('arn:aws:iam::aws:policy/AdministratorAccess');
    o.associations = [association(pod, { roleArn: 'arn:aws:iam::111122223333:role/other' })];
    const plan = planReconcile(pod, o);
    expect(plan.blockers).toEqual([]);
    expect(plan.steps).toEqual([
      { kind: 'UpdateTrustPolicy' },
      { kind: 'TagRole', tags: { 'awi.dev/owner': 'checkout-team' } },
      { kind: 'UntagRole', keys: ['awi.dev/stale'] },
      { kind: 'PutInlinePolicy' },
      { kind: 'DeleteInlinePolicy', name: 'added-by-hand' },
      { kind: 'DetachPolicy', arn: 'arn:aws:iam::aws:policy/AdministratorAccess' },
      { kind: 'UpdateAssociation', associationId: 'a-abcdefghijklmnopq', drift: [{ field: 'roleArn', was: 'arn:aws:iam::111122223333:role/other', want: pod.role.arn }] },
    ]);
  });

  it('keeps no inline policy when the claim has only managed policies (IAM refuses an empty one)', () => {
    const managedOnly: DesiredState = { ...pod, permissionPolicy: { ...pod.permissionPolicy, document: { Version: '2012-10-17', Statement: [] } } };
    expect(kinds(planReconcile(managedOnly, empty))).toEqual(['CreateServiceAccount', 'CreateRole', 'CreateAssociation']);
    expect(planReconcile(managedOnly, inSync(pod)).steps).toEqual([{ kind: 'DeleteInlinePolicy', name: pod.permissionPolicy.name }]);
  });

  it('restores a stripped IRSA annotation and a deleted association', () => {
    const o = inSync(irsa);
    o.serviceAccount!.annotations = {};
    expect(kinds(planReconcile(irsa, o))).toEqual(['PatchServiceAccount']);
    const p = inSync(pod);
    p.associations = [];
    expect(kinds(planReconcile(pod, p))).toEqual(['CreateAssociation']);
  });

  it('never touches a role without its ownership tags', () => {
    const o = inSync(pod);
    o.role!.tags = { team: 'someone-else' };
    const plan = planReconcile(pod, o);
    expect(plan.steps).toEqual([]);
    expect(plan.blockers).toEqual([expect.objectContaining({ resource: 'Role', reason: 'RoleNotOwned' })]);
  });

  it('never touches a role owned by another claim, and says which', () => {
    const o = inSync(pod);
    o.role!.tags = { ...o.role!.tags, 'awi.dev/claim': 'someone-else' };
    const plan = planReconcile(pod, o);
    expect(plan.steps).toEqual([]);
    expect(plan.blockers[0]?.message).toContain('checkout-prod/someone-else');
    o.role!.tags['awi.dev/released'] = 'true';
    expect(planReconcile(pod, o).blockers[0]?.message).toMatch(/was retained when awi claim checkout-prod\/someone-else .* was deleted \(deletionPolicy Retain\)/);
  });

  it('refuses a ServiceAccount that awi did not create, before any AWS step', () => {
    const plan = planReconcile(pod, { ...empty, serviceAccount: sa(pod, { labels: {} }) });
    expect(plan.steps).toEqual([]);
    expect(plan.blockers).toEqual([expect.objectContaining({ resource: 'ServiceAccount', reason: 'ServiceAccountNotOwned' })]);
    expect(plan.blockers[0]?.message).toContain('without the label app.kubernetes.io/managed-by=awi');
  });

  it('names the managing tool when another one manages the ServiceAccount', () => {
    const helm = sa(pod, { labels: { ...pod.serviceAccount.labels, 'app.kubernetes.io/managed-by': 'Helm' } });
    const plan = planReconcile(pod, { ...empty, serviceAccount: helm });
    expect(plan.steps).toEqual([]);
    expect(plan.blockers[0]).toMatchObject({ reason: 'ServiceAccountNotOwned' });
    expect(plan.blockers[0]?.message).toContain('is managed by Helm (label app.kubernetes.io/managed-by=Helm), not awi');
  });

  it('takes over a ServiceAccount awi released (managed-by=awi, no claim label) and restores a removed claim label, naming it', () => {
    const released = sa(pod, { labels: { 'app.kubernetes.io/managed-by': 'awi' } });
    expect(ownerOf(released)).toEqual({ kind: 'released' });
    const plan = planReconcile(pod, { ...inSync(pod), serviceAccount: released });
    expect(plan.blockers).toEqual([]);
    expect(plan.steps).toEqual([expect.objectContaining({
      kind: 'PatchServiceAccount', labels: { 'awi.dev/claim': pod.claim.name, 'awi.dev/claim-namespace': pod.claim.namespace }, why: 'take over the ServiceAccount awi released: set awi.dev/claim, awi.dev/claim-namespace',
    })]);
    // Only the claim-namespace label removed: ours still, and the restore names the label.
    const { ['awi.dev/claim-namespace']: _gone, ...rest } = pod.serviceAccount.labels;
    const partial = planReconcile(pod, { ...inSync(pod), serviceAccount: sa(pod, { labels: rest }) });
    expect(partial.steps).toEqual([expect.objectContaining({ kind: 'PatchServiceAccount', why: 'restore labels awi.dev/claim-namespace' })]);
    expect(RELEASE_LABELS).toEqual({ 'awi.dev/claim': null, 'awi.dev/claim-namespace': null });
  });

  it('takes over a ServiceAccount whose labels name a claim that no longer exists', () => {
    const left = sa(pod, { labels: { ...pod.serviceAccount.labels, 'awi.dev/claim': 'deleted-claim' } });
    expect(planReconcile(pod, { ...empty, serviceAccount: left }).blockers[0]).toMatchObject({ reason: 'ServiceAccountConflict' });
    const plan = planReconcile(pod, { ...inSync(pod), serviceAccount: left, serviceAccountHolderGone: true });
    expect(plan.blockers).toEqual([]);
    expect(plan.steps).toEqual([expect.objectContaining({
      kind: 'PatchServiceAccount', labels: { 'awi.dev/claim': pod.claim.name }, why: 'take over the ServiceAccount of deleted claim checkout-prod/deleted-claim: set awi.dev/claim',
    })]);
  });

  it('refuses a second claim for the same ServiceAccount', () => {
    const other = sa(pod, { labels: { ...pod.serviceAccount.labels, 'awi.dev/claim': 'first-claim' } });
    const plan = planReconcile(pod, { ...empty, serviceAccount: other });
    expect(plan.steps).toEqual([]);
    expect(plan.blockers[0]).toMatchObject({ reason: 'ServiceAccountConflict' });
    expect(plan.blockers[0]?.message).toContain('checkout-prod/first-claim');
  });

  it('reports an association it did not create as a conflict and leaves it alone', () => {
    const o = inSync(pod);
    o.associations = [association(pod, { tags: {}, roleArn: 'arn:aws:iam::111122223333:role/theirs' })];
    const plan = planReconcile(pod, o);
    expect(plan.steps).toEqual([]);
    expect(plan.blockers).toEqual([expect.objectContaining({ resource: 'Binding', reason: 'AssociationConflict' })]);
  });

  it('makes no AWS step at all while a foreign association blocks the binding (no role or policy that no pod could use)', () => {
    const foreign = association(pod, { tags: {}, roleArn: 'arn:aws:iam::111122223333:role/theirs' });
    const fresh = planReconcile(pod, { ...empty, associations: [foreign] });
    expect(fresh.steps).toEqual([{ kind: 'CreateServiceAccount', annotations: {} }]);
    expect(fresh.blockers).toEqual([expect.objectContaining({ resource: 'Binding', reason: 'AssociationConflict' })]);
    const drifted = inSync(pod);
    drifted.inlinePolicy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] };
    drifted.associations = [foreign];
    expect(planReconcile(pod, drifted).steps).toEqual([]);
  });

  describe('the whole association', () => {
    const b = pod.binding.kind === 'PodIdentityAssociation' ? pod.binding : undefined!;
    const broader = 'arn:aws:iam::111122223333:role/broader';
    const sessionPolicy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] });

    it('restores targetRoleArn, disableSessionTags and a session policy set behind its back, naming each field', () => {
      const o = inSync(pod);
      o.associations = [association(pod, { targetRoleArn: broader, externalId: 'x', disableSessionTags: true, policy: sessionPolicy })];
      const plan = planReconcile(pod, o);
      expect(plan.steps).toEqual([{
        kind: 'UpdateAssociation', associationId: 'a-abcdefghijklmnopq',
        drift: [
          { field: 'targetRoleArn', was: broader, want: undefined },
          { field: 'disableSessionTags', was: true, want: false },
          { field: 'policy', was: sessionPolicy, want: undefined },
        ],
      }]);
      // EKS clears a field given as an empty string; fields not drifted are not sent.
      const update = associationUpdate((plan.steps[0] as { drift: Parameters<typeof associationUpdate>[0] }).drift);
      expect(update).toEqual({ targetRoleArn: '', disableSessionTags: false, policy: '' });
    });

    it('each field on its own', () => {
      expect(associationDrift(association(pod, { disableSessionTags: true }), b)).toEqual([{ field: 'disableSessionTags', was: true, want: false }]);
      expect(associationDrift(association(pod, { targetRoleArn: broader }), b).map((d) => d.field)).toEqual(['targetRoleArn']);
      expect(associationDrift(association(pod, { roleArn: broader }), b)).toEqual([{ field: 'roleArn', was: broader, want: b.roleArn }]);
      expect(associationDrift(association(pod), b)).toEqual([]);
      expect(associationUpdate([{ field: 'roleArn', was: broader, want: b.roleArn }])).toEqual({ roleArn: b.roleArn });
    });

    it('follows the binding where it asks for a target role, session tags off or a session policy; policies compare by meaning', () => {
      const want = { ...b, targetRoleArn: broader, disableSessionTags: true, policy: sessionPolicy };
      const reformatted = JSON.stringify(JSON.parse(sessionPolicy), null, 2);
      expect(associationDrift(association(pod, { targetRoleArn: broader, disableSessionTags: true, policy: reformatted }), want)).toEqual([]);
      expect(associationDrift(association(pod), want)).toEqual([
        { field: 'targetRoleArn', was: undefined, want: broader },
        { field: 'disableSessionTags', was: false, want: true },
        { field: 'policy', was: undefined, want: sessionPolicy },
      ]);
      expect(associationUpdate(associationDrift(association(pod), want))).toEqual({ targetRoleArn: broader, disableSessionTags: true, policy: sessionPolicy });
    });
  });

  describe('mechanism switch', () => {
    const toPod = desiredFor('billing-worker-sqs.yaml', (s) => (s.mechanism = 'PodIdentity'), 'IRSA');
    const wasIrsa = desiredFor('billing-worker-sqs.yaml');

    it('keeps the IRSA annotation and trusts both while the association is created', () => {
      const o = inSync(wasIrsa);
      expect(previousBindingPresent(toPod, o)).toBe(true);
      const statements = toPod.role.trustPolicy.Statement.map((s) => s.Action);
      expect(statements.flat()).toEqual(expect.arrayContaining(['sts:AssumeRoleWithWebIdentity', 'sts:AssumeRole']));
      const plan = planReconcile(toPod, o);
      expect(kinds(plan)).toEqual(['UpdateTrustPolicy', 'CreateAssociation']);
    });

    it('retires the annotation only once the association is in place and nothing else is pending', () => {
      const o = inSync(toPod);
      o.serviceAccount!.annotations = { [ROLE_ARN_ANNOTATION]: toPod.role.arn };
      const plan = planReconcile(toPod, o);
      expect(plan.steps).toEqual([expect.objectContaining({ kind: 'PatchServiceAccount', annotations: { [ROLE_ARN_ANNOTATION]: null } })]);
    });

    it('switching to IRSA deletes our association only after the annotation is set', () => {
      const toIrsa = desiredFor('checkout-api-s3-read.yaml', (s) => (s.mechanism = 'IRSA'), 'PodIdentity');
      const o = inSync(desiredFor('checkout-api-s3-read.yaml'));
      expect(kinds(planReconcile(toIrsa, o))).toEqual(['UpdateTrustPolicy', 'PatchServiceAccount']);
      const after = inSync(toIrsa);
      after.associations = [association(toIrsa)];
      expect(planReconcile(toIrsa, after).steps).toEqual([expect.objectContaining({ kind: 'DeleteAssociation' })]);
    });
  });
});
