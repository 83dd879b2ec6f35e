// The held-in corpus of hostile claims (test/fixtures/hostile.ts), run
// through the compiler with the shipped platform config: every claim refused
// with its labelled field and rule, none crashes. Positive controls show the
// config lets the same namespaces do what they own, so the refusals are the
// guardrails at work and not a config that refuses everything.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import YAML from 'yaml';
import { runValidate } from '../../src/cli/validate.js';
import { compileClaim, summarizeProblems } from '../../src/compiler/index.js';
import { captureIo } from '../fixtures/io.js';
import { parsePlatformConfig } from '../../src/config/index.js';
import type { AwsWorkloadIdentityClaim } from '../../src/api/types.js';
import { hostileCases, hostileConfigDocument, PINNED_NAMESPACE, RAW_NAMESPACE, TENANT_A } from '../fixtures/hostile.js';

const shipped = YAML.parse(readFileSync('deploy/platform-config.yaml', 'utf8')) as Record<string, any>;
const config = parsePlatformConfig(hostileConfigDocument(shipped), 'shipped config + corpus guardrails');
const cases = hostileCases();

describe('hostile corpus', () => {
  it('the problem flood has more than 32 KiB of problems, and its summary counts the rest', () => {
    const flood = cases.find((c) => c.id === 'problem-flood')!;
    const result = compileClaim(flood.claim, config);
    if (result.ok) throw new Error('expected refusal');
    expect(JSON.stringify(result.problems).length).toBeGreaterThan(32 * 1024);
    expect(summarizeProblems(result.problems)).toMatch(/\nand \d+ more$/);
  });

  it('holds at least 100 claims with unique ids, each labelled with a field and a rule', () => {
    expect(cases.length).toBeGreaterThanOrEqual(100);
    expect(new Set(cases.map((c) => c.id)).size).toBe(cases.length);
    for (const c of cases) expect(c.expected.field && c.expected.rule && c.attack).toBeTruthy();
  });

  it.each(cases.map((c) => [c.id, c] as const))('%s is refused with its field and rule', (_, c) => {
    let result: ReturnType<typeof compileClaim> | undefined;
    expect(() => (result = compileClaim(structuredClone(c.claim), config, c.namespaceLabels ? { namespaceLabels: c.namespaceLabels } : {}))).not.toThrow();
    expect(result!.ok).toBe(false);
    if (!result!.ok) {
      expect(result!.problems).toContainEqual(expect.objectContaining({ field: c.expected.field, rule: c.expected.rule }));
      for (const p of result!.problems) expect(['InvalidSpec', 'GuardrailViolation', 'LimitExceeded']).toContain(p.reason);
      // The status message stays small whatever the claim (a 32 KiB message is refused by the API server).
      expect(summarizeProblems(result!.problems).length).toBeLessThanOrEqual(4096);
    }
  });
});

describe('hostile corpus through awi validate', () => {
  it('one file of every claim: exit 1, one refusal line per claim naming its rule, no crash', () => {
    const dir = mkdtempSync(join(tmpdir(), 'awi-hostile-'));
    const configFile = join(dir, 'config.yaml');
    writeFileSync(configFile, YAML.stringify(hostileConfigDocument(shipped)));
    const claimsFile = join(dir, 'hostile.yaml');
    // Offline validation has no namespace labels: the pinned-owner cases are refused all the same.
    writeFileSync(claimsFile, cases.map((c) => YAML.stringify(c.claim)).join('---\n'));
    const io = captureIo();
    expect(runValidate({ paths: [claimsFile], config: configFile }, io)).toBe(1);
    for (const c of cases) {
      const label = `${claimsFile}#${cases.indexOf(c) + 1} ${c.claim.metadata.namespace}/${c.claim.metadata.name}:`;
      const lines = io.stdout.filter((l) => l.startsWith(label));
      expect([c.id, lines.length > 0]).toEqual([c.id, true]);
      expect([c.id, lines.some((l) => l.includes(`: ${c.expected.rule}:`))]).toEqual([c.id, true]);
    }
    expect(io.stdout.some((l) => l.endsWith(': ok'))).toBe(false);
  });
});

describe('positive controls: the same namespaces get what they own', () => {
  const claim = (namespace: string, permissions: AwsWorkloadIdentityClaim['spec']['permissions'], owner = 'team-a'): AwsWorkloadIdentityClaim => ({
    apiVersion: 'awi.dev/v1alpha1',
    kind: 'AwsWorkloadIdentityClaim',
    metadata: { name: 'control', namespace },
    spec: { serviceAccountName: 'control-sa', owner, environment: 'prod', aws: { accountId: '111122223333', region: 'ap-southeast-1' }, permissions },
  });
  const compiles = (c: AwsWorkloadIdentityClaim, labels?: Record<string, string>) => {
    const result = compileClaim(c, config, labels ? { namespaceLabels: labels } : {});
    expect(result.ok ? [] : result.problems).toEqual([]);
  };

  it('tenant A reaches its folder, secrets, parameters, queues, topics and tables', () => {
    compiles(
      claim(TENANT_A, {
        s3: [{ bucket: 'company-prod-data', prefix: `${TENANT_A}/`, access: ['read', 'write', 'list', 'delete'] }],
        secretsManager: [{ name: `${TENANT_A}/db`, access: ['read'] }, { namePrefix: `${TENANT_A}/api/`, access: ['read'] }],
        ssmParameters: [{ path: `/${TENANT_A}`, access: ['read'] }],
        sqs: [{ queue: `${TENANT_A}_jobs`, access: ['send', 'consume'] }],
        sns: [{ topic: `${TENANT_A}_events`, access: ['publish'] }],
        dynamodb: [{ table: `${TENANT_A}_orders`, access: ['read', 'write'], indexes: true }],
      }),
    );
  });

  it('raw statements and managed policies where allowed, when they name what the namespace owns', () => {
    compiles(
      claim(RAW_NAMESPACE, {
        rawStatements: [{ effect: 'Allow', actions: ['sqs:SendMessage', 'iam:GetRole'], resources: [`arn:aws:sqs:ap-southeast-1:111122223333:${RAW_NAMESPACE}_jobs`] }],
        managedPolicyArns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'],
      }),
    );
  });

  it('a pinned owner that matches the namespace label', () => {
    compiles(claim(PINNED_NAMESPACE, { sqs: [{ queue: `${PINNED_NAMESPACE}_jobs`, access: ['send'] }] }, 'team-pinned'), { 'awi.dev/owner': 'team-pinned' });
  });
});
