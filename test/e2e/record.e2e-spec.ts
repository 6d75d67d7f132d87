import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MARKET_FEED, type MarketFeed } from '../../src/market/market-feed.js';
import type { HealthResponse } from '../../src/shared/market.js';
import type { Quote } from '../../src/shared/protocol.js';
import { createTestApp, metricSample, type TestApp, waitFor } from '../support/test-app.js';

/** What both servers must agree on: everything but the times and prevClose (the replay has no day before). */
function comparable(quotes: readonly Quote[]) {
  const sorted = [...quotes].sort((a, b) => a.symbol.localeCompare(b.symbol));
  return sorted.map(({ symbol, seq, price, bid, ask, open, high, low, volume }) => ({
    symbol,
    seq,
    price,
    bid,
    ask,
    open,
    high,
    low,
    volume,
  }));
}

describe('RECORD_FILE (e2e)', () => {
  let dir: string | undefined;
  const apps: TestApp[] = [];
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  const get = async <T>(t: TestApp, path: string): Promise<T> => {
    const res = await fetch(`${t.url}${path}`);
    expect(res.status).toBe(200);
    return (await res.json()) as T;
  };

  it('records the simulator; a replay of the recording ends where the simulator stopped', async () => {
    dir = mkdtempSync(join(tmpdir(), 'tickstream-record-e2e-'));
    const file = join(dir, 'ticks.csv');
    const recording = await createTestApp({ RECORD_FILE: file, FEED_TICKS_PER_SECOND: '5000' });
    apps.push(recording);
    await waitFor(
      async () => (await get<HealthResponse>(recording, '/health')).ticksTotal >= 2000,
      10_000,
      '2,000 simulated ticks',
    );
    // Stop the feed, so the last values stay put while they are read.
    recording.app.get<MarketFeed>(MARKET_FEED).stop();
    const { ticksTotal } = await get<HealthResponse>(recording, '/health');
    const original = await get<Quote[]>(recording, '/api/quotes');
    const metrics = await (await fetch(`${recording.url}/metrics`)).text();
    expect(metricSample(metrics, 'tickstream_record_rows_total')).toBe(ticksTotal);
    expect(metricSample(metrics, 'tickstream_record_dropped_total')).toBe(0);
    await recording.close();
    apps.splice(0);

    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines[0]).toBe('ts,symbol,price,size,bid,ask');
    expect(lines.filter(Boolean).length - 1).toBe(ticksTotal);

    const replay = await createTestApp({ FEED: 'replay', REPLAY_FILE: file, REPLAY_SPEED: 'max' });
    apps.push(replay);
    await waitFor(
      async () => (await get<HealthResponse>(replay, '/health')).feed === 'closed',
      10_000,
      'the replay of the recording to end',
    );
    expect((await get<HealthResponse>(replay, '/health')).ticksTotal).toBe(ticksTotal);
    const replayed = await get<Quote[]>(replay, '/api/quotes');
    // The simulator's universe lists symbols that never traded; the replay knows only the traded ones.
    const traded = new Set(replayed.map((q) => q.symbol));
    expect(comparable(replayed)).toEqual(comparable(original.filter((q) => traded.has(q.symbol))));
    expect(original.filter((q) => !traded.has(q.symbol)).every((q) => q.seq === 0)).toBe(true);
  });
});
