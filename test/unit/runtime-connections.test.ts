import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api, HttpMethod, KubeConfig, RequestContext } from '@kubernetes/client-node';
import { shareConnections } from '../../src/runtime/connections.js';

function kubeConfig(server: string, opts: { ca?: string; proxyUrl?: string; skipTLSVerify?: boolean } = {}): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{
      name: 'c', server, skipTLSVerify: opts.skipTLSVerify ?? false,
      ...(opts.ca ? { caData: Buffer.from(opts.ca).toString('base64') } : {}),
      ...(opts.proxyUrl ? { proxyUrl: opts.proxyUrl } : {}),
    }],
    users: [{ name: 'u', token: 'secret-token' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

async function dispatcherFor(kc: KubeConfig): Promise<{ dispatcher: object | undefined; auth: string | undefined }> {
  const ctx = new RequestContext('https://127.0.0.1:6443/api/v1/namespaces', HttpMethod.GET);
  await kc.applySecurityAuthentication(ctx);
  return { dispatcher: ctx.getDispatcher(), auth: ctx.getHeaders()['Authorization'] };
}

describe('shareConnections', () => {
  it('client-node alone makes a new dispatcher per request (the reason for this module)', async () => {
    const kc = kubeConfig('https://127.0.0.1:6443', { ca: 'CA-1' });
    const [a, b] = [await dispatcherFor(kc), await dispatcherFor(kc)];
    expect(a.dispatcher).toBeDefined();
    expect(a.dispatcher).not.toBe(b.dispatcher);
  });

  it('requests share one dispatcher with the same TLS options; headers are still applied per request', async () => {
    const kc = shareConnections(kubeConfig('https://127.0.0.1:6443', { ca: 'CA-1' }));
    const [a, b] = [await dispatcherFor(kc), await dispatcherFor(kc)];
    expect(a.dispatcher).toBeDefined();
    expect(a.dispatcher).toBe(b.dispatcher);
    expect(a.dispatcher?.constructor.name).toBe('Agent');
    expect(a.auth).toBe('Bearer secret-token');
    expect(b.auth).toBe('Bearer secret-token');
  });

  it('is idempotent and keeps configs with different TLS options apart', async () => {
    const one = shareConnections(shareConnections(kubeConfig('https://127.0.0.1:6443', { ca: 'CA-1' })));
    const two = shareConnections(kubeConfig('https://127.0.0.1:6443', { ca: 'CA-2' }));
    const [a, b] = [await dispatcherFor(one), await dispatcherFor(two)];
    expect(a.dispatcher).not.toBe(b.dispatcher);
    expect((await dispatcherFor(one)).dispatcher).toBe(a.dispatcher);
    expect((await dispatcherFor(two)).dispatcher).toBe(b.dispatcher);
  });

  it('leaves proxied connections as client-node makes them', async () => {
    const proxied = shareConnections(kubeConfig('https://127.0.0.1:6443', { proxyUrl: 'http://proxy.example:3128' }));
    const [a, b] = [await dispatcherFor(proxied), await dispatcherFor(proxied)];
    expect(a.dispatcher?.constructor.name).toBe('ProxyAgent');
    expect(a.dispatcher).not.toBe(b.dispatcher);
  });

  describe('against a server', () => {
    let server: http.Server;
    let connections = 0;
    let url = '';
    beforeAll(async () => {
      server = http.createServer((_req, res) => {
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ kind: 'NamespaceList', apiVersion: 'v1', metadata: {}, items: [] }));
      });
      server.on('connection', () => { connections += 1; });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    async function connectionsFor(kc: KubeConfig, requests: number): Promise<number> {
      const before = connections;
      const core = kc.makeApiClient(CoreV1Api);
      for (let i = 0; i < requests; i++) await core.listNamespace();
      return connections - before;
    }

    it('sequential API calls reuse a few keep-alive connections instead of opening one each', async () => {
      expect(await connectionsFor(kubeConfig(url, { skipTLSVerify: true }), 6)).toBe(6);
      // undici may open a second connection while the first is being handed
      // back to its pool; what matters is that the count does not grow.
      expect(await connectionsFor(shareConnections(kubeConfig(url, { skipTLSVerify: true })), 6)).toBeLessThanOrEqual(2);
    });
  });
});
