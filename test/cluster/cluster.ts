import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import type { HealthResponse } from '../../src/shared/market.js';
import { ROOT } from '../support/build.js';
import { freePort } from '../support/free-port.js';
import { waitFor } from '../support/test-app.js';

const MAIN = join(ROOT, 'dist/main.js');

/** One `node dist/main.js` of a cluster (the feed or a gateway). */
export class ClusterProcess {
  private text = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exitedAt: number | undefined;

  private constructor(
    readonly name: string,
    readonly port: number,
    readonly child: ChildProcess,
  ) {
    child.stdout?.on('data', (d: Buffer) => (this.text += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.text += d.toString()));
    this.exited = once(child, 'exit').then(([code, signal]) => {
      this.exitedAt = Date.now();
      return { code: code as number | null, signal: signal as NodeJS.Signals | null };
    });
  }

  /** Spawns the process and waits until it listens. */
  static async spawn(
    name: string,
    env: Record<string, string>,
    port?: number,
  ): Promise<ClusterProcess> {
    const chosen = port ?? (await freePort());
    const child = spawn(process.execPath, [MAIN], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOST: '127.0.0.1',
        PORT: String(chosen),
        SERVE_DASHBOARD: 'false',
        LOG_LEVEL: 'log',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const p = new ClusterProcess(name, chosen, child);
    await waitFor(
      () => p.output().includes('listening on') || p.exitedAt !== undefined,
      30_000,
      `${name} to listen`,
    );
    if (p.exitedAt !== undefined) throw new Error(`${name} exited:\n${p.output()}`);
    return p;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.exitedAt === undefined;
  }

  output(): string {
    return this.text;
  }

  async get<T>(path: string): Promise<T> {
    const res = await fetch(this.url + path);
    if (!res.ok) throw new Error(`${this.name} ${path}: HTTP ${res.status}`);
    return (await res.json()) as T;
  }

  health(): Promise<HealthResponse> {
    return this.get<HealthResponse>('/health');
  }

  async metrics(): Promise<string> {
    return (await fetch(`${this.url}/metrics`)).text();
  }

  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.running) return;
    this.child.kill(signal);
    await this.exited;
  }
}
