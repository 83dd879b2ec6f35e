import http from 'node:http';
import https from 'node:https';
import { describe, expect, it } from '@jest/globals';
import { HttpMethod, KubeConfig, RequestContext } from '@kubernetes/client-node';
import { shareConnections } from '../../src/kube/connections.js';

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

async function agentFor(kc: KubeConfig): Promise<{ agent: http.Agent | https.Agent | undefined; auth: string | undefined }> {
  const ctx = new RequestContext('https://127.0.0.1:6443/api/v1/namespaces', HttpMethod.GET);
  await kc.applySecurityAuthentication(ctx);
  return { agent: ctx.getAgent(), auth: ctx.getHeaders()['Authorization'] };
}

describe('shareConnections', () => {
  it('client-node alone makes a new agent per request (the reason for this module)', async () => {
    const kc = kubeConfig('https://127.0.0.1:6443', { ca: 'CA-1' });
    const [a, b] = [await agentFor(kc), await agentFor(kc)];
    expect(a.agent).not.toBe(b.agent);
  });

  it('requests share one keep-alive agent with the same TLS options; headers are still applied per request', async () => {
    const kc = shareConnections(kubeConfig('https://127.0.0.1:6443', { ca: 'CA-1' }));
    const [a, b] = [await agentFor(kc), await agentFor(kc)];
    expect(a.agent).toBe(b.agent);
    expect(a.agent).toBeInstanceOf(https.Agent);
    expect((a.agent as https.Agent & { keepAlive: boolean }).keepAlive).toBe(true);
    expect(String((a.agent as https.Agent).options.ca)).toBe('CA-1');
    expect(a.auth).toBe('Bearer secret-token');
    expect(b.auth).toBe('Bearer secret-token');
  });

  it('is idempotent and keeps configs with different TLS options apart', async () => {
    const one = shareConnections(shareConnections(kubeConfig('https://127.0.0.1:6443', { ca: 'CA-1' })));
    const two = shareConnections(kubeConfig('https://127.0.0.1:6443', { ca: 'CA-2' }));
    const [a, b] = [await agentFor(one), await agentFor(two)];
    expect(a.agent).not.toBe(b.agent);
    expect(String((b.agent as https.Agent).options.ca)).toBe('CA-2');
    expect((await agentFor(one)).agent).toBe(a.agent);
  });

  it('leaves proxy and plain-http agents alone', async () => {
    const proxied = shareConnections(kubeConfig('https://127.0.0.1:6443', { proxyUrl: 'http://proxy.example:3128' }));
    const [a, b] = [await agentFor(proxied), await agentFor(proxied)];
    expect(a.agent?.constructor).not.toBe(https.Agent);
    expect(a.agent).not.toBe(b.agent);
    const plain = shareConnections(kubeConfig('http://127.0.0.1:8080', { skipTLSVerify: true }));
    const c = await agentFor(plain);
    expect(c.agent).toBeInstanceOf(http.Agent);
    expect(c.agent).not.toBeInstanceOf(https.Agent);
  });
});
