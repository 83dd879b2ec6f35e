// @kubernetes/client-node builds a new connection pool for every API request:
// 2.x makes a new undici Agent in each KubeConfig.applySecurityAuthentication
// (1.x made a new https.Agent), so every request pays a new TCP connection, a
// TLS handshake and a new SecureContext (the client key parsed again), and the
// abandoned pool's socket lingers until its keep-alive timeout. Measured with
// the convergence bench, that was the largest CPU cost of a reconcile (about
// half of the controller's CPU). This makes the API clients built from one
// KubeConfig share one dispatcher per set of TLS options. Proxied connections
// (HTTP or SOCKS) are left as client-node makes them.
import { createHash } from 'node:crypto';
import type { ConnectOptions, KubeConfig } from '@kubernetes/client-node';

const shared = Symbol('awi.sharedConnections');

/** TLS options that decide which connections a dispatcher may reuse. */
const TLS_KEYS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername'] as const;

function tlsFingerprint(options: ConnectOptions): string {
  const h = createHash('sha256');
  for (const k of TLS_KEYS) {
    const values = ([] as unknown[]).concat(options[k] ?? []);
    h.update(`${k}=`);
    for (const v of values) h.update(Buffer.isBuffer(v) ? v : typeof v === 'string' ? v : JSON.stringify(v)).update(',');
    h.update(';');
  }
  return h.digest('hex');
}

type Cluster = ReturnType<KubeConfig['getCurrentCluster']>;
/** The (private) factory client-node calls once per request in applySecurityAuthentication. */
type DispatcherFactory = (cluster: Cluster, agentOptions: Parameters<KubeConfig['createDispatcherOptions']>[1]) => unknown;

/**
 * Patches `kc` (in place, once) so that API clients made from it afterwards
 * reuse connections. Returns `kc`.
 */
export function shareConnections(kc: KubeConfig): KubeConfig {
  const marked = kc as KubeConfig & { [shared]?: true };
  if (marked[shared]) return kc;
  const internals = kc as unknown as { createDispatcher?: DispatcherFactory };
  const create = internals.createDispatcher?.bind(kc);
  // A client-node without this factory has changed how it connects: fail at
  // startup (and in the unit test) rather than silently open a pool per request.
  if (!create) throw new Error('shareConnections: KubeConfig.createDispatcher is missing; this @kubernetes/client-node is not the one this module was written for');
  marked[shared] = true;
  const dispatchers = new Map<string, unknown>();
  internals.createDispatcher = (cluster, agentOptions) => {
    // The same decision client-node makes, through its public half.
    const options = kc.createDispatcherOptions(cluster, agentOptions);
    if (options.type !== 'agent') return create(cluster, agentOptions); // proxies, or the global dispatcher
    const key = tlsFingerprint(options.connect);
    let dispatcher = dispatchers.get(key);
    if (!dispatcher) {
      dispatcher = create(cluster, agentOptions);
      dispatchers.set(key, dispatcher);
    }
    return dispatcher;
  };
  return kc;
}
