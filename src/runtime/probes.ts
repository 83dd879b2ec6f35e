// /healthz, /readyz and /metrics on one port.
import http from 'node:http';
import type { Registry } from 'prom-client';

export interface ProbeServerOptions {
  port: number;
  host?: string;
  registry: Registry;
  /** Ready once this replica can do its job: caches synced (leader) or standing by (follower). */
  ready(): boolean;
}

export async function startProbeServer(o: ProbeServerOptions): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return send(res, 200, 'ok');
    if (path === '/readyz') return o.ready() ? send(res, 200, 'ok') : send(res, 503, 'caches not synced');
    if (path === '/metrics') {
      o.registry.metrics().then(
        (text) => send(res, 200, text, o.registry.contentType),
        (err: unknown) => send(res, 500, String(err)),
      );
      return;
    }
    send(res, 404, 'not found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host ?? '0.0.0.0', () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : o.port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function send(res: http.ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type });
  res.end(body);
}
