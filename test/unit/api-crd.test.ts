// The CRD and the claim types are generated from src/api/schema.ts; the
// committed files must be what the generator produces now.

import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { CRD_FILE, buildCrd, renderCrdYaml } from '../../src/api/crd.js';
import { TYPES_FILE, renderTypes } from '../../src/api/typegen.js';
import { MAX_RETIRING } from '../../src/controller/revoke.js';

const REGENERATE = 'run: npm run build && node dist/src/api/generate-crd.js';

type Node = Record<string, any>;

function openApiSchema(): Node {
  const crd = buildCrd() as Node;
  return crd.spec.versions[0].schema.openAPIV3Schema;
}

function walk(node: Node, path: string, visit: (node: Node, path: string) => void): void {
  visit(node, path);
  for (const [key, child] of Object.entries(node.properties ?? {})) walk(child as Node, `${path}.${key}`, visit);
  if (node.items) walk(node.items, `${path}[]`, visit);
  if (node.additionalProperties) walk(node.additionalProperties, `${path}{}`, visit);
}

describe('generated files', () => {
  it(`${CRD_FILE} is up to date (${REGENERATE})`, () => {
    expect(readFileSync(CRD_FILE, 'utf8')).toBe(renderCrdYaml());
  });

  it(`${TYPES_FILE} is up to date (${REGENERATE})`, () => {
    expect(readFileSync(TYPES_FILE, 'utf8')).toBe(renderTypes());
  });

  it('the committed CRD parses to the built object', () => {
    expect(YAML.parse(readFileSync(CRD_FILE, 'utf8'))).toEqual(JSON.parse(JSON.stringify(buildCrd())));
  });
});

describe('the CRD', () => {
  const crd = buildCrd() as Node;
  const version = crd.spec.versions[0];

  it('is a namespaced v1 CRD for awi.dev/v1alpha1 with short names and a status subresource', () => {
    expect(crd.apiVersion).toBe('apiextensions.k8s.io/v1');
    expect(crd.metadata.name).toBe('awsworkloadidentityclaims.awi.dev');
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names.kind).toBe('AwsWorkloadIdentityClaim');
    expect(crd.spec.names.shortNames).toEqual(expect.arrayContaining(['awic', 'wic']));
    expect(version.name).toBe('v1alpha1');
    expect(version.served && version.storage).toBe(true);
    expect(version.subresources).toEqual({ status: {} });
  });

  it('prints ServiceAccount, mechanism, role, ready and age', () => {
    const columns = version.additionalPrinterColumns.map((c: Node) => `${c.name}=${c.jsonPath}`);
    expect(columns).toEqual(
      expect.arrayContaining([
        'ServiceAccount=.spec.serviceAccountName',
        'Mechanism=.status.mechanism',
        'Role=.status.roleArn',
        'Ready=.status.conditions[?(@.type=="Ready")].status',
        'Age=.metadata.creationTimestamp',
      ]),
    );
  });

  it('shows the Ready reason in the default `kubectl get` view, not only with -o wide', () => {
    const reason = version.additionalPrinterColumns.find((c: Node) => c.name === 'Reason');
    expect(reason?.jsonPath).toBe('.status.conditions[?(@.type=="Ready")].reason');
    expect(reason?.priority ?? 0).toBe(0);
  });

  it('describes every field (kubectl explain teaches the API)', () => {
    const missing: string[] = [];
    walk(openApiSchema(), '', (node, path) => {
      // metadata is the standard ObjectMeta: the API server forbids anything but its type.
      if (!node.description && path !== '.metadata') missing.push(path || '(root)');
    });
    expect(missing).toEqual([]);
  });

  it('is structural: every node has a type, no awi-only keys reach the API server', () => {
    const problems: string[] = [];
    walk(openApiSchema(), '', (node, path) => {
      if (!node.type) problems.push(`${path}: no type`);
      if ('x-awi' in node) problems.push(`${path}: x-awi`);
      if ('uniqueItems' in node || 'additionalProperties' in node && node.properties) problems.push(`${path}: not structural`);
    });
    expect(problems).toEqual([]);
  });

  it('bounds every string and list that a CEL rule sees (keeps the CEL cost estimate low)', () => {
    const unbounded: string[] = [];
    walk(openApiSchema(), '', (node, path) => {
      if (node.type === 'array' && node.maxItems === undefined && path.startsWith('.spec')) unbounded.push(path);
      if (node.type === 'object' && node.additionalProperties && node.maxProperties === undefined) unbounded.push(path);
      if (node['x-kubernetes-validations'] && node.type === 'string' && node.maxLength === undefined) unbounded.push(path);
    });
    expect(unbounded).toEqual([]);
  });

  it('has the status fields the controller writes, conditions keyed by type', () => {
    const status = openApiSchema().properties.status;
    expect(Object.keys(status.properties).sort()).toEqual(
      ['applied', 'associationId', 'conditions', 'lastDriftCheckTime', 'lastSyncTime', 'mechanism', 'observedGeneration', 'policyDigest', 'retiring', 'roleArn', 'trustPolicyDigest'].sort(),
    );
    // Identities still to retire: bounded, and the bound is the one the controller keeps to (revoke.ts).
    expect(status.properties.retiring.maxItems).toBe(MAX_RETIRING);
    expect(status.properties.retiring.items.required).toEqual(['roleArn', 'serviceAccount']);
    // The last valid spec, in the spec's own shape; its CEL rules are not run again on status writes.
    const applied = status.properties.applied;
    expect(Object.keys(applied.properties.spec.properties).sort()).toEqual(Object.keys(openApiSchema().properties.spec.properties).sort());
    expect(JSON.stringify(applied)).not.toContain('x-kubernetes-validations');
    const conditions = status.properties.conditions;
    expect(conditions['x-kubernetes-list-type']).toBe('map');
    expect(conditions['x-kubernetes-list-map-keys']).toEqual(['type']);
    expect(Object.keys(conditions.items.properties).sort()).toEqual(
      ['lastTransitionTime', 'message', 'observedGeneration', 'reason', 'status', 'type'].sort(),
    );
  });

  it('has the spec fields of the design, with enums for mechanism, deletion policy and access levels', () => {
    const spec = openApiSchema().properties.spec;
    expect(spec.required).toEqual(['serviceAccountName', 'owner', 'environment', 'aws', 'permissions']);
    expect(spec.properties.mechanism.enum).toEqual(['PodIdentity', 'IRSA']);
    expect(spec.properties.deletionPolicy.enum).toEqual(['Delete', 'Retain']);
    const p = spec.properties.permissions.properties;
    expect(Object.keys(p)).toEqual(['s3', 'sqs', 'sns', 'dynamodb', 'kms', 'secretsManager', 'ssmParameters', 'assumeRoles', 'managedPolicyArns', 'ecrPull', 'ecrAuthorizationToken', 'cloudwatchMetrics', 'xrayTracing', 'rawStatements']);
    expect(p.s3.items.properties.access.items.enum).toEqual(['read', 'write', 'list', 'delete']);
    expect(p.sqs.items.properties.access.items.enum).toEqual(['send', 'consume']);
    expect(p.kms.items.properties.access.items.enum).toEqual(['decrypt', 'encrypt', 'generateDataKey']);
    expect(spec.properties.aws.properties.accountId.pattern).toBe('^[0-9]{12}$');
  });
});
