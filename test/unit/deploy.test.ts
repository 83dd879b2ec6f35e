// The kustomize base in deploy/: every manifest parses, the kinds are the
// expected ones, the RBAC rules are exactly the pinned list (widening them
// must be a deliberate change here), the pod runs locked down, and the
// ConfigMap's platform config is one the controller accepts.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import YAML from 'yaml';
import { parsePlatformConfig } from '../../src/config/index.js';
import { projectRoot } from '../../testbed/harness/paths.js';

const deployDir = path.join(projectRoot, 'deploy');

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: any;
}

const kustomization = YAML.parse(readFileSync(path.join(deployDir, 'kustomization.yaml'), 'utf8')) as {
  resources: string[];
  configMapGenerator: { name: string; namespace?: string; files: string[] }[];
  images: { name: string; newName?: string; newTag?: string }[];
  namespace?: string;
};

function parseAll(file: string): Manifest[] {
  const docs = YAML.parseAllDocuments(readFileSync(path.join(deployDir, file), 'utf8'));
  for (const d of docs) expect({ file, errors: d.errors.map((e) => e.message) }).toEqual({ file, errors: [] });
  return docs.map((d) => d.toJS() as Manifest).filter(Boolean);
}

const manifests = kustomization.resources.flatMap(parseAll);
const one = (kind: string, name?: string): Manifest => {
  const found = manifests.filter((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? `/${name}` : ''} in deploy/, found ${found.length}`);
  return found[0]!;
};

const NAMESPACE = 'awi-system';
const CLUSTER_SCOPED = new Set(['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);

describe('kustomize base', () => {
  it('holds exactly the expected objects', () => {
    const kinds = manifests.map((m) => `${m.kind}/${m.metadata.name}`).sort();
    expect(kinds).toEqual([
      'ClusterRole/awi-controller',
      'ClusterRoleBinding/awi-controller',
      'CustomResourceDefinition/awsworkloadidentityclaims.awi.dev',
      'Deployment/awi-controller',
      'Namespace/awi-system',
      'PodDisruptionBudget/awi-controller',
      'Role/awi-controller-leader-election',
      'RoleBinding/awi-controller-leader-election',
      'Service/awi-controller-metrics',
      'ServiceAccount/awi-controller',
      'ValidatingAdmissionPolicy/awi-serviceaccount-binding',
      'ValidatingAdmissionPolicyBinding/awi-serviceaccount-binding',
    ]);
    expect(kustomization.configMapGenerator.map((g) => g.name)).toEqual(['awi-config']);
  });

  it('puts namespaced objects in awi-system and leaves cluster-scoped ones without a namespace', () => {
    // No top-level namespace: kustomize would stamp it on the admission policy objects too.
    expect(kustomization.namespace).toBeUndefined();
    for (const m of manifests) {
      const want = CLUSTER_SCOPED.has(m.kind) ? undefined : NAMESPACE;
      expect({ object: `${m.kind}/${m.metadata.name}`, namespace: m.metadata.namespace }).toEqual({ object: `${m.kind}/${m.metadata.name}`, namespace: want });
    }
    expect(kustomization.configMapGenerator[0]!.namespace).toBe(NAMESPACE);
  });

  it('carries the CRD from crds/ unchanged (deploy/crds/ is a copy kustomize can load)', () => {
    const copy = readFileSync(path.join(deployDir, 'crds', 'awi.dev_awsworkloadidentityclaims.yaml'), 'utf8');
    const source = readFileSync(path.join(projectRoot, 'crds', 'awi.dev_awsworkloadidentityclaims.yaml'), 'utf8');
    // On failure: cp crds/awi.dev_awsworkloadidentityclaims.yaml deploy/crds/
    expect(copy === source).toBe(true);
  });
});

describe('RBAC', () => {
  // The calls src/ makes (see the comment in deploy/rbac.yaml). Keep in step
  // with test/integration/rbac.test.ts, which runs the controller with them.
  const expectedRules = [
    { apiGroups: ['awi.dev'], resources: ['awsworkloadidentityclaims'], verbs: ['get', 'list', 'patch', 'watch'] },
    { apiGroups: ['awi.dev'], resources: ['awsworkloadidentityclaims/status'], verbs: ['patch'] },
    { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['create', 'delete', 'get', 'list', 'patch', 'watch'] },
    { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
    // Credential verification (TokenRequest) and the mechanism switch (read-only pod watch).
    { apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'] },
    { apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] },
    { apiGroups: [''], resources: ['namespaces'], verbs: ['get'] },
    // The Pod Identity agent prerequisite: that one DaemonSet name, read only.
    { apiGroups: ['apps'], resources: ['daemonsets'], verbs: ['get'], resourceNames: ['eks-pod-identity-agent'] },
  ];
  const normalize = (rules: any[]) =>
    rules.map((r) => ({ apiGroups: [...r.apiGroups].sort(), resources: [...r.resources].sort(), verbs: [...r.verbs].sort(), ...(r.resourceNames ? { resourceNames: r.resourceNames } : {}) }));

  it('grants the controller exactly the pinned rules, with no wildcard', () => {
    const role = one('ClusterRole', 'awi-controller');
    expect(normalize(role.rules)).toEqual(expectedRules);
    expect(JSON.stringify(role.rules)).not.toContain('*');
    expect(role.aggregationRule).toBeUndefined();
  });

  it('grants leader election only on its own Lease, in its own namespace', () => {
    const role = one('Role', 'awi-controller-leader-election');
    expect(role.metadata.namespace).toBe(NAMESPACE);
    expect(normalize(role.rules)).toEqual([
      // create cannot be limited by name (the name is in the body, not the URL)
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'update'], resourceNames: ['awi-controller'] },
    ]);
    // The Lease the Deployment campaigns for is that one.
    const args: string[] = one('Deployment').spec.template.spec.containers[0].args;
    expect(args[args.indexOf('--lease-name') + 1]).toBe('awi-controller');
  });

  it('has no other roles or bindings', () => {
    expect(manifests.filter((m) => /Role(Binding)?$/.test(m.kind)).map((m) => `${m.kind}/${m.metadata.name}`).sort()).toEqual([
      'ClusterRole/awi-controller',
      'ClusterRoleBinding/awi-controller',
      'Role/awi-controller-leader-election',
      'RoleBinding/awi-controller-leader-election',
    ]);
  });

  it('binds the rules to the controller ServiceAccount only', () => {
    const sa = one('ServiceAccount', 'awi-controller');
    const subjects = [{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace }];
    const clusterBinding = one('ClusterRoleBinding', 'awi-controller');
    expect(clusterBinding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'awi-controller' });
    expect(clusterBinding.subjects).toEqual(subjects);
    for (const name of ['awi-controller-leader-election']) {
      const binding = one('RoleBinding', name);
      expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name });
      expect(binding.subjects).toEqual(subjects);
    }
  });
});

describe('Deployment', () => {
  const deployment = one('Deployment', 'awi-controller');
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];

  it('runs two replicas of the image kustomize sets, as the controller ServiceAccount', () => {
    expect(deployment.spec.replicas).toBe(2);
    expect(pod.containers).toHaveLength(1);
    expect(pod.serviceAccountName).toBe(one('ServiceAccount').metadata.name);
    expect(kustomization.images.map((i) => i.name)).toContain(container.image);
    expect(container.args).toEqual(expect.arrayContaining(['controller', '--config', '/etc/awi/config.yaml']));
    expect(container.args).not.toContain('--no-leader-elect'); // two replicas need the lease
    expect(container.args[container.args.indexOf('--probe-port') + 1]).toBe('8080');
    expect(container.env).toContainEqual({ name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } });
    expect(deployment.spec.selector.matchLabels).toEqual(expect.objectContaining({ 'app.kubernetes.io/name': 'awi' }));
    for (const [k, v] of Object.entries(deployment.spec.selector.matchLabels)) expect(deployment.spec.template.metadata.labels[k]).toBe(v);
  });

  it('probes /healthz and /readyz on port 8080 named http', () => {
    expect(container.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
  });

  it('sets resource requests and limits', () => {
    for (const kind of ['requests', 'limits']) {
      expect(container.resources[kind]).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
    }
  });

  it('is locked down: non-root, read-only root filesystem, no privilege escalation, no capabilities, RuntimeDefault seccomp', () => {
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext.capabilities.add).toBeUndefined();
    expect(container.securityContext.privileged ?? false).toBe(false);
    expect(pod.hostNetwork ?? false).toBe(false);
    // Same UID as the image's USER line, so runAsNonRoot holds whichever wins.
    const user = /^USER\s+(\d+)/m.exec(readFileSync(path.join(projectRoot, 'Dockerfile'), 'utf8'))![1];
    expect(String(pod.securityContext.runAsUser)).toBe(user);
  });

  it('mounts the config at /etc/awi and a writable /tmp', () => {
    const mounts = Object.fromEntries(container.volumeMounts.map((m: any) => [m.name, m]));
    const volumes = Object.fromEntries(pod.volumes.map((v: any) => [v.name, v]));
    expect(mounts.config).toMatchObject({ mountPath: '/etc/awi', readOnly: true });
    expect(volumes.config.configMap.name).toBe(kustomization.configMapGenerator[0]!.name);
    // The generator's key is the file name the controller reads.
    expect(kustomization.configMapGenerator[0]!.files).toEqual(['config.yaml=platform-config.yaml']);
    expect(mounts.tmp).toMatchObject({ mountPath: '/tmp' });
    expect(volumes.tmp.emptyDir).toBeDefined();
    for (const m of container.volumeMounts) if (m.mountPath !== '/tmp') expect(m.readOnly).toBe(true);
  });
});

describe('PodDisruptionBudget and metrics Service', () => {
  const podLabels = one('Deployment').spec.template.metadata.labels as Record<string, string>;
  const selects = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => podLabels[k] === v);

  it('keeps one controller through voluntary disruptions', () => {
    const pdb = one('PodDisruptionBudget');
    expect(pdb.spec.minAvailable).toBe(1);
    expect(selects(pdb.spec.selector.matchLabels)).toBe(true);
  });

  it('exposes /metrics on port 8080 of the controller pods', () => {
    const svc = one('Service', 'awi-controller-metrics');
    expect(svc.spec.ports).toEqual([{ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' }]);
    expect(selects(svc.spec.selector)).toBe(true);
    expect(svc.metadata).toMatchObject({ annotations: { 'prometheus.io/path': '/metrics', 'prometheus.io/port': '8080' } });
  });
});

describe('platform config ConfigMap', () => {
  const file = kustomization.configMapGenerator[0]!.files[0]!.split('=')[1]!;
  const raw = YAML.parse(readFileSync(path.join(deployDir, file), 'utf8'));

  it('is a configuration the controller accepts', () => {
    expect(() => parsePlatformConfig(raw, file)).not.toThrow();
  });

  it('matches what deploy/aws/controller-policy.json allows: roles under /awi/ with a permissions boundary', () => {
    const config = parsePlatformConfig(raw, file);
    expect(config.roles.path).toBe('/awi/');
    expect(config.roles.permissionsBoundaryArn).toMatch(/^arn:aws[a-z-]*:iam::\d{12}:policy\//);
  });
});

describe('ValidatingAdmissionPolicy', () => {
  it('exempts exactly the controller ServiceAccount and is bound with Deny', () => {
    const sa = one('ServiceAccount');
    const policy = one('ValidatingAdmissionPolicy');
    const binding = one('ValidatingAdmissionPolicyBinding');
    expect(policy.apiVersion).toBe('admissionregistration.k8s.io/v1');
    expect(policy.spec.matchConditions).toEqual([
      { name: 'not-the-awi-controller', expression: `request.userInfo.username != 'system:serviceaccount:${sa.metadata.namespace}:${sa.metadata.name}'` },
    ]);
    expect(policy.spec.failurePolicy).toBe('Fail');
    expect(binding.spec).toEqual({ policyName: policy.metadata.name, validationActions: ['Deny'] });
    expect(policy.spec.matchConstraints.resourceRules).toEqual([
      { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['serviceaccounts'] },
    ]);
  });
});
