// The association's tags in the plan (issue 8): changed or missing tags the
// binding asks for are restored, stale awi.dev/ tags removed, anyone else's
// tags left alone; an association whose ownership tags were stripped by hand
// is recognised as the claim's own by what it does (it points at the claim's
// own role) and gets its tags back, while any other association stays
// foreign (AssociationConflict).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import YAML from 'yaml';
import { compileClaim } from '../../src/compiler/compile.js';
import { TAG } from '../../src/compiler/tags.js';
import type { DesiredState, PodIdentityBinding } from '../../src/compiler/types.js';
import { parsePlatformConfig } from '../../src/config/index.js';
import type { ObservedAssociation } from '../../src/controller/managers/association.js';
import { associationTagDrift, claimAssociations, planReconcile, type Observed } from '../../src/controller/plan.js';

const examples = path.join(process.cwd(), 'deploy', 'examples');
const config = parsePlatformConfig(YAML.parse(readFileSync(path.join(examples, 'platform-config.yaml'), 'utf8')));

function desiredFor(file: string): DesiredState {
  const claim = YAML.parse(readFileSync(path.join(examples, file), 'utf8')) as { metadata: Record<string, unknown>; spec: Record<string, unknown> };
  claim.metadata.uid = '0b6d1c2e-1111-2222-3333-444455556666';
  const r = compileClaim(claim, config);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.desired;
}

const pod = desiredFor('checkout-api-s3-read.yaml');
const irsa = desiredFor('billing-worker-sqs.yaml');
const binding = pod.binding as PodIdentityBinding;
const ID = 'a-abcdefghijklmnopq';
const ARN = `arn:aws:eks:${config.cluster.region}:${config.cluster.accountId}:podidentityassociation/${config.cluster.name}/${ID}`;
const OTHER_ROLE = `arn:aws:iam::${config.cluster.accountId}:role/theirs`;

const association = (d: DesiredState, over: Partial<ObservedAssociation> = {}): ObservedAssociation => ({
  associationId: ID, associationArn: ARN, clusterName: config.cluster.name, namespace: d.serviceAccount.namespace,
  serviceAccount: d.serviceAccount.name, roleArn: d.role.arn, tags: { ...d.role.tags }, disableSessionTags: false, ...over,
});

/** The world exactly as the claim wants it, but for the association's tags. */
function withAssociationTags(d: DesiredState, tags: Record<string, string>, over: Partial<ObservedAssociation> = {}): Observed {
  return {
    serviceAccount: { namespace: d.serviceAccount.namespace, name: d.serviceAccount.name, uid: 'u1', resourceVersion: '7', labels: { ...d.serviceAccount.labels }, annotations: {} },
    role: {
      name: d.role.name, path: d.role.path, arn: d.role.arn, trustPolicy: structuredClone(d.role.trustPolicy), tags: { ...d.role.tags },
      ...(d.role.permissionsBoundaryArn ? { permissionsBoundaryArn: d.role.permissionsBoundaryArn } : {}),
      maxSessionDurationSeconds: d.role.maxSessionDurationSeconds, description: d.role.description,
    },
    inlinePolicy: structuredClone(d.permissionPolicy.document),
    inlinePolicyNames: [d.permissionPolicy.name],
    attachedPolicyArns: [...d.managedPolicyArns],
    associations: [association(d, { tags, ...over })],
  };
}

const without = (tags: Record<string, string>, ...keys: string[]) => Object.fromEntries(Object.entries(tags).filter(([k]) => !keys.includes(k)));
const ownershipPair = { [TAG.managedBy]: binding.tags[TAG.managedBy]!, [TAG.cluster]: binding.tags[TAG.cluster]! };

