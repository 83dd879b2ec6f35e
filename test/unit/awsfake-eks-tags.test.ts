// The AWS fake's EKS tagging API (testbed/awsfake/eks.ts) against the EKS API
// reference: TagResource (POST /tags/{resourceArn}, body {"tags": {...}}:
// adds or overwrites the keys given, leaves the others), UntagResource
// (DELETE /tags/{resourceArn}?tagKeys=k1&tagKeys=k2: 1 to 50 keys),
// ListTagsForResource (GET /tags/{resourceArn}); errors BadRequestException
// (400) and NotFoundException (404) — not the ResourceNotFoundException of the
// association APIs; at most 50 tags per resource, keys 1-128 and values up to
// 256 characters, the aws: prefix reserved. Through the real SDK v3 client as
// well, so the ARN's URI encoding in the path and the repeated tagKeys query
// parameter are the SDK's own.
import { Readable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { DescribeClusterCommand, DescribePodIdentityAssociationCommand, EKSClient, ListTagsForResourceCommand, TagResourceCommand, UntagResourceCommand } from '@aws-sdk/client-eks';
import { EKS_TAGS_PER_RESOURCE_MAX, type EksService } from '../../testbed/awsfake/eks.js';
import { AwsError, jsonError } from '../../testbed/awsfake/protocol.js';
import { awsFailure as failure, eksCall as call, eksService, type Json } from '../harness/awsfake-memory.js';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const CLUSTER = 'demo';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/awi/app`;
const CLUSTER_ARN = `arn:aws:eks:${REGION}:${ACCOUNT}:cluster/${CLUSTER}`;

const service = (): EksService => eksService({ name: CLUSTER, accountId: ACCOUNT, region: REGION, issuer: 'https://issuer.example' });

const tagsPath = (arn: string) => `/tags/${encodeURIComponent(arn)}`;
const create = (eks: EksService, tags: Record<string, string> = {}, serviceAccount = 'sa'): Json =>
  call(eks, 'POST', `/clusters/${CLUSTER}/pod-identity-associations`, { namespace: 'ns', serviceAccount, roleArn: ROLE, tags }).association;
const tag = (eks: EksService, arn: string, tags: unknown) => call(eks, 'POST', tagsPath(arn), { tags });
const untag = (eks: EksService, arn: string, keys: string[]) => call(eks, 'DELETE', tagsPath(arn), undefined, new URLSearchParams(keys.map((k): [string, string] => ['tagKeys', k])));
const listTags = (eks: EksService, arn: string): Record<string, string> => call(eks, 'GET', tagsPath(arn)).tags;
const describeAssoc = (eks: EksService, id: string): Json => call(eks, 'GET', `/clusters/${CLUSTER}/pod-identity-associations/${id}`).association;

/** The real EKS client, its HTTP requests answered in process by the fake. */
function sdk(eks: EksService): EKSClient {
  return new EKSClient({
    region: REGION,
    endpoint: 'http://eks.fake.invalid',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    maxAttempts: 1,
    requestHandler: {
      handle: async (request: { method: string; path: string; query?: Record<string, string | string[] | null>; body?: unknown }) => {
        const query = new URLSearchParams();
        for (const [k, v] of Object.entries(request.query ?? {})) for (const x of [v ?? ''].flat()) query.append(k, x);
        // Copied byte by byte: the SDK's body adapter warns when used as a string.
        const body = typeof request.body === 'string' ? Buffer.from(request.body) : request.body instanceof Uint8Array ? Buffer.from(Uint8Array.from(request.body)) : Buffer.alloc(0);
        let out;
        try {
          out = eks.handle({ method: request.method, path: request.path, query, body });
        } catch (err) {
          if (!(err instanceof AwsError)) throw err;
          out = jsonError(err);
        }
        return { response: { statusCode: out.status, headers: out.headers, body: Readable.from([Buffer.from(out.body)]) } };
      },
    } as never,
  });
}

describe('TagResource and UntagResource on a Pod Identity association', () => {
  it('TagResource adds new keys and overwrites existing ones, leaving the others; describe and ListTagsForResource agree', () => {
    const eks = service();
    const a = create(eks, { team: 'a', 'awi.dev/owner': 'x' });
    expect(tag(eks, a.associationArn, { 'awi.dev/owner': 'team-a', cost: '42' })).toEqual({});
    const want = { team: 'a', 'awi.dev/owner': 'team-a', cost: '42' };
    expect(listTags(eks, a.associationArn)).toEqual(want);
    expect(describeAssoc(eks, a.associationId).tags).toEqual(want);
  });

  it('UntagResource removes the keys named; a key the resource does not have is no error; the others stay', () => {
    const eks = service();
    const a = create(eks, { team: 'a', 'awi.dev/stale': 'x', keep: 'y' });
    expect(untag(eks, a.associationArn, ['awi.dev/stale', 'team', 'never-there'])).toEqual({});
    expect(listTags(eks, a.associationArn)).toEqual({ keep: 'y' });
  });

  it('tags are case-sensitive keys: untagging "TEAM" leaves "team"', () => {
    const eks = service();
    const a = create(eks, { team: 'a' });
    untag(eks, a.associationArn, ['TEAM']);
    expect(listTags(eks, a.associationArn)).toEqual({ team: 'a' });
  });

  it('tagging one association leaves another untouched', () => {
    const eks = service();
    const a = create(eks, { team: 'a' });
    const b = create(eks, { team: 'b' }, 'other');
    tag(eks, a.associationArn, { team: 'changed' });
    expect(listTags(eks, b.associationArn)).toEqual({ team: 'b' });
  });

  it('an ARN that names no resource: NotFoundException (404), also for a deleted association', () => {
    const eks = service();
    const a = create(eks);
    call(eks, 'DELETE', `/clusters/${CLUSTER}/pod-identity-associations/${a.associationId}`);
    for (const fn of [() => tag(eks, a.associationArn, { x: 'y' }), () => untag(eks, a.associationArn, ['x']), () => listTags(eks, a.associationArn)]) {
      expect(failure(fn)).toMatchObject({ code: 'NotFoundException', status: 404 });
    }
    // The same id on another cluster, or in another region, is another resource.
    const elsewhere = a.associationArn.replace(`:${REGION}:`, ':us-east-1:');
    expect(failure(() => listTags(eks, elsewhere))).toMatchObject({ code: 'NotFoundException', status: 404 });
  });

  it('not an EKS ARN: BadRequestException (400)', () => {
    const eks = service();
    expect(failure(() => listTags(eks, 'not-an-arn'))).toMatchObject({ code: 'BadRequestException', status: 400 });
    expect(failure(() => tag(eks, ROLE, { x: 'y' }))).toMatchObject({ code: 'BadRequestException', status: 400 });
  });

  it('request limits: tags required and 1..50 of them, keys 1-128, values up to 256, no aws: prefix; tagKeys 1..50', () => {
    const eks = service();
    const arn = create(eks).associationArn;
    const bad = (fn: () => unknown, mentions: string) => {
      const err = failure(fn);
      expect(err).toMatchObject({ code: 'BadRequestException', status: 400 });
      expect(err.message).toContain(mentions);
    };
    bad(() => call(eks, 'POST', tagsPath(arn), {}), 'tags');
    bad(() => tag(eks, arn, {}), 'tags');
    bad(() => tag(eks, arn, { x: 1 }), 'string');
    bad(() => tag(eks, arn, { ['k'.repeat(129)]: 'v' }), '128');
    bad(() => tag(eks, arn, { k: 'v'.repeat(257) }), '256');
    bad(() => tag(eks, arn, { 'AWS:cloudformation:stack': 'v' }), 'aws:');
    bad(() => tag(eks, arn, Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v']))), '50');
    bad(() => untag(eks, arn, []), 'tagKeys');
    bad(() => untag(eks, arn, Array.from({ length: 51 }, (_, i) => `k${i}`)), 'tagKeys');
    bad(() => untag(eks, arn, ['aws:created-by']), 'aws:');
    // Nothing changed by a refused request.
    expect(listTags(eks, arn)).toEqual({});
    // A 256-character value and a 128-character key are fine.
    tag(eks, arn, { ['k'.repeat(128)]: 'v'.repeat(256) });
    expect(Object.keys(listTags(eks, arn))).toEqual(['k'.repeat(128)]);
  });

  it(`at most ${EKS_TAGS_PER_RESOURCE_MAX} tags per resource, counting the ones it has: a request that would exceed it changes nothing`, () => {
    const eks = service();
    const existing = Object.fromEntries(Array.from({ length: 45 }, (_, i) => [`old${i}`, 'v']));
    const arn = create(eks, existing).associationArn;
    const err = failure(() => tag(eks, arn, Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`new${i}`, 'v']))));
    expect(err).toMatchObject({ code: 'BadRequestException', status: 400 });
    expect(listTags(eks, arn)).toEqual(existing);
    // Overwriting existing keys does not add to the count.
    tag(eks, arn, { ...Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`new${i}`, 'v'])), old0: 'changed' });
    expect(Object.keys(listTags(eks, arn))).toHaveLength(50);
  });
});

describe('tags of a cluster and an add-on', () => {
  it('a cluster ARN is taggable; DescribeCluster shows the tags', () => {
    const eks = service();
    tag(eks, CLUSTER_ARN, { env: 'prod' });
    expect(listTags(eks, CLUSTER_ARN)).toEqual({ env: 'prod' });
    expect(call(eks, 'GET', `/clusters/${CLUSTER}`).cluster.tags).toEqual({ env: 'prod' });
    untag(eks, CLUSTER_ARN, ['env']);
    expect(call(eks, 'GET', `/clusters/${CLUSTER}`).cluster.tags).toEqual({});
  });

  it('an add-on ARN is taggable; DescribeAddon shows the tags', () => {
    const eks = service();
    const addon = eks.installAddon(CLUSTER, 'eks-pod-identity-agent');
    tag(eks, addon.addonArn, { owner: 'platform' });
    expect(call(eks, 'GET', `/clusters/${CLUSTER}/addons/eks-pod-identity-agent`).addon.tags).toEqual({ owner: 'platform' });
  });
});

describe('through the AWS SDK v3 EKS client', () => {
  it('tags, untags (several keys) and lists an association by its ARN', async () => {
    const eks = service();
    const a = create(eks, { team: 'a', 'awi.dev/stale': '1', 'awi.dev/other': '2' });
    const client = sdk(eks);
    await client.send(new TagResourceCommand({ resourceArn: a.associationArn, tags: { 'awi.dev/owner': 'team-a' } }));
    await client.send(new UntagResourceCommand({ resourceArn: a.associationArn, tagKeys: ['awi.dev/stale', 'awi.dev/other'] }));
    expect((await client.send(new ListTagsForResourceCommand({ resourceArn: a.associationArn }))).tags).toEqual({ team: 'a', 'awi.dev/owner': 'team-a' });
    expect((await client.send(new DescribePodIdentityAssociationCommand({ clusterName: CLUSTER, associationId: a.associationId }))).association?.tags)
      .toEqual({ team: 'a', 'awi.dev/owner': 'team-a' });
    await client.send(new TagResourceCommand({ resourceArn: CLUSTER_ARN, tags: { env: 'prod' } }));
    expect((await client.send(new DescribeClusterCommand({ name: CLUSTER }))).cluster?.tags).toEqual({ env: 'prod' });
  });

  it('the SDK surfaces NotFoundException and BadRequestException by name', async () => {
    const client = sdk(service());
    await expect(client.send(new TagResourceCommand({ resourceArn: `arn:aws:eks:${REGION}:${ACCOUNT}:podidentityassociation/${CLUSTER}/a-gone`, tags: { x: 'y' } })))
      .rejects.toMatchObject({ name: 'NotFoundException', $metadata: { httpStatusCode: 404 } });
    await expect(client.send(new UntagResourceCommand({ resourceArn: CLUSTER_ARN, tagKeys: ['aws:reserved'] })))
      .rejects.toMatchObject({ name: 'BadRequestException', $metadata: { httpStatusCode: 400 } });
  });
});
