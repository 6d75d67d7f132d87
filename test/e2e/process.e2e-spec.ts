import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ShutdownNotice } from '../../src/shared/protocol.js';
import { ensureBuilt, ROOT } from '../support/build.js';
import { freePort } from '../support/free-port.js';
import { closeAllClients, connectClient, requestSubscribe, waitFor } from '../support/test-app.js';

const MAIN = join(ROOT, 'dist/main.js');

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function run(env: Record<string, string>): Run {
  const child = spawn(process.execPath, [MAIN], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', SERVE_DASHBOARD: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  return { child, output: () => text, exited };
}

describe('The server process (e2e)', () => {
  beforeAll(() => ensureBuilt(), 180_000);

  it('refuses bad configuration with one message naming every bad key, exit code 1', async () => {
    const r = run({
      PORT: 'eighty',
      FEED_TICKS_PER_SECOND: '-3',
      LOG_LEVEL: 'chatty',
      SYMBOLS_FILE: '/nonexistent/universe.json',
    });
    const { code } = await r.exited;
    expect(code).toBe(1);
    const out = r.output();
    for (const key of [
      'PORT="eighty"',
      'FEED_TICKS_PER_SECOND="-3"',
      'LOG_LEVEL="chatty"',
      'SYMBOLS_FILE=',
    ]) {
      expect(out).toContain(key);
    }
    expect(out).not.toContain('    at '); // a message, not a stack trace
  });

  it('on SIGTERM tells clients, closes them and exits 0 within the shutdown budget', async () => {
    const port = await freePort();
    const r = run({ PORT: String(port), LOG_LEVEL: 'log', SHUTDOWN_TIMEOUT_MS: '4000' });
    try {
      await waitFor(() => r.output().includes('listening on'), 20_000, 'the server to listen');
      const client = await connectClient(`http://127.0.0.1:${port}`);
      const notices: ShutdownNotice[] = [];
      client.on('shutdown', (n) => notices.push(n));
      const ack = await requestSubscribe(client, { symbols: ['AAPL'] });
      expect(ack.ok).toBe(true);
      const disconnected = new Promise<string>((resolve) => client.once('disconnect', resolve));
      const started = Date.now();
      r.child.kill('SIGTERM');
      expect(await disconnected).toBe('io server disconnect');
      expect(notices).toEqual([{ reason: 'server shutting down (SIGTERM)' }]);
      const { code } = await r.exited;
      expect(code).toBe(0);
      expect(Date.now() - started).toBeLessThan(4000);
      expect(r.output()).not.toMatch(/unhandled|ERROR/i);
    } finally {
      closeAllClients();
      r.child.kill('SIGKILL');
    }
  });
});