describe('association tags', () => {
  it('the example binding carries the ledger and the config default tag (the premise of the tests below)', () => {
    expect(binding.tags).toMatchObject({ [TAG.managedBy]: 'awi', [TAG.owner]: expect.any(String), platform: 'awi' });
  });

  it('in sync: no step', () => {
    expect(planReconcile(pod, withAssociationTags(pod, { ...binding.tags })).steps).toEqual([]);
  });

  it('a changed and a removed tag are restored in one TagResource that also carries the ownership pair, naming what changed', () => {
    const tags = { ...without(binding.tags, TAG.environment), [TAG.owner]: 'someone-else' };
    const plan = planReconcile(pod, withAssociationTags(pod, tags));
    expect(plan.blockers).toEqual([]);
    expect(plan.steps).toEqual([{
      kind: 'TagAssociation', associationId: ID, associationArn: ARN,
      tags: { ...ownershipPair, [TAG.owner]: binding.tags[TAG.owner]!, [TAG.environment]: binding.tags[TAG.environment]! },
      drift: expect.arrayContaining([
        { key: TAG.owner, was: 'someone-else', want: binding.tags[TAG.owner] },
        { key: TAG.environment, was: undefined, want: binding.tags[TAG.environment] },
      ]) as never,
    }]);
  });

  it('a config default tag outside awi.dev/ is awi\'s too: restored', () => {
    const plan = planReconcile(pod, withAssociationTags(pod, { ...binding.tags, platform: 'edited' }));
    expect(plan.steps).toEqual([expect.objectContaining({ kind: 'TagAssociation', drift: [{ key: 'platform', was: 'edited', want: 'awi' }] })]);
  });

  it('stale awi.dev/ tags are removed; tags outside awi.dev/ that awi does not set are never touched', () => {
    const plan = planReconcile(pod, withAssociationTags(pod, { ...binding.tags, 'awi.dev/stale': 'x', 'awi.dev/released': 'true', 'cost-center': '42', Team: 'platform' }));
    expect(plan.steps).toEqual([{ kind: 'UntagAssociation', associationId: ID, associationArn: ARN, keys: ['awi.dev/released', 'awi.dev/stale'] }]);
    expect(associationTagDrift(association(pod, { tags: { ...binding.tags, 'cost-center': '42' } }), binding)).toEqual({ set: [], remove: [] });
  });

  it('tags come before an update of the association (IAM lets the controller update only what carries its ownership tags)', () => {
    const plan = planReconcile(pod, withAssociationTags(pod, without(binding.tags, TAG.owner), { disableSessionTags: true }));
    expect(plan.steps.map((s) => s.kind)).toEqual(['TagAssociation', 'UpdateAssociation']);
  });
});

describe('ownership of an association whose ownership tags were removed by hand', () => {
  it('all tags stripped, pointing at the claim\'s own role: the claim\'s, tags restored (no AssociationConflict)', () => {
    const observed = withAssociationTags(pod, {});
    expect(claimAssociations(pod, observed).ours.map((a) => a.associationId)).toEqual([ID]);
    const plan = planReconcile(pod, observed);
    expect(plan.blockers).toEqual([]);
    expect(plan.steps).toEqual([expect.objectContaining({ kind: 'TagAssociation', tags: { ...binding.tags } })]);
  });

  it('only the managed-by tag stripped: the claim\'s; the request carries both ownership tags', () => {
    const plan = planReconcile(pod, withAssociationTags(pod, without(binding.tags, TAG.managedBy)));
    expect(plan.blockers).toEqual([]);
    expect(plan.steps).toEqual([expect.objectContaining({ kind: 'TagAssociation', tags: ownershipPair, drift: [{ key: TAG.managedBy, was: undefined, want: 'awi' }] })]);
  });

  it('stripped and pointing at another role: foreign, AssociationConflict, no step', () => {
    const plan = planReconcile(pod, withAssociationTags(pod, {}, { roleArn: OTHER_ROLE }));
    expect(plan.steps).toEqual([]);
    expect(plan.blockers).toEqual([expect.objectContaining({ resource: 'Binding', reason: 'AssociationConflict' })]);
  });

  it('pointing at the claim\'s role but with an ownership tag naming another owner: foreign', () => {
    const cases: Record<string, string>[] = [
      { [TAG.managedBy]: 'platform' },
      { [TAG.cluster]: 'arn:aws:eks:us-east-1:111122223333:cluster/other' },
      { ...without(binding.tags, TAG.managedBy), [TAG.claim]: 'another-claim' },
      { [TAG.namespace]: 'other-team' },
    ];
    for (const tags of cases) {
      const plan = planReconcile(pod, withAssociationTags(pod, tags));
      expect({ tags, blockers: plan.blockers.map((b) => b.reason) }).toEqual({ tags, blockers: ['AssociationConflict'] });
      expect(plan.steps).toEqual([]);
    }
  });

  it('pointing at the claim\'s role ARN while that role is missing or not the claim\'s: foreign', () => {
    const noRole = withAssociationTags(pod, {});
    delete noRole.role;
    expect(planReconcile(pod, noRole).blockers.map((b) => b.reason)).toEqual(['AssociationConflict']);
    const notOurs = withAssociationTags(pod, {});
    notOurs.role = { ...notOurs.role!, tags: { [TAG.managedBy]: 'awi', [TAG.cluster]: binding.tags[TAG.cluster]!, [TAG.namespace]: 'other', [TAG.claim]: 'other' } };
    expect(planReconcile(pod, notOurs).blockers.map((b) => b.reason)).toEqual(['AssociationConflict']);
  });

  it('an IRSA claim does not adopt a stripped association (it retires only what its tags mark as its own)', () => {
    const o = withAssociationTags(pod, {});
    expect(claimAssociations(irsa, { associations: o.associations, role: o.role }).ours).toEqual([]);
  });
});
