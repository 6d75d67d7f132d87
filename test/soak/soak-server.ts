/**
 * The server under soak: the built `dist/main.js` in its own process, probed
 * from outside (`/proc/<pid>`) and through its env-gated `GET /debug/heap`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';

import { freePort } from '../support/free-port.js';

export { freePort };

/** The repository root (works from the sources and from dist-soak/). */
export { findRoot } from '../support/build.js';

/** Builds the server when dist/main.js is missing or older than src/. */
export { ensureBuilt as ensureServerBuilt } from '../support/build.js';

/** GET on a fresh connection (no keep-alive, so the probe holds no socket open between samples). */
export function getJson<T>(url: string, timeoutMs = 5000): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as T });
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}

/** `GET /debug/heap` (DEBUG_ENDPOINTS=true): measured after a full GC when run with --expose-gc. */
export interface HeapReport {
  gc: boolean;
  heapUsedBytes: number;
  rssBytes: number;
  activeHandles: number;
  openFds: number | null;
}

export interface ProcSample {
  rssBytes: number;
  fds: number;
}

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  pid: number;
  /** The last lines the server wrote (stdout and stderr). */
  log(): string[];
  /** Lines written at level warn or above, counted. */
  warnings(): number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `node --expose-gc dist/main.js` on 127.0.0.1 and a free port; resolves once it listens. */
export async function startServer(
  root: string,
  env: Record<string, string>,
): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--expose-gc', join(root, 'dist/main.js')], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
      SERVE_DASHBOARD: 'false',
      DEBUG_ENDPOINTS: 'true',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let warnings = 0;
  const collect = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      if (/\b(WARN|ERROR|FATAL)\b/.test(line)) warnings++;
      lines.push(line);
      if (lines.length > 200) lines.shift();
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited at start:\n${lines.join('\n')}`);
    try {
      if ((await getJson(`${url}/health`, 1000)).status === 200) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline)
      throw new Error(`server did not start in 30 s:\n${lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    url,
    pid: child.pid ?? -1,
    log: () => [...lines],
    warnings: () => warnings,
    exited,
  };
}

/** RSS and open file descriptors of a process, read from /proc (no cooperation needed). */
export function procSample(pid: number): ProcSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? NaN);
  return { rssBytes: rssKb * 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
}

/**
 * Reads metrics out of the Prometheus text at `/metrics`. A plain name sums
 * every labelled series of that metric; `name{label="v"}` picks one series.
 */
export function parseGauges(text: string, names: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? ([0-9.eE+-]+|NaN)$/.exec(line);
    if (!match) continue;
    const [, name, labels, value] = match;
    for (const key of [name, `${name}${labels ?? ''}`]) {
      if (names.includes(key)) out[key] = (out[key] ?? 0) + Number(value);
      if (labels === undefined) break;
    }
  }
  return out;
}

/** GET returning the raw body text (for `/metrics`). */
export function getText(url: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve(text));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}
