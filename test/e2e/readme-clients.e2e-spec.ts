import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from '../support/build.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** Debian's Python, where `apt-get install python3-websockets` puts the library. */
const PYTHON = '/usr/bin/python3';

/** The README's Python client, as a reader would copy it. */
function readmePythonClient(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = /```python\n([\s\S]*?)```/.exec(readme);
  if (!block) throw new Error('README.md has no ```python block');
  return block[1];
}

async function pythonHasWebsockets(): Promise<boolean> {
  if (!existsSync(PYTHON)) return false;
  const probe = spawn(PYTHON, ['-c', 'import websockets'], { stdio: 'ignore' });
  const [code] = (await once(probe, 'exit')) as [number | null];
  return code === 0;
}

describe('The README’s /ws clients (e2e)', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('runs the Python snippet as written: the welcome, then AAPL and MSFT quotes', async () => {
    const available = await pythonHasWebsockets();
    if (!available) {
      // CI installs python3-websockets (.ci/run); a developer machine may not have it.
      if (process.env.CI) throw new Error(`${PYTHON} with the websockets module is required in CI`);
      console.warn(`SKIPPED: ${PYTHON} with websockets (apt-get install python3-websockets)`);
      return;
    }
    t = await createTestApp();
    const { port } = new URL(t.url);
    const code = readmePythonClient().replace(
      'ws://localhost:3000/ws',
      `ws://127.0.0.1:${port}/ws`,
    );
    expect(code).toContain(`ws://127.0.0.1:${port}/ws`);
    const child = spawn(PYTHON, ['-u', '-c', code], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const exited = once(child, 'exit');
    // The welcome and five quote lines, or the client's end, or 10 s.
    const enough = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 10_000);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.split('\n').filter(Boolean).length >= 6) done();
      });
      void exited.then(done);
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    await enough;
    child.kill('SIGTERM');
    await exited;
    const lines = out.split('\n').filter(Boolean);
    expect(err).toBe('');
    expect(lines[0]).toMatch(
      /^\{'type': 'welcome', 'epoch': '[^']+', 'tiers': \[100, 250, 500, 1000, 2000, 5000\]/,
    );
    expect(lines.length).toBeGreaterThanOrEqual(6);
    for (const line of lines.slice(1)) expect(line).toMatch(/^(AAPL|MSFT) \d+(\.\d+)? \d+$/);
  });
});
