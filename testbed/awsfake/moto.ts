// moto (IAM and STS) as a child process, and the HTTP pass-through to it.
//
// moto must not outlive us, also when we are killed: it runs in its own
// process group (stop() signals the group), with PR_SET_PDEATHSIG on Linux and
// a watcher thread that exits when its parent changes (any OS), both set up by
// a small Python wrapper that then runs moto_server in the same interpreter.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { FakeLogger } from './types.js';

export interface MotoServer {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly pid: number;
  /** POST /moto-api/reset: forget every IAM and STS object. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/** $AWI_MOTO_SERVER, else <project>/.cache/venv/bin/moto_server (from testbed/awsfake or dist/testbed/awsfake). */
export function defaultMotoServerPath(): string {
  if (process.env.AWI_MOTO_SERVER) return process.env.AWI_MOTO_SERVER;
  const here = path.dirname(fileURLToPath(import.meta.url));
  const root = here.includes(`${path.sep}dist${path.sep}`) ? path.resolve(here, '..', '..', '..') : path.resolve(here, '..', '..');
  return path.join(root, '.cache', 'venv', 'bin', 'moto_server');
}

const WRAPPER = `
import ctypes, os, runpy, signal, sys, threading, time
parent = int(sys.argv[1])
try:
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
except Exception:
    pass
if os.getppid() != parent:
    sys.exit(0)
def watch():
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(0)
threading.Thread(target=watch, daemon=True).start()
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name="__main__")
`;

/** The interpreter named by the script's #! line, or python3 next to it. */
function interpreterFor(script: string): string {
  const first = readFileSync(script, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(first);
  if (m) {
    // "#!/usr/bin/env python3"
    if (m[1]!.endsWith('/env') && m[2]) return m[2];
    return m[1]!;
  }
  const sibling = path.join(path.dirname(script), 'python3');
  return existsSync(sibling) ? sibling : 'python3';
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function startMoto(opts: { motoServerPath?: string; accountId: string; logger?: FakeLogger; timeoutMs?: number }): Promise<MotoServer> {
  const script = opts.motoServerPath ?? defaultMotoServerPath();
  if (!existsSync(script)) throw new Error(`moto_server not found at ${script} (install moto[server] into .cache/venv, or set AWI_MOTO_SERVER)`);
  let lastErr: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      return await launch(script, port, opts.accountId, opts.logger, opts.timeoutMs ?? 60_000);
    } catch (err) {
      lastErr = err as Error; // most likely the port was taken between freePort() and bind
    }
  }
  throw lastErr ?? new Error('moto did not start');
}

async function launch(script: string, port: number, accountId: string, logger: FakeLogger | undefined, timeoutMs: number): Promise<MotoServer> {
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(interpreterFor(script), ['-c', WRAPPER, String(process.pid), script, '-H', '127.0.0.1', '-p', String(port)], {
    // No MOTO_ACCOUNT_ID: it would pin every request to one account, even those
    // signed with credentials from sts:AssumeRole into another. The front sends
    // x-moto-account-id for the default account instead (server.ts).
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (c: string) => {
    stderr = (stderr + c).slice(-4000);
  });
  let exited: string | undefined;
  child.on('exit', (code, signal) => (exited = `exit ${code ?? signal}`));

  // Last resort if our process exits without close(): kill the group synchronously.
  const onExit = (): void => killGroup(child, 'SIGKILL');
  process.on('exit', onExit);

  const stop = async (): Promise<void> => {
    process.off('exit', onExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5000);
    await done;
    clearTimeout(timer);
  };

  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) {
      await stop();
      throw new Error(`moto_server stopped before it answered (${exited}): ${stderr.trim().split('\n').slice(-5).join('\n')}`);
    }
    if (await answers(`${url}/moto-api/data.json`)) {
      logger?.info({ url, motoPid: child.pid }, 'moto started');
      return {
        url,
        pid: child.pid!,
        stop,
        reset: async () => {
          const res = await fetch(`${url}/moto-api/reset`, { method: 'POST' });
          if (!res.ok) throw new Error(`moto reset: HTTP ${res.status}`);
        },
      };
    }
    await sleep(150);
  }
  await stop();
  throw new Error(`moto_server did not answer on ${url} within ${timeoutMs} ms: ${stderr.slice(-500)}`);
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

// ---- pass-through -----------------------------------------------------------

export interface ProxyRequest {
  method: string;
  /** Path and query. */
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface ProxyResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);

/** Forwards a request to moto unchanged (same signature headers) and buffers the answer. */
export function proxyToMoto(motoUrl: string, req: ProxyRequest, agent?: http.Agent): Promise<ProxyResponse> {
  const target = new URL(req.url, motoUrl);
  const headers: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
  headers['content-length'] = String(req.body.length);
  return new Promise((resolve, reject) => {
    const out = http.request(target, { method: req.method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const h: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) {
          if (v === undefined || HOP_BY_HOP.has(k) || k === 'content-length') continue;
          h[k] = Array.isArray(v) ? v.join(', ') : v;
        }
        resolve({ status: res.statusCode ?? 502, headers: h, body: Buffer.concat(chunks) });
      });
      res.on('error', reject);
    });
    out.on('error', reject);
    out.end(req.body);
  });
}
