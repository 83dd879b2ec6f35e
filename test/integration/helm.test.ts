// Every object the Helm chart renders (default values, and with the IRSA
// role annotation) passes a server-side dry run on the test bed's API server,
// installed the way the README says: the Namespace from deploy/namespace.yaml,
// then the chart into it. (`helm lint`, `helm template` and the comparison
// with the kustomize base: test/unit/helm.test.ts.)
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { CoreV1Api, KubernetesObjectApi, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import YAML from 'yaml';
import { cacheDir, projectRoot } from '../../testbed/harness/paths.js';
import { ignoreConflict, kubeConfig } from '../../testbed/harness/testbed.js';

const helmBin = path.join(cacheDir, 'bin', 'helm');
const missing = !existsSync(helmBin);
if (missing) console.log(`SKIPPED test/integration/helm.test.ts: ${helmBin} missing; run testbed/scripts/helm.sh (npm test does)`);
const describeWithHelm = missing ? describe.skip : describe;

function render(flags: string[]): KubernetesObject[] {
  const out = execFileSync(helmBin, ['template', 'awi', path.join(projectRoot, 'deploy', 'chart', 'awi'), '--namespace', 'awi-system', ...flags], { encoding: 'utf8' });
  return YAML.parseAllDocuments(out).map((d) => d.toJS() as KubernetesObject).filter(Boolean);
}

async function dryRun(objects: KubernetesObject[]): Promise<string[]> {
  const api = KubernetesObjectApi.makeApiClient(kubeConfig());
  const failures: string[] = [];
  for (const o of objects) {
    try {
      await api.patch(o, undefined, 'All', 'awi-helm-test', true, PatchStrategy.ServerSideApply);
    } catch (err) {
      failures.push(`${o.kind}/${o.metadata?.name}: ${(err as { body?: unknown }).body ?? err}`);
    }
  }
  return failures;
}

describeWithHelm('the Helm chart on a real API server', () => {
  it('passes a server-side dry run, with default values and with the IRSA role set', async () => {
    const namespace = YAML.parse(readFileSync(path.join(projectRoot, 'deploy', 'namespace.yaml'), 'utf8')) as { metadata: { name: string; labels: Record<string, string> } };
    await kubeConfig().makeApiClient(CoreV1Api).createNamespace({ body: { metadata: namespace.metadata } }).catch(ignoreConflict);

    const defaults = render([]);
    expect(defaults.map((o) => o.kind).sort()).toEqual([
      'ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'CustomResourceDefinition', 'Deployment', 'PodDisruptionBudget',
      'Role', 'RoleBinding', 'Service', 'ServiceAccount', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding',
    ]);
    expect(await dryRun(defaults)).toEqual([]);
    const irsa = render(['--set', 'serviceAccount.roleArn=arn:aws:iam::111122223333:role/awi-controller', '--set', 'replicas=3', '--set', 'logLevel=debug']);
    expect(await dryRun(irsa)).toEqual([]);
  });
});
