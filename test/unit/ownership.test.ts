// The ownership vocabulary: who the marks on a role, an association or a
// ServiceAccount say owns it, and whether a given claim does. Written with
// literal tag and label keys, so that renaming one in src/ownership.ts (which
// would orphan every resource awi already tagged) fails here.
import { describe, expect, it } from '@jest/globals';
import { GROUP as SCHEMA_GROUP, PLURAL as SCHEMA_PLURAL } from '../../src/api/schema.js';
import { LABEL as COMPILER_LABEL, roleTags, serviceAccountLabels, TAG as COMPILER_TAG } from '../../src/compiler/tags.js';
import { GROUP as CLIENT_GROUP, PLURAL as CLIENT_PLURAL } from '../../src/kube/claims.js';
import {
  GROUP, isOwnedBy, LABEL, namesClaim, ownerOf, PLURAL, RELEASE_LABELS, ROLE_ARN_ANNOTATION, TAG,
  type ClaimOwner, type LabelledServiceAccount, type ServiceAccountOwner, type TagOwner,
} from '../../src/ownership.js';

const CLUSTER = 'arn:aws:eks:eu-west-1:111122223333:cluster/prod-a';
const OTHER_CLUSTER = 'arn:aws:eks:eu-west-1:444455556666:cluster/prod-a'; // same name, another account
const API: ClaimOwner = { cluster: CLUSTER, namespace: 'checkout', claim: 'api' };

const ledger = (over: Record<string, string | undefined> = {}): Record<string, string> => {
  const tags: Record<string, string | undefined> = {
    'awi.dev/managed-by': 'awi', 'awi.dev/cluster': CLUSTER, 'awi.dev/namespace': 'checkout', 'awi.dev/claim': 'api',
    'awi.dev/owner': 'checkout-team', 'cost-center': 'cc-1', ...over,
  };
  return Object.fromEntries(Object.entries(tags).filter((e): e is [string, string] => e[1] !== undefined));
};

describe('ownerOf(tags): who an AWS resource belongs to', () => {
  const cases: Array<[string, Record<string, string>, TagOwner]> = [
    ['the full ledger', ledger(), { kind: 'claim', ...API }],
    ['released by a Retain deletion (still names its claim)', ledger({ 'awi.dev/released': 'true' }), { kind: 'released', ...API }],
    ['a released tag that is not "true" is no release', ledger({ 'awi.dev/released': 'false' }), { kind: 'claim', ...API }],
    ['another cluster\'s ARN', ledger({ 'awi.dev/cluster': OTHER_CLUSTER }), { kind: 'claim', ...API, cluster: OTHER_CLUSTER }],
    ['awi\'s mark with the claim tags stripped', ledger({ 'awi.dev/namespace': undefined, 'awi.dev/claim': undefined, 'awi.dev/cluster': undefined }), { kind: 'claim', cluster: '', namespace: '', claim: '' }],
    ['managed by another tool', ledger({ 'awi.dev/managed-by': 'platform' }), { kind: 'foreign', managedBy: 'platform' }],
    ['managed-by differing only in case', ledger({ 'awi.dev/managed-by': 'AWI' }), { kind: 'foreign', managedBy: 'AWI' }],
    ['no managed-by tag, however many claim tags', ledger({ 'awi.dev/managed-by': undefined }), { kind: 'foreign' }],
    ['no tags', {}, { kind: 'foreign' }],
    ['the Kubernetes label key used as a tag', { 'app.kubernetes.io/managed-by': 'awi', 'awi.dev/claim': 'api' }, { kind: 'foreign' }],
    ['a tag named "labels" is still a tag', { labels: 'x', 'awi.dev/managed-by': 'awi' }, { kind: 'claim', cluster: '', namespace: '', claim: '' }],
  ];
  it.each(cases)('%s', (_name, tags, owner) => {
    expect(ownerOf(tags)).toEqual(owner);
  });
});

describe('ownerOf(ServiceAccount): who holds it', () => {
  const sa = (labels: Record<string, string>, namespace = 'checkout'): LabelledServiceAccount => ({ namespace, labels });
  const cases: Array<[string, LabelledServiceAccount, ServiceAccountOwner]> = [
    ['both labels', sa({ 'app.kubernetes.io/managed-by': 'awi', 'awi.dev/claim': 'api', 'awi.dev/claim-namespace': 'checkout' }), { kind: 'claim', namespace: 'checkout', claim: 'api' }],
    ['no claim-namespace label: the ServiceAccount\'s namespace', sa({ 'app.kubernetes.io/managed-by': 'awi', 'awi.dev/claim': 'api' }, 'payments'), { kind: 'claim', namespace: 'payments', claim: 'api' }],
    ['a claim-namespace label naming another namespace', sa({ 'app.kubernetes.io/managed-by': 'awi', 'awi.dev/claim': 'api', 'awi.dev/claim-namespace': 'other' }), { kind: 'claim', namespace: 'other', claim: 'api' }],
    ['released: awi\'s label without a claim', sa({ 'app.kubernetes.io/managed-by': 'awi' }), { kind: 'released' }],
    ['released: an empty claim label', sa({ 'app.kubernetes.io/managed-by': 'awi', 'awi.dev/claim': '' }), { kind: 'released' }],
    ['managed by Helm', sa({ 'app.kubernetes.io/managed-by': 'Helm', 'awi.dev/claim': 'api' }), { kind: 'foreign', managedBy: 'Helm' }],
    ['claim labels without managed-by', sa({ 'awi.dev/claim': 'api', 'awi.dev/claim-namespace': 'checkout' }), { kind: 'foreign' }],
    ['the AWS tag key used as a label', sa({ 'awi.dev/managed-by': 'awi', 'awi.dev/claim': 'api' }), { kind: 'foreign' }],
    ['no labels', sa({}), { kind: 'foreign' }],
  ];
  it.each(cases)('%s', (_name, serviceAccount, owner) => {
    expect(ownerOf(serviceAccount)).toEqual(owner);
  });
});

