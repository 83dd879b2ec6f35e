// Checks across all the files `awi validate` is given (issue 12): conflicts
// that pass claim by claim and fail at run time for the claim reconciled
// second, and the totals per guardrail.

import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { roleName } from '../../src/compiler/names.js';
import { crossClaimFindings, ROLES_PER_ACCOUNT_QUOTA, type ClaimFacts } from '../../src/cli/cross-claim.js';
import { runValidate } from '../../src/cli/validate.js';
import { exampleConfig, exampleConfigFileWith, exampleFile } from '../fixtures/claims.js';
import { captureIo } from '../fixtures/io.js';

// The example config, with namespace team-a governed too (its tenant patterns: queues named team-a_*).
const config = exampleConfigFileWith((raw) => raw.guardrails[0].namespaces.push('team-a'));

function claim(namespace: string, name: string, serviceAccount: string, extra = ''): string {
  return [
    'apiVersion: awi.dev/v1alpha1',
    'kind: AwsWorkloadIdentityClaim',
    `metadata: { name: ${name}, namespace: ${namespace} }`,
    'spec:',
    `  serviceAccountName: ${serviceAccount}`,
    '  owner: team-a',
    '  environment: prod',
    '  aws: { accountId: "111122223333", region: ap-southeast-1 }',
    '  permissions:',
    `    sqs: [{ queue: ${namespace}_events, access: [send] }]`,
    extra,
  ].join('\n');
}

function files(...contents: string[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'awi-cross-'));
  return contents.map((content, i) => {
    const path = join(dir, `claim-${i + 1}.yaml`);
    writeFileSync(path, content);
    return path;
  });
}

describe('cross-claim checks', () => {
  it('team-a-prod/api and team-a/prod-api compile to one role name: both refused, each naming the other', () => {
    // The premise, from the compiler's own role-name function and the example template.
    const vars = { cluster: 'prod-platform-a', claim: 'x', account: '111122223333' };
    const template = exampleConfig().roles.nameTemplate;
    expect(roleName(template, { ...vars, namespace: 'team-a-prod', serviceAccount: 'api' })).toBe(
      roleName(template, { ...vars, namespace: 'team-a', serviceAccount: 'prod-api' }),
    );

    const [a, b] = files(claim('team-a-prod', 'api', 'api'), claim('team-a', 'prod-api', 'prod-api'));
    const io = captureIo();
    expect(runValidate({ paths: [a!, b!], config }, io)).toBe(1);
    expect(io.stdout).toEqual([
      expect.stringMatching(
        new RegExp(`^${esc(a!)}#1 team-a-prod/api: spec.serviceAccountName: role-name-collision: role name "prod-platform-a-team-a-prod-api" in account 111122223333 is also the role of team-a/prod-api \\(${esc(b!)}#1 line 1\\) .*RoleNotOwned`),
      ),
      expect.stringMatching(new RegExp(`^${esc(b!)}#1 team-a/prod-api: spec.serviceAccountName: role-name-collision: .* is also the role of team-a-prod/api \\(${esc(a!)}#1 line 1\\)`)),
      '2 claim(s): 0 valid, 2 refused; 0 other document(s) skipped; 0 unreadable',
    ]);
  });

  it('one ServiceAccount claimed by two claims: both refused with service-account-claimed-twice (not also a role collision)', () => {
    const [a, b] = files(claim('team-a-prod', 'reader', 'api'), claim('team-a-prod', 'writer', 'api'));
    const io = captureIo();
    expect(runValidate({ paths: [a!, b!], config, output: 'json' }, io)).toBe(1);
    const report = JSON.parse(io.stdout.join('\n'));
    expect(report.documents.map((d: { problems: { rule: string; field: string; line: number; related: { file: string }[] }[] }) => d.problems)).toEqual([
      [expect.objectContaining({ rule: 'service-account-claimed-twice', field: 'spec.serviceAccountName', line: 5, related: [expect.objectContaining({ file: b, line: 5 })] })],
      [expect.objectContaining({ rule: 'service-account-claimed-twice', field: 'spec.serviceAccountName', line: 5, related: [expect.objectContaining({ file: a, line: 5 })] })],
    ]);
  });

  it('the same claim defined twice: the later definition is refused, pointing at the first', () => {
    const [a, b] = files(claim('team-a-prod', 'api', 'api'), claim('team-a-prod', 'api', 'api'));
    const io = captureIo();
    expect(runValidate({ paths: [a!, b!], config, quiet: true }, io)).toBe(1);
    expect(io.stdout).toEqual([
      `${b}#1 team-a-prod/api: metadata.name: claim-defined-twice: claim team-a-prod/api is also defined at ${a}#1 line 1: applying both keeps only the last one; remove one of them`,
    ]);
  });

  it('distinct claims in distinct namespaces pass together', () => {
    const paths = files(claim('team-a-prod', 'api', 'api'), claim('team-b-prod', 'api', 'api'), claim('team-a-prod', 'worker', 'worker'));
    const io = captureIo();
    expect(runValidate({ paths, config }, io)).toBe(0);
  });

  it('a claim refused on its own is not part of a conflict (it creates nothing)', () => {
    const [a, b] = files(claim('team-a-prod', 'api', 'api'), claim('team-a', 'prod-api', 'prod-api', '  mechanism: Nonsense'));
    const io = captureIo();
    expect(runValidate({ paths: [a!, b!], config, quiet: true }, io)).toBe(1);
    expect(io.stdout).toEqual([expect.stringMatching(/team-a\/prod-api: spec.mechanism: /)]);
  });

  it('JSON carries the totals per guardrail and per account', () => {
    const paths = files(
      claim('team-a-prod', 'api', 'api'),
      claim('team-b-prod', 'api', 'api'),
      claim('team-c', 'api', 'api'),
      claim('team-d-prod', 'bad', 'default'),
    );
    const io = captureIo();
    expect(runValidate({ paths: [...paths, exampleFile('billing-worker-sqs')], config, output: 'json' }, io)).toBe(1);
    const { totals } = JSON.parse(io.stdout.join('\n'));
    expect(totals).toEqual({
      guardrails: [{ guardrail: 0, namespaces: ['*-prod', 'team-a'], claims: 4, valid: 3, refused: 1, rolesByAccount: { '111122223333': 3 } }],
      // A namespace no guardrail governs may not claim an identity (namespace-governed).
      unguarded: { claims: 1, valid: 0, refused: 1 },
      rolesByAccount: { '111122223333': 3 },
      podIdentityAssociations: 2,
    });
  });

  it(`warns (without failing) when the claims alone pass the default quota of ${ROLES_PER_ACCOUNT_QUOTA} roles in an account`, () => {
    const facts: ClaimFacts[] = Array.from({ length: ROLES_PER_ACCOUNT_QUOTA + 1 }, (_, id) => ({
      id,
      where: `f#${id}`,
      namespace: `ns-${id}`,
      name: 'api',
      compiled: { serviceAccount: 'api', accountId: '111122223333', roleName: `role-${id}`, mechanism: 'IRSA', roleNameIsExact: true },
    }));
    const findings = crossClaimFindings(facts, exampleConfig());
    expect(findings).toEqual([expect.objectContaining({ id: ROLES_PER_ACCOUNT_QUOTA, rule: 'roles-per-account-quota', level: 'warning' })]);
    expect(crossClaimFindings(facts.slice(1), exampleConfig())).toEqual([]);
  });
});

function esc(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
