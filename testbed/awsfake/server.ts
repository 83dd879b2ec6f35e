// The AWS fake: one HTTP endpoint for AWS_ENDPOINT_URL. IAM and STS go to moto
// (a child process) except what the fake does itself (STS
// AssumeRoleWithWebIdentity, propagation lag on reads and assumes); EKS and
// EKS Auth are served in memory. Every call is counted, may be faulted, and is
// logged. The admin API lives under /_fake/ (admin.ts).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { handleAdmin, type AdminDeps } from './admin.js';
import { CallRecorder } from './counters.js';
import { EksService, eksOperation } from './eks.js';
import { assumeRoleForPodIdentity, eksAuthOperation } from './eksauth.js';
import { faultError, FaultEngine } from './faults.js';
import { TokenVerifier, type JwksLoader } from './jwks.js';
import { MotoIam } from './moto-iam.js';
import { proxyToMoto, startMoto } from './moto.js';
import { PropagationTracker } from './propagation.js';
import { AwsError, errorCodeFromXml, IAM_XMLNS, renderError, STS_XMLNS, type FakeResponse, type Protocol } from './protocol.js';
import { parseSigningScope, routeService } from './router.js';
import { assumeRoleWithWebIdentity, checkAssumeRolePropagation } from './sts-webidentity.js';
import type { AwsFakeOptions, ClusterConfig, FakeLogger, ServiceName } from './types.js';

export type { AwsFakeOptions, ClusterConfig, FaultRule, CallLogEntry, FaultKind } from './types.js';

export const DEFAULT_ACCOUNT_ID = '111122223333';
export const DEFAULT_REGION = 'us-east-1';
const MAX_BODY = 16 * 1024 * 1024;

export interface AwsFake {
  /** AWS_ENDPOINT_URL, e.g. http://127.0.0.1:41234 (the admin API is under <endpoint>/_fake/). */
  readonly endpoint: string;
  readonly port: number;
  readonly accountId: string;
  readonly region: string;
  /** moto's own endpoint (not counted, not faulted). */
  readonly motoEndpoint: string;
  readonly motoPid: number;
  /** In-process access for tests that run in the same process as the fake. */
  readonly internals: {
    eks: EksService;
    faults: FaultEngine;
    recorder: CallRecorder;
    propagation: PropagationTracker;
    verifier: TokenVerifier;
  };
  close(): Promise<void>;
}

const silent: FakeLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** Test seam: a JWKS loader other than reading the cluster (unit tests). */
export interface StartInternals {
  jwksLoader?: JwksLoader;
}

