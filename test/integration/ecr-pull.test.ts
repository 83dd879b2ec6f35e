// The ECR pull example end to end: the controller reconciles the spec of
// deploy/examples/image-builder-ecr-pull.yaml (in a test namespace of the bed)
// to a Ready claim whose role carries the compiled inline policy: the pull
// actions on the two repositories, and the registry login alone on "*".

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { GetRolePolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import { PERMISSION_POLICY_NAME } from '../../src/compiler/index.js';
import type { PolicyDocument } from '../../src/compiler/types.js';
import { loadExample } from '../fixtures/claims.js';
import { list } from '../fixtures/policy.js';
import { createClaim, startControllerEnv, waitForReady, type ControllerEnv } from '../harness/controller-env.js';
import { awsClientConfig, freshNamespace, testbed } from '../../testbed/harness/testbed.js';

let env: ControllerEnv;
beforeAll(async () => {
  env = await startControllerEnv();
});
afterAll(async () => {
  await env?.stop();
});

describe('image-builder-ecr-pull.yaml on the test bed', () => {
  it('becomes Ready with exactly the pull actions on the repositories and the login alone on "*"', async () => {
    const example = loadExample('image-builder-ecr-pull');
    const { accountId, region } = testbed();
    const ns = await freshNamespace('it-ecr');
    await createClaim(ns, example.metadata.name, { ...example.spec, aws: { accountId, region } });
    const claim = await waitForReady(ns, example.metadata.name);

    const roleName = claim!.status!.roleArn!.split('/').pop()!;
    const out = await new IAMClient(awsClientConfig()).send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: PERMISSION_POLICY_NAME }));
    const document = JSON.parse(decodeURIComponent(out.PolicyDocument!)) as PolicyDocument;
    const statements = document.Statement.map((s) => ({ effect: s.Effect, actions: list(s.Action), resources: list(s.Resource), condition: s.Condition }));
    expect(statements).toHaveLength(2);
    expect(statements).toContainEqual({ effect: 'Allow', actions: ['ecr:GetAuthorizationToken'], resources: ['*'], condition: undefined });
    expect(statements).toContainEqual({
      effect: 'Allow',
      actions: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
      resources: [`arn:aws:ecr:${region}:${accountId}:repository/base-images/node`, `arn:aws:ecr:${region}:${accountId}:repository/build-prod/image-builder`],
      condition: undefined,
    });
  });
});
