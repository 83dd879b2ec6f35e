// The admin API under /_fake/ (plain JSON, no SigV4): reset, counters, call
// log, fault rules, propagation lag, associations, clusters.
//
//   GET    /_fake/health
//   POST   /_fake/reset            moto reset + associations + faults + counters + log + lag (to its start value)
//   GET    /_fake/calls            {"iam:CreateRole": 3, ...}
//   POST   /_fake/calls/reset      counters and log
//   GET    /_fake/calls/log        [{seq, time, api, status, outcome, fault?, latencyMs?, durationMs}] (?api=, ?since=<seq>)
//   GET    /_fake/faults           rules with {seen, injected}
//   PUT    /_fake/faults           JSON array of rules (replaces)
//   DELETE /_fake/faults
//   GET    /_fake/propagation      {"lagMs": n}
//   PUT    /_fake/propagation      {"lagMs": n}
//   GET    /_fake/associations     every Pod Identity association, all clusters
//   GET    /_fake/clusters
//   PUT    /_fake/clusters         JSON array of clusters (replaces)
//   GET    /_fake/addons           every installed EKS add-on, all clusters
//   PUT    /_fake/addons/<cluster>/<addon>   installs it: {"addonVersion"?, "status"?} (default ACTIVE)
//   DELETE /_fake/addons/<cluster>/<addon>   removes it (404 when it was not installed)
import type { CallRecorder } from './counters.js';
import { ADDON_STATUSES, type AddonStatus, type EksService } from './eks.js';
import { validateRules, type FaultEngine } from './faults.js';
import type { TokenVerifier } from './jwks.js';
import type { MotoIam } from './moto-iam.js';
import type { MotoServer } from './moto.js';
import type { PropagationTracker } from './propagation.js';
import { AwsError, jsonResponse, type FakeResponse } from './protocol.js';
import type { ClusterConfig } from './types.js';

export interface AdminDeps {
  moto: MotoServer;
  iam: MotoIam;
  eks: EksService;
  faults: FaultEngine;
  recorder: CallRecorder;
  propagation: PropagationTracker;
  verifier: TokenVerifier;
  initialLagMs: number;
  getClusters(): ClusterConfig[];
  setClusters(clusters: ClusterConfig[]): void;
}

class BadRequest extends Error {}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8') || 'null');
  } catch {
    throw new BadRequest('body is not valid JSON');
  }
}

export function validateClusters(input: unknown): ClusterConfig[] {
  if (!Array.isArray(input)) throw new BadRequest('clusters must be a JSON array');
  return input.map((c, i) => {
    const r = c as Partial<ClusterConfig> | null;
    if (!r || typeof r.name !== 'string' || typeof r.issuer !== 'string') throw new BadRequest(`cluster ${i}: "name" and "issuer" are required strings`);
    if (r.kubeconfigPath === undefined && r.jwks === undefined) throw new BadRequest(`cluster ${i}: give "kubeconfigPath" or "jwks"`);
    return r as ClusterConfig;
  });
}

export async function handleAdmin(deps: AdminDeps, method: string, url: URL, body: Buffer): Promise<FakeResponse> {
  const route = `${method} ${url.pathname.replace(/\/+$/, '')}`;
  try {
    const addon = /^(PUT|DELETE) \/_fake\/addons\/([^/]+)\/([^/]+)$/.exec(route);
    if (addon) return addonRoute(deps, addon[1]!, decodeURIComponent(addon[2]!), decodeURIComponent(addon[3]!), body);
    switch (route) {
      case 'GET /_fake/health':
        return jsonResponse({ ok: true, moto: deps.moto.url });
      case 'POST /_fake/reset':
        await deps.moto.reset();
        deps.iam.reset();
        deps.eks.reset();
        deps.faults.clear();
        deps.recorder.reset();
        deps.propagation.reset();
        deps.propagation.setLag(deps.initialLagMs);
        deps.verifier.invalidate();
        return jsonResponse({ ok: true });
      case 'GET /_fake/calls':
        return jsonResponse(deps.recorder.snapshot());
      case 'POST /_fake/calls/reset':
        deps.recorder.reset();
        return jsonResponse({ ok: true });
      case 'GET /_fake/calls/log': {
        const since = url.searchParams.get('since');
        return jsonResponse(
          deps.recorder.log({
            ...(url.searchParams.get('api') ? { api: url.searchParams.get('api')! } : {}),
            ...(since !== null ? { sinceSeq: Number(since) } : {}),
          }),
        );
      }
      case 'GET /_fake/faults':
        return jsonResponse(deps.faults.list());
      case 'PUT /_fake/faults': {
        let rules;
        try {
          rules = validateRules(parseJson(body));
        } catch (err) {
          throw new BadRequest((err as Error).message);
        }
        deps.faults.set(rules);
        return jsonResponse(deps.faults.list());
      }
      case 'DELETE /_fake/faults':
        deps.faults.clear();
        return jsonResponse({ ok: true });
      case 'GET /_fake/propagation':
        return jsonResponse({ lagMs: deps.propagation.lagMs });
      case 'PUT /_fake/propagation': {
        const v = parseJson(body) as { lagMs?: unknown } | null;
        if (!v || typeof v.lagMs !== 'number' || !Number.isFinite(v.lagMs) || v.lagMs < 0) throw new BadRequest('body must be {"lagMs": <non-negative number>}');
        deps.propagation.setLag(v.lagMs);
        return jsonResponse({ lagMs: deps.propagation.lagMs });
      }
      case 'GET /_fake/associations':
        return jsonResponse(deps.eks.all().map((a) => deps.eks.view(a)));
      case 'GET /_fake/clusters':
        return jsonResponse(deps.getClusters());
      case 'GET /_fake/addons':
        return jsonResponse(deps.eks.allAddons());
      case 'PUT /_fake/clusters':
        deps.setClusters(validateClusters(parseJson(body)));
        deps.verifier.invalidate();
        return jsonResponse(deps.getClusters());
      default:
        return jsonResponse({ error: `no admin route ${route}` }, 404);
    }
  } catch (err) {
    if (err instanceof BadRequest) return jsonResponse({ error: err.message }, 400);
    throw err;
  }
}

function addonRoute(deps: AdminDeps, method: string, cluster: string, name: string, body: Buffer): FakeResponse {
  if (method === 'DELETE') {
    return deps.eks.removeAddon(cluster, name) ? jsonResponse({ ok: true }) : jsonResponse({ error: `add-on ${name} is not installed in cluster ${cluster}` }, 404);
  }
  const v = (parseJson(body) ?? {}) as { addonVersion?: unknown; status?: unknown };
  if (typeof v !== 'object' || Array.isArray(v)) throw new BadRequest('body must be {"addonVersion"?: string, "status"?: string}');
  if (v.addonVersion !== undefined && typeof v.addonVersion !== 'string') throw new BadRequest('addonVersion must be a string');
  if (v.status !== undefined && !ADDON_STATUSES.includes(v.status as AddonStatus)) throw new BadRequest(`status must be one of ${ADDON_STATUSES.join(', ')}`);
  try {
    return jsonResponse(
      deps.eks.installAddon(cluster, name, {
        ...(v.addonVersion !== undefined ? { addonVersion: v.addonVersion } : {}),
        ...(v.status !== undefined ? { status: v.status as AddonStatus } : {}),
      }),
    );
  } catch (err) {
    if (err instanceof AwsError) throw new BadRequest(err.message);
    throw err;
  }
}