export async function startAwsFake(opts: AwsFakeOptions, internals: StartInternals = {}): Promise<AwsFake> {
  const accountId = opts.accountId ?? DEFAULT_ACCOUNT_ID;
  const region = opts.region ?? DEFAULT_REGION;
  const host = opts.host ?? '127.0.0.1';
  const logger = opts.logger ?? silent;
  const initialLagMs = opts.propagationLagMs ?? 0;
  let clusters: ClusterConfig[] = [...(opts.clusters ?? [])];

  const moto = await startMoto({ accountId, logger, ...(opts.motoServerPath ? { motoServerPath: opts.motoServerPath } : {}) });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const iam = new MotoIam(moto.url, accountId, region);
  const eks = new EksService(() => clusters, { accountId, region });
  const faults = new FaultEngine();
  const recorder = new CallRecorder();
  const propagation = new PropagationTracker(initialLagMs);
  const verifier = new TokenVerifier(() => clusters, internals.jwksLoader);
  const admin: AdminDeps = {
    moto,
    iam,
    eks,
    faults,
    recorder,
    propagation,
    verifier,
    initialLagMs,
    getClusters: () => clusters,
    setClusters: (c) => {
      clusters = [...c];
    },
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error({ err: String(err) }, 'awsfake: request failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
  });
  server.keepAliveTimeout = 65_000;

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const arrived = Date.now();
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    const method = (req.method ?? 'GET').toUpperCase();
    const body = await readBody(req);

    if (url.pathname === '/_fake' || url.pathname.startsWith('/_fake/')) {
      send(res, await handleAdmin(admin, method, url, body));
      return;
    }

    const params = formParams(req, url, body);
    const action = params.get('Action') ?? undefined;
    const scope = parseSigningScope(header(req, 'authorization'), url.searchParams);
    const service = routeService(scope, url.pathname, action);
    if (!service) {
      const what = scope ? `service "${scope.service}"` : `${method} ${url.pathname}`;
      recorder.count('unknown');
      const out = renderError('rest-json', new AwsError('UnknownServiceException', 400, `The AWS fake does not serve ${what}`));
      send(res, out);
      recorder.record({ time: new Date(arrived).toISOString(), api: 'unknown', status: out.status, outcome: out.errorCode ?? 'error', durationMs: Date.now() - arrived });
      return;
    }
    const protocol: Protocol = service === 'iam' || service === 'sts' ? 'query' : 'rest-json';
    const xmlns = service === 'sts' ? STS_XMLNS : IAM_XMLNS;
    const operation =
      protocol === 'query' ? (action ?? 'Unknown') : service === 'eks' ? eksOperation(method, url.pathname) : eksAuthOperation(method, url.pathname);
    const api = `${service}:${operation}`;
    recorder.count(api);

    const decision = faults.decide(api);
    if (decision.latencyMs > 0) await sleep(decision.latencyMs);
    let out: FakeResponse;
    try {
      if (decision.error) throw faultError(service, decision.error.kind, decision.error.rule.message);
      out = await dispatch(service, operation, { method, url, headers: req.headers, body, params });
    } catch (err) {
      if (err instanceof AwsError) out = renderError(protocol, err, xmlns);
      else {
        logger.error({ api, err: err instanceof Error ? err.stack : String(err) }, 'awsfake: handler failed');
        const code = protocol === 'query' ? 'InternalFailure' : service === 'eks' ? 'ServerException' : 'InternalServerException';
        out = renderError(protocol, new AwsError(code, 500, `awsfake: ${(err as Error).message ?? String(err)}`), xmlns);
      }
    }
    send(res, out);
    recorder.record({
      time: new Date(arrived).toISOString(),
      api,
      status: out.status,
      outcome: out.status < 400 ? 'ok' : (out.errorCode ?? `HTTP${out.status}`),
      ...(decision.logged ? { fault: decision.logged } : {}),
      ...(decision.latencyMs > 0 ? { latencyMs: decision.latencyMs } : {}),
      durationMs: Date.now() - arrived,
      ...(out.detail ? { detail: out.detail } : {}),
    });
  }

  interface Req {
    method: string;
    url: URL;
    headers: http.IncomingHttpHeaders;
    body: Buffer;
    params: URLSearchParams;
  }

  const assumedAccessKeys = new Set<string>();

  async function proxy(service: ServiceName, r: Req): Promise<FakeResponse> {
    // moto picks the service from the credential scope: give unsigned requests one.
    const headers = r.headers.authorization
      ? r.headers
      : { ...r.headers, authorization: `AWS4-HMAC-SHA256 Credential=testing/20000101/${region}/${service}/aws4_request, SignedHeaders=host, Signature=0` };
    // Requests signed with credentials from sts:AssumeRole act in the role's
    // account (moto maps those keys itself); all others in the default account.
    const accessKey = /Credential=([^/]+)\//.exec(String(headers.authorization))?.[1] ?? '';
    const routed = assumedAccessKeys.has(accessKey) ? headers : { ...headers, 'x-moto-account-id': accountId };
    const p = await proxyToMoto(moto.url, { method: r.method, url: r.url.pathname + r.url.search, headers: routed, body: r.body }, agent);
    const code = p.status >= 400 ? errorCodeFromXml(p.body.toString('utf8')) : undefined;
    return { status: p.status, headers: p.headers, body: p.body, ...(code ? { errorCode: code } : {}) };
  }

  async function dispatch(service: ServiceName, operation: string, r: Req): Promise<FakeResponse> {
    switch (service) {
      case 'iam': {
        const roleName = r.params.get('RoleName');
        if (operation === 'GetRole' && roleName && propagation.hiddenFromReads(roleName)) {
          throw new AwsError('NoSuchEntity', 404, `The role with name ${roleName} cannot be found.`);
        }
        const out = await proxy('iam', r);
        if (out.status < 300) propagation.noteIamWrite(operation, r.params);
        return out;
      }
      case 'sts':
        if (operation === 'AssumeRoleWithWebIdentity') return assumeRoleWithWebIdentity({ verifier, iam, propagation, logger }, r.params);
        if (operation === 'AssumeRole') {
          checkAssumeRolePropagation(propagation, r.params);
          const out = await proxy('sts', r);
          const key = /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(out.body.toString('utf8'))?.[1];
          if (out.status < 300 && key) assumedAccessKeys.add(key);
          return out;
        }
        return proxy('sts', r);
      case 'eks':
        return eks.handle({ method: r.method, path: r.url.pathname, query: r.url.searchParams, body: r.body });
      case 'eks-auth':
        return assumeRoleForPodIdentity({ eks, verifier, iam, propagation, logger }, r.method, r.url.pathname, r.body);
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info({ endpoint, moto: moto.url, accountId, region, clusters: clusters.map((c) => c.name) }, 'AWS fake listening');

  let closing: Promise<void> | undefined;
  return {
    endpoint,
    port,
    accountId,
    region,
    motoEndpoint: moto.url,
    motoPid: moto.pid,
    internals: { eks, faults, recorder, propagation, verifier },
    close: () =>
      (closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        agent.destroy();
        iam.close();
        await moto.stop();
        logger.info({ endpoint }, 'AWS fake stopped');
      })()),
  };
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Query-string parameters plus, for form posts, the body's. */
function formParams(req: http.IncomingMessage, url: URL, body: Buffer): URLSearchParams {
  const params = new URLSearchParams(url.search);
  const type = header(req, 'content-type') ?? '';
  if (body.length > 0 && (type.includes('application/x-www-form-urlencoded') || (type === '' && /^[A-Za-z]+=/.test(body.toString('utf8', 0, 64))))) {
    for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params.append(k, v);
  }
  return params;
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: http.ServerResponse, out: FakeResponse): void {
  const body = typeof out.body === 'string' ? Buffer.from(out.body, 'utf8') : out.body;
  res.writeHead(out.status, { ...out.headers, 'content-length': String(body.length) });
  res.end(body);
}
