// @kubernetes/client-node 1.x builds a new https.Agent for every API request
// (KubeConfig.applySecurityAuthentication -> createAgent), so every request
// pays a new TCP connection, a TLS handshake and a new SecureContext (the
// client key parsed again). Measured with the convergence bench, that was the
// largest CPU cost of a reconcile (about half of the controller's CPU). This
// makes the API clients built from one KubeConfig share a keep-alive agent per
// set of TLS options. Agents of other kinds (proxies) are left as they are.
import { createHash } from 'node:crypto';
import https from 'node:https';
import type { KubeConfig, RequestContext } from '@kubernetes/client-node';

const shared = Symbol('awi.sharedConnections');

/** TLS options that decide which connections an agent may reuse. */
const TLS_KEYS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername'] as const;

function tlsFingerprint(options: https.AgentOptions): string {
  const h = createHash('sha256');
  for (const k of TLS_KEYS) {
    const values = ([] as unknown[]).concat(options[k] ?? []);
    h.update(`${k}=`);
    for (const v of values) h.update(Buffer.isBuffer(v) ? v : typeof v === 'string' ? v : JSON.stringify(v)).update(',');
    h.update(';');
  }
  return h.digest('hex');
}

/**
 * Patches `kc` (in place, once) so that API clients made from it afterwards
 * reuse connections. Returns `kc`.
 */
export function shareConnections(kc: KubeConfig, agentOptions: https.AgentOptions = {}): KubeConfig {
  const marked = kc as KubeConfig & { [shared]?: true };
  if (marked[shared]) return kc;
  marked[shared] = true;
  const apply = kc.applySecurityAuthentication.bind(kc);
  const agents = new Map<string, https.Agent>();
  kc.applySecurityAuthentication = async (context: RequestContext): Promise<void> => {
    await apply(context);
    const made = context.getAgent();
    if (!made || made.constructor !== https.Agent) return; // proxy or plain-http agents: untouched
    const options = (made as https.Agent).options;
    const key = tlsFingerprint(options);
    let agent = agents.get(key);
    if (!agent) {
      agent = new https.Agent({ ...options, keepAlive: true, ...agentOptions });
      agents.set(key, agent);
    }
    context.setAgent(agent);
  };
  return kc;
}
