// The Helm chart in deploy/chart/awi, with the real helm and kustomize
// (testbed/scripts/helm.sh builds them from the Go module proxy): `helm lint`, the
// chart renders the same objects as the kustomize base (one source: the
// chart's files/ are copies of deploy/ and crds/), and each value does what
// values.yaml says. The server-side dry run of the rendered chart is in
// test/integration/helm.test.ts.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import YAML from 'yaml';
import { parsePlatformConfig } from '../../src/config/index.js';
import { cacheDir, projectRoot } from '../../testbed/harness/paths.js';

const helmBin = path.join(cacheDir, 'bin', 'helm');
const kustomizeBin = path.join(cacheDir, 'bin', 'kustomize');
const chartDir = path.join(projectRoot, 'deploy', 'chart', 'awi');
const missing = [helmBin, kustomizeBin].filter((b) => !existsSync(b));
if (missing.length > 0) console.log(`SKIPPED test/unit/helm.test.ts: ${missing.join(', ')} missing; run testbed/scripts/helm.sh (npm test does)`);
const describeWithHelm = missing.length > 0 ? describe.skip : describe;

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: any;
}

function run(bin: string, args: string[]): string {
  try {
    return execFileSync(bin, args, { cwd: projectRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${path.basename(bin)} ${args.join(' ')} failed:\n${e.stderr || ''}${e.stdout || e.message}`);
  }
}

const parse = (text: string): K8sObject[] =>
  YAML.parseAllDocuments(text).map((d) => {
    if (d.errors.length > 0) throw new Error(d.errors.map((e) => e.message).join('\n'));
    return d.toJS() as K8sObject;
  }).filter(Boolean);

/** `helm template` of the chart into awi-system with the given --set/--set-string/--set-file flags. */
export function helmTemplate(flags: string[] = [], namespace = 'awi-system'): K8sObject[] {
  return parse(run(helmBin, ['template', 'awi', chartDir, '--namespace', namespace, ...flags]));
}
const key = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const find = (objects: K8sObject[], kind: string, name?: string): K8sObject | undefined =>
  objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
const get = (objects: K8sObject[], kind: string, name?: string): K8sObject => {
  const o = find(objects, kind, name);
  if (!o) throw new Error(`no ${kind}${name ? `/${name}` : ''} in ${objects.map(key).join(', ')}`);
  return o;
};
const container = (objects: K8sObject[]) => get(objects, 'Deployment').spec.template.spec.containers[0];
/** The error helm prints when it refuses the values. */
const helmError = (flags: string[]): string => {
  try {
    helmTemplate(flags);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`helm accepted ${flags.join(' ')}`);
};

describe('the chart files/ (copies of the kustomize base)', () => {
  const copies: [string, string][] = [
    ['crd.yaml', 'crds/awi.dev_awsworkloadidentityclaims.yaml'],
    ...['serviceaccount', 'rbac', 'deployment', 'pdb', 'service', 'admission-policy', 'platform-config'].map((f): [string, string] => [`${f}.yaml`, `deploy/${f}.yaml`]),
  ];
  it.each(copies)('files/%s is %s byte for byte (on failure: bash deploy/chart/sync.sh)', (copy, source) => {
    expect(readFileSync(path.join(chartDir, 'files', copy), 'utf8') === readFileSync(path.join(projectRoot, source), 'utf8')).toBe(true);
  });

  it('covers every manifest of the base except the Namespace, which the README has you apply first', () => {
    const kustomization = YAML.parse(readFileSync(path.join(projectRoot, 'deploy', 'kustomization.yaml'), 'utf8')) as { resources: string[]; configMapGenerator: { files: string[] }[] };
    const sources = new Set(copies.map(([, s]) => s.replace(/^deploy\//, '')));
    const base = [...kustomization.resources, ...kustomization.configMapGenerator.flatMap((g) => g.files.map((f) => f.split('=').pop()!))];
    expect(base.filter((f) => !sources.has(f) && !(f.startsWith('crds/') && sources.has(`crds/${path.basename(f)}`)))).toEqual(['namespace.yaml']);
  });
});

describeWithHelm('helm lint', () => {
  it('passes with default values and with every option on', () => {
    expect(run(helmBin, ['lint', '--strict', chartDir])).toContain('0 chart(s) failed');
    expect(run(helmBin, ['lint', '--strict', chartDir, '--set', 'metrics.serviceMonitor.enabled=true', '--set', 'serviceAccount.roleArn=arn:aws:iam::111122223333:role/awi-controller', '--set', 'replicas=3']))
      .toContain('0 chart(s) failed');
  });
});

describeWithHelm('helm template with default values renders the kustomize base', () => {
  // What only the chart adds (Helm's labels, the CRD's keep policy, the
  // config checksum) and only kustomize adds (the ConfigMap's hash suffix).
  const helmLabels = ['helm.sh/chart', 'app.kubernetes.io/managed-by', 'app.kubernetes.io/instance', 'app.kubernetes.io/version'];
  function withoutHelmMetadata(o: K8sObject): K8sObject {
    const copy = structuredClone(o);
    for (const l of helmLabels) delete copy.metadata.labels?.[l];
    delete copy.metadata.annotations?.['helm.sh/resource-policy'];
    if (copy.metadata.annotations && Object.keys(copy.metadata.annotations).length === 0) delete copy.metadata.annotations;
    if (copy.kind === 'Deployment') {
      const annotations = copy.spec.template.metadata.annotations as Record<string, string>;
      expect(annotations['checksum/config']).toMatch(/^[0-9a-f]{64}$/);
      delete annotations['checksum/config'];
      if (Object.keys(annotations).length === 0) delete copy.spec.template.metadata.annotations;
    }
    return copy;
  }

  it('the same objects, field for field', () => {
    const kustomized = parse(run(kustomizeBin, ['build', path.join(projectRoot, 'deploy')]));
    const generatedConfigMap = get(kustomized, 'ConfigMap').metadata.name;
    expect(generatedConfigMap).toMatch(/^awi-config-[a-z0-9]{10}$/);
    const fromKustomize = kustomized
      .filter((o) => o.kind !== 'Namespace')
      .map((o) => {
        const copy = structuredClone(o);
        if (copy.kind === 'ConfigMap') copy.metadata.name = 'awi-config';
        if (copy.kind === 'Deployment') {
          for (const v of copy.spec.template.spec.volumes) if (v.configMap?.name === generatedConfigMap) v.configMap.name = 'awi-config';
        }
        return copy;
      });
    const fromHelm = helmTemplate().map(withoutHelmMetadata);
    // One more difference, of YAML parsers: kustomize (yaml.v3) keeps an extra
    // line break before the more-indented lines of a folded (>-) CEL
    // expression that helm (yaml.v2) does not; CEL ignores whitespace.
    const celWhitespace = (o: unknown): unknown =>
      JSON.parse(JSON.stringify(o, (k, v) => (k === 'expression' && typeof v === 'string' ? v.replace(/\s+/g, ' ') : v)));
    const byKey = (objects: K8sObject[]) => Object.fromEntries(objects.map((o) => [key(o), o]));
    expect(Object.keys(byKey(fromHelm)).sort()).toEqual(Object.keys(byKey(fromKustomize)).sort());
    expect(celWhitespace(byKey(fromHelm))).toEqual(celWhitespace(byKey(fromKustomize)));
    expect(kustomized.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name)).toEqual(['awi-system']);
  });

  it("gives every object Helm's labels", () => {
    for (const o of helmTemplate()) {
      expect({ object: key(o), labels: o.metadata.labels }).toEqual({
        object: key(o),
        labels: expect.objectContaining({ 'app.kubernetes.io/managed-by': 'Helm', 'app.kubernetes.io/instance': 'awi', 'app.kubernetes.io/part-of': 'awi' }),
      });
    }
  });

  it('ships a platform config the controller accepts, and keeps the CRD on uninstall', () => {
    const objects = helmTemplate();
    const config = YAML.parse(get(objects, 'ConfigMap', 'awi-config').data['config.yaml']);
    expect(() => parsePlatformConfig(config, 'chart default config')).not.toThrow();
    expect(get(objects, 'CustomResourceDefinition').metadata.annotations).toEqual({ 'helm.sh/resource-policy': 'keep' });
  });
});

describeWithHelm('values', () => {
  it('image: repository and tag, or a digest', () => {
    expect(container(helmTemplate()).image).toBe('ghcr.io/awi-dev/awi:0.1.0');
    expect(container(helmTemplate(['--set', 'image.repository=registry.example/awi', '--set', 'image.tag=1.2.3'])).image).toBe('registry.example/awi:1.2.3');
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(container(helmTemplate(['--set', `image.digest=${digest}`])).image).toBe(`ghcr.io/awi-dev/awi@${digest}`);
    expect(helmError(['--set', 'image.digest=latest'])).toMatch(/image\.digest/);
  });

  it('replicas: the PodDisruptionBudget only with two or more', () => {
    const one = helmTemplate(['--set', 'replicas=1']);
    expect(get(one, 'Deployment').spec.replicas).toBe(1);
    expect(find(one, 'PodDisruptionBudget')).toBeUndefined();
    const three = helmTemplate(['--set', 'replicas=3']);
    expect(get(three, 'Deployment').spec.replicas).toBe(3);
    expect(get(three, 'PodDisruptionBudget').spec.minAvailable).toBe(1);
    expect(find(helmTemplate(['--set', 'podDisruptionBudget.enabled=false']), 'PodDisruptionBudget')).toBeUndefined();
    expect(helmError(['--set', 'replicas=0'])).toMatch(/replicas/);
  });

  it('resources, log level, scheduling and extra env reach the pod; the lockdown stays', () => {
    const objects = helmTemplate([
      '--set', 'resources.requests.cpu=100m', '--set', 'resources.requests.memory=200Mi', '--set', 'resources.limits.memory=400Mi',
      '--set', 'logLevel=debug', '--set', 'nodeSelector.pool=system', '--set', 'priorityClassName=system-cluster-critical',
      '--set', 'extraEnv[0].name=AWS_STS_REGIONAL_ENDPOINTS', '--set', 'extraEnv[0].value=regional',
      '--set', 'podAnnotations.team=platform', '--set', 'imagePullSecrets[0].name=registry',
    ]);
    const pod = get(objects, 'Deployment').spec.template;
    const c = pod.spec.containers[0];
    expect(c.resources).toEqual({ requests: { cpu: '100m', memory: '200Mi' }, limits: { cpu: '500m', memory: '400Mi' } });
    expect(c.args[c.args.indexOf('--log-level') + 1]).toBe('debug');
    expect(pod.spec.nodeSelector).toEqual({ pool: 'system' });
    expect(pod.spec.priorityClassName).toBe('system-cluster-critical');
    expect(pod.spec.imagePullSecrets).toEqual([{ name: 'registry' }]);
    expect(pod.metadata.annotations.team).toBe('platform');
    expect(c.env).toContainEqual({ name: 'AWS_STS_REGIONAL_ENDPOINTS', value: 'regional' });
    expect(c.env).toContainEqual({ name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } });
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, runAsNonRoot: true });
    expect(helmError(['--set', 'logLevel=verbose'])).toMatch(/logLevel/);
    expect(helmError(['--set', 'replica=3'])).toMatch(/replica/);
  });

  it('config: a file (--set-file) or a map in the values; the pods roll when it changes', () => {
    const example = path.join(projectRoot, 'deploy', 'examples', 'platform-config.yaml');
    const fromFile = helmTemplate(['--set-file', `config=${example}`]);
    expect(get(fromFile, 'ConfigMap', 'awi-config').data['config.yaml']).toBe(readFileSync(example, 'utf8'));
    const fromMap = helmTemplate(['--set', 'config.cluster.name=other', '--set', 'config.cluster.region=eu-west-1']);
    expect(YAML.parse(get(fromMap, 'ConfigMap', 'awi-config').data['config.yaml'])).toEqual({ cluster: { name: 'other', region: 'eu-west-1' } });
    const checksum = (objects: K8sObject[]) => get(objects, 'Deployment').spec.template.metadata.annotations['checksum/config'];
    expect(checksum(fromFile)).not.toBe(checksum(helmTemplate()));
    expect(checksum(fromFile)).toBe(checksum(helmTemplate(['--set-file', `config=${example}`])));
    expect(helmError(['--set', 'config=not a map'])).toMatch(/config: must be the platform config as YAML/);
  });

  it('serviceAccount.roleArn: the IRSA annotation; never a role under /awi/', () => {
    expect(get(helmTemplate(), 'ServiceAccount').metadata.annotations).toBeUndefined(); // Pod Identity: nothing on the ServiceAccount
    const arn = 'arn:aws:iam::111122223333:role/awi-controller';
    const irsa = helmTemplate(['--set', `serviceAccount.roleArn=${arn}`, '--set', 'serviceAccount.annotations.owner=platform']);
    expect(get(irsa, 'ServiceAccount').metadata.annotations).toEqual({ 'eks.amazonaws.com/role-arn': arn, owner: 'platform' });
    expect(helmError(['--set', 'serviceAccount.roleArn=arn:aws:iam::111122223333:role/awi/controller'])).toMatch(/serviceAccount\.roleArn .*IAM path \/awi\//);
    expect(helmError(['--set', 'serviceAccount.roleArn=awi-controller'])).toMatch(/serviceAccount\.roleArn/);
  });

  it('admissionPolicy.enabled=false leaves the ValidatingAdmissionPolicy and its binding out', () => {
    expect(helmTemplate().filter((o) => o.kind.startsWith('ValidatingAdmissionPolicy'))).toHaveLength(2);
    const off = helmTemplate(['--set', 'admissionPolicy.enabled=false']);
    expect(off.filter((o) => o.kind.startsWith('ValidatingAdmissionPolicy'))).toEqual([]);
    expect(find(off, 'Deployment')).toBeDefined();
  });

  it('crds.install=false leaves the CRD out; crds.keep=false drops the keep policy', () => {
    expect(find(helmTemplate(['--set', 'crds.install=false']), 'CustomResourceDefinition')).toBeUndefined();
    expect(get(helmTemplate(['--set', 'crds.keep=false']), 'CustomResourceDefinition').metadata.annotations).toBeUndefined();
  });

  it('metrics.serviceMonitor: a ServiceMonitor that selects the metrics Service and its port', () => {
    expect(find(helmTemplate(), 'ServiceMonitor')).toBeUndefined();
    const objects = helmTemplate(['--set', 'metrics.serviceMonitor.enabled=true', '--set', 'metrics.serviceMonitor.labels.release=prometheus', '--set', 'metrics.serviceMonitor.interval=15s']);
    const monitor = get(objects, 'ServiceMonitor');
    const service = get(objects, 'Service', 'awi-controller-metrics');
    expect(monitor.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(monitor.metadata.labels).toMatchObject({ release: 'prometheus' });
    expect(monitor.spec.namespaceSelector).toEqual({ matchNames: ['awi-system'] });
    for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels)) expect(service.metadata.labels![k]).toBe(v);
    expect(monitor.spec.endpoints).toEqual([{ port: 'http', path: '/metrics', interval: '15s', scrapeTimeout: '10s' }]);
    expect(service.spec.ports.map((p: { name: string }) => p.name)).toContain('http');
  });

  it('installs into the release namespace: objects, RBAC subjects and the admission policy exemption follow it', () => {
    const objects = helmTemplate([], 'platform-awi');
    for (const o of objects) {
      if (o.metadata.namespace !== undefined) expect({ object: key(o), namespace: o.metadata.namespace }).toEqual({ object: key(o), namespace: 'platform-awi' });
    }
    expect(get(objects, 'Deployment').metadata.namespace).toBe('platform-awi');
    for (const binding of objects.filter((o) => /RoleBinding$/.test(o.kind))) {
      expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'awi-controller', namespace: 'platform-awi' }]);
    }
    expect(get(objects, 'ValidatingAdmissionPolicy').spec.matchConditions[0].expression)
      .toBe("request.userInfo.username != 'system:serviceaccount:platform-awi:awi-controller'");
  });
});

describeWithHelm("the README's kustomize overlay", () => {
  it('builds next to deploy/ and puts its image in the Deployment', () => {
    const readme = readFileSync(path.join(projectRoot, 'README.md'), 'utf8');
    const m = /cat > awi-overlay\/kustomization\.yaml <<'EOF'\n([\s\S]*?)\n\s*EOF\n/.exec(readme);
    if (!m) throw new Error("README.md: no `cat > awi-overlay/kustomization.yaml <<'EOF'` block");
    const indent = /^ */.exec(m[1]!)![0].length;
    const overlay = m[1]!.split('\n').map((l) => l.slice(indent)).join('\n');
    mkdirSync(cacheDir, { recursive: true });
    const dir = mkdtempSync(path.join(cacheDir, 'readme-overlay-'));
    try {
      cpSync(path.join(projectRoot, 'deploy'), path.join(dir, 'deploy'), { recursive: true });
      mkdirSync(path.join(dir, 'awi-overlay'));
      writeFileSync(path.join(dir, 'awi-overlay', 'kustomization.yaml'), overlay);
      const objects = parse(run(kustomizeBin, ['build', path.join(dir, 'awi-overlay')]));
      const image = YAML.parse(overlay).images[0] as { newName: string; newTag: string };
      expect(container(objects).image).toBe(`${image.newName}:${image.newTag}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