describe('isOwnedBy', () => {
  it('tags: the claim on this cluster owns its resource, released or not; nothing else does', () => {
    expect(isOwnedBy(ledger(), API)).toBe(true);
    // The same claim, created again, takes back what it retained.
    expect(isOwnedBy(ledger({ 'awi.dev/released': 'true' }), API)).toBe(true);
    expect(isOwnedBy(ledger({ 'awi.dev/cluster': OTHER_CLUSTER }), API)).toBe(false);
    expect(isOwnedBy(ledger(), { ...API, cluster: OTHER_CLUSTER })).toBe(false);
    expect(isOwnedBy(ledger(), { ...API, namespace: 'payments' })).toBe(false);
    expect(isOwnedBy(ledger(), { ...API, claim: 'worker' })).toBe(false);
    expect(isOwnedBy(ledger({ 'awi.dev/managed-by': 'platform' }), API)).toBe(false);
    expect(isOwnedBy(ledger({ 'awi.dev/cluster': undefined }), API)).toBe(false);
    // Stripped tags name nobody, not a claim with empty names.
    expect(isOwnedBy(ledger({ 'awi.dev/managed-by': undefined }), { cluster: '', namespace: '', claim: '' })).toBe(false);
  });

  it('tags without a cluster to compare are nobody\'s (a caller cannot forget the cluster by accident)', () => {
    expect(isOwnedBy(ledger(), { namespace: 'checkout', claim: 'api' } as ClaimOwner)).toBe(false);
  });

  it('ServiceAccount: only the claim its labels bind; released and foreign ones are nobody\'s', () => {
    const bound = { namespace: 'checkout', labels: { 'app.kubernetes.io/managed-by': 'awi', 'awi.dev/claim': 'api' } };
    expect(isOwnedBy(bound, { namespace: 'checkout', claim: 'api' })).toBe(true);
    expect(isOwnedBy(bound, { namespace: 'checkout', claim: 'worker' })).toBe(false);
    expect(isOwnedBy(bound, { namespace: 'payments', claim: 'api' })).toBe(false);
    expect(isOwnedBy({ namespace: 'checkout', labels: { 'app.kubernetes.io/managed-by': 'awi' } }, { namespace: 'checkout', claim: 'api' })).toBe(false);
    expect(isOwnedBy({ namespace: 'checkout', labels: { 'app.kubernetes.io/managed-by': 'Helm', 'awi.dev/claim': 'api' } }, { namespace: 'checkout', claim: 'api' })).toBe(false);
  });

  it('namesClaim ignores the cluster (for reports only), not the managed-by mark', () => {
    expect(namesClaim(ledger({ 'awi.dev/cluster': OTHER_CLUSTER }), { namespace: 'checkout', claim: 'api' })).toBe(true);
    expect(namesClaim(ledger({ 'awi.dev/managed-by': 'platform' }), { namespace: 'checkout', claim: 'api' })).toBe(false);
  });
});

describe('the marks awi writes are the ones it reads', () => {
  it('the compiler\'s ledger and labels read back as the claim\'s', () => {
    const tags = roleTags({ cluster: CLUSTER, namespace: 'checkout', claim: 'api', owner: 'checkout-team', environment: 'prod', defaults: { 'cost-center': 'cc-1' } });
    expect(ownerOf(tags)).toEqual({ kind: 'claim', ...API });
    expect(isOwnedBy({ namespace: 'checkout', labels: serviceAccountLabels('checkout', 'api') }, { namespace: 'checkout', claim: 'api' })).toBe(true);
  });

  it('releasing a ServiceAccount leaves it awi\'s but nobody\'s', () => {
    const labels = { ...serviceAccountLabels('checkout', 'api') };
    for (const k of Object.keys(RELEASE_LABELS)) delete labels[k];
    expect(ownerOf({ namespace: 'checkout', labels })).toEqual({ kind: 'released' });
  });

  it('one definition: the compiler, the claim client and the schema use the vocabulary\'s names', () => {
    expect(COMPILER_TAG).toBe(TAG);
    expect(COMPILER_LABEL).toBe(LABEL);
    expect([CLIENT_GROUP, CLIENT_PLURAL, SCHEMA_GROUP, SCHEMA_PLURAL]).toEqual([GROUP, PLURAL, GROUP, PLURAL]);
    expect([GROUP, PLURAL, ROLE_ARN_ANNOTATION]).toEqual(['awi.dev', 'awsworkloadidentityclaims', 'eks.amazonaws.com/role-arn']);
  });
});
