import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { freePort } from './free-port.js';

/** Debian's redis-server (`apt-get install -y redis-server`). */
export const REDIS_SERVER = '/usr/bin/redis-server';

/**
 * Whether the cluster tests can run. Without redis-server they are skipped
 * loudly, except under CI (or REQUIRE_REDIS=1), where a missing Redis fails:
 * `.ci/run` installs it.
 */
export function redisAvailable(): boolean {
  if (existsSync(REDIS_SERVER)) return true;
  if (process.env.CI || process.env.REQUIRE_REDIS) {
    throw new Error(`${REDIS_SERVER} is missing: apt-get install -y redis-server`);
  }
  console.warn(`SKIPPED: the cluster tests need ${REDIS_SERVER} (apt-get install -y redis-server)`);
  return false;
}

/** The redis-server version (`7.0.15`). */
export function redisVersion(): string {
  const out = execFileSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' });
  return /v=(\S+)/.exec(out)?.[1] ?? out.trim();
}

/**
 * A throw-away redis-server on a free 127.0.0.1 port: no persistence, never
 * the system's Redis. `stop()` then `start()` again restarts it on the same
 * port, empty (what a Redis restart without persistence does).
 */
export class TestRedis {
  private child: ChildProcess | undefined;
  private constructor(readonly port: number) {}

  static async start(): Promise<TestRedis> {
    const redis = new TestRedis(await freePort());
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    if (this.child) return;
    const child = spawn(
      REDIS_SERVER,
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    this.child = child;
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
    });
    const deadline = Date.now() + 10_000;
    while (!(await this.ping())) {
      if (Date.now() > deadline) throw new Error(`redis-server did not start on ${this.port}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Kills it (SIGKILL: nothing is saved) and waits until it is gone. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  /** SIGSTOP / SIGCONT: Redis stalls with its connections open. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** Sends one inline command and resolves with the raw reply (for INFO, XLEN…). */
  command(...args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(this.port, '127.0.0.1');
      let reply = '';
      const line = args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('');
      socket.once('connect', () => socket.write(`*${args.length}\r\n${line}`));
      socket.on('data', (d: Buffer) => {
        reply += d.toString();
        if (isComplete(reply)) {
          socket.destroy();
          resolve(reply);
        }
      });
      socket.once('error', reject);
      socket.setTimeout(2000, () => {
        socket.destroy();
        reject(new Error(`redis ${args[0]} timed out`));
      });
    });
  }

  private async ping(): Promise<boolean> {
    try {
      return (await this.command('PING')).startsWith('+PONG');
    } catch {
      return false;
    }
  }
}

/** Whether a RESP2 reply of a simple, integer, error or bulk string is whole. */
function isComplete(reply: string): boolean {
  if (/^[+\-:]/.test(reply)) return reply.endsWith('\r\n');
  const bulk = /^\$(-?\d+)\r\n/.exec(reply);
  if (bulk) {
    const length = Number(bulk[1]);
    return length < 0 || Buffer.byteLength(reply) >= bulk[0].length + length + 2;
  }
  return reply.endsWith('\r\n');
}
