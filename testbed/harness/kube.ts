// Small Kubernetes helpers shared by the harness and tests.
import https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';

export function loadKubeConfig(kubeconfigPath: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return kc;
}

/** GET a raw API path (e.g. /openid/v1/jwks) with the kubeconfig's credentials. */
export async function kubeGetJson<T>(kc: KubeConfig, apiPath: string, opts: { accept?: string; timeoutMs?: number } = {}): Promise<T> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const url = new URL(apiPath, cluster.server);
  const req: https.RequestOptions = { method: 'GET', headers: { accept: opts.accept ?? 'application/json' }, timeout: opts.timeoutMs ?? 10_000 };
  await kc.applyToHTTPSOptions(req);
  return new Promise<T>((resolve, reject) => {
    const r = https.request(url, req, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        if ((res.statusCode ?? 0) >= 300) return reject(new Error(`GET ${apiPath}: HTTP ${res.statusCode}: ${body.slice(0, 300)}`));
        try {
          resolve(JSON.parse(body) as T);
        } catch (err) {
          reject(err as Error);
        }
      });
    });
    r.on('timeout', () => r.destroy(new Error(`GET ${apiPath}: timeout`)));
    r.on('error', reject);
    r.end();
  });
}
