import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { HealthResponse } from '../../src/shared/market.js';
import { ensureBuilt, ROOT } from '../support/build.js';
import { freePort } from '../support/free-port.js';
import { waitFor } from '../support/test-app.js';

const MAIN = join(ROOT, 'dist/main.js');

/** Runs the built server with `env`, from the repository root (REPLAY_FILE paths are relative to it). */
function run(env: Record<string, string>) {
  const child: ChildProcess = spawn(process.execPath, [MAIN], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', SERVE_DASHBOARD: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, output: () => text, exited };
}

describe('The server process with FEED=replay (e2e)', () => {
  beforeAll(() => ensureBuilt(), 180_000);

  it.each([
    [
      'a malformed row',
      'test/fixtures/replay/bad-row.csv',
      'tickstream: Cannot replay REPLAY_FILE: test/fixtures/replay/bad-row.csv:4: price: expected a number, got "abc"\n',
    ],
    [
      'rows going back in time',
      'test/fixtures/replay/back-in-time.csv',
      'tickstream: Cannot replay REPLAY_FILE: test/fixtures/replay/back-in-time.csv:5: time goes back: 2025-01-01T12:00:00.015Z is before 2025-01-01T12:00:00.020Z on line 4\n',
    ],
    [
      'a missing file',
      'test/fixtures/replay/nothing-here.csv',
      'tickstream: Cannot replay REPLAY_FILE: test/fixtures/replay/nothing-here.csv: file not found\n',
    ],
  ])(
    'refuses to start on %s: file:line and what is wrong, exit code 1',
    async (_, file, message) => {
      const r = run({ PORT: '0', FEED: 'replay', REPLAY_FILE: file });
      expect(await r.exited).toBe(1);
      expect(r.output()).toBe(message);
    },
  );

  it.each([
    [
      'in a folder that does not exist',
      'test/fixtures/no-such-folder/ticks.csv',
      'its folder does not exist',
    ],
    [
      'that is some other file',
      'test/fixtures/replay/massive-trades.csv',
      'it exists and is not a tickstream recording (its first line is not "ts,symbol,price,size,bid,ask"); choose another file or move it away',
    ],
  ])('refuses a RECORD_FILE %s, naming it, exit code 1', async (_, file, reason) => {
    const before = readFileSync(join(ROOT, 'test/fixtures/replay/massive-trades.csv'));
    const r = run({ PORT: '0', RECORD_FILE: file });
    expect(await r.exited).toBe(1);
    expect(r.output()).toBe(`tickstream: Cannot record to RECORD_FILE: ${file}: ${reason}\n`);
    expect(readFileSync(join(ROOT, 'test/fixtures/replay/massive-trades.csv'))).toEqual(before);
  });

  it('refuses a truncated .gz rather than replaying part of it', async () => {
    const r = run({
      PORT: '0',
      FEED: 'replay',
      REPLAY_FILE: 'test/fixtures/replay/truncated.csv.gz',
    });
    expect(await r.exited).toBe(1);
    expect(r.output()).toMatch(
      /^tickstream: Cannot replay REPLAY_FILE: test\/fixtures\/replay\/truncated\.csv\.gz:\d+: the gzip data ends here, in the middle of the stream: the file is truncated\n$/,
    );
  });

  it('reports a bad REPLAY_* setting with the rest of the configuration', async () => {
    const r = run({ FEED: 'replay', REPLAY_SPEED: 'fast', PORT: 'x' });
    expect(await r.exited).toBe(1);
    const out = r.output();
    for (const problem of [
      'PORT="x": expected an integer from 0 to 65535',
      'REPLAY_FILE: required when FEED=replay',
      'REPLAY_SPEED="fast": expected a positive number or max',
    ]) {
      expect(out).toContain(problem);
    }
    expect(out).not.toContain('    at ');
  });

  it('replays a good file to the end and stays up, serving the last values', async () => {
    const port = await freePort();
    const r = run({
      PORT: String(port),
      FEED: 'replay',
      REPLAY_FILE: 'test/fixtures/replay/massive-trades.csv.gz',
      REPLAY_SPEED: 'max',
      LOG_LEVEL: 'log',
    });
    try {
      await waitFor(() => r.output().includes('listening on'), 20_000, 'the server to listen');
      const health = async () =>
        (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as HealthResponse;
      await waitFor(async () => (await health()).feed === 'closed', 10_000, 'the replay to end');
      expect(await health()).toMatchObject({ feed: 'closed', ticksTotal: 36, symbols: 3 });
      expect(r.output()).toContain(
        'replaying test/fixtures/replay/massive-trades.csv.gz (massive-trades): 36 rows of 3 symbols',
      );
      expect(r.output()).not.toMatch(/ERROR/);
    } finally {
      r.child.kill('SIGTERM');
      await r.exited;
    }
  });
});
