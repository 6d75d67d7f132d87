import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_INSTRUMENTS } from '../../src/market/instruments.js';
import type { Quote } from '../../src/shared/protocol.js';
import {
  closeAllClients,
  connectClient,
  createTestApp,
  metricSample,
  requestSubscribe,
  scrapeMetric,
  type TestApp,
  waitFor,
} from '../support/test-app.js';
import { ManualFeed } from '../support/ticks.js';

describe('GET /metrics (e2e)', () => {
  let t: TestApp;
  // Nothing trades unless the test says so: every counter below has one right value.
  const feed = new ManualFeed(DEFAULT_INSTRUMENTS);
  beforeAll(async () => {
    t = await createTestApp({}, { feed });
  });
  afterAll(async () => {
    closeAllClients();
    await t.close();
  });

  it('exposes connections, subscriptions, ticks, quotes, rejections and staleness', async () => {
    // One trade each before anyone subscribes, so both symbols have a snapshot.
    feed.trade({ symbol: 'AAPL', price: 150 });
    feed.trade({ symbol: 'MSFT', price: 400 });
    const client = await connectClient(t.url);
    const quotes: Quote[] = [];
    const frames: Quote[][] = [];
    client.on('quotes', (b) => {
      frames.push(b);
      quotes.push(...b);
    });
    await requestSubscribe(client, { symbols: ['AAPL', 'MSFT'], intervalMs: 100 });
    await requestSubscribe(client, { symbols: 'bad' });

    // 5 + 3 trades in one event-loop turn: each symbol's are folded into one update at the
    // tier's next clock tick (n = 5 and n = 3), both in one frame. Conflation saved
    // Σ (n − 1) = 8 − 2 = 6 updates.
    const framesBefore = frames.length;
    for (const price of [150.1, 150.2, 149.9, 150.3, 150.25]) feed.trade({ symbol: 'AAPL', price });
    for (const price of [400.5, 399.75, 400.1]) feed.trade({ symbol: 'MSFT', price });
    const trades = () => quotes.reduce((n, q) => n + q.win.n, 0);
    await waitFor(() => trades() === 8, 3000, 'quotes carrying all 8 trades');
    expect(quotes.map((q) => [q.symbol, q.win.n])).toEqual([
      ['AAPL', 5],
      ['MSFT', 3],
    ]);
    expect(frames.length - framesBefore).toBe(1);

    const res = await fetch(`${t.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    const sample = (name: string, labels = '') => metricSample(text, name, labels);
    expect(sample('tickstream_connected_clients')).toBe(1);
    expect(sample('tickstream_subscriptions', 'symbol="AAPL",tier="100"')).toBe(1);
    expect(sample('tickstream_pipelines')).toBe(2);
    expect(sample('tickstream_ticks_total')).toBe(10);
    expect(sample('tickstream_updates_published_total')).toBe(2);
    expect(sample('tickstream_updates_conflated_total')).toBe(8 - quotes.length);
    expect(sample('tickstream_quotes_sent_total')).toBe(2);
    expect(sample('tickstream_slow_client_skips_total')).toBe(0);
    expect(sample('tickstream_rejected_requests_total', 'code="BAD_REQUEST"')).toBe(1);
    expect(sample('tickstream_staleness_seconds_count')).toBe(2);
    expect(sample('tickstream_fanout_duration_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(text).toContain('tickstream_event_loop_lag_seconds{quantile="0.99"}');
    expect(text).toContain('process_resident_memory_bytes');

    client.disconnect();
    await waitFor(
      async () => (await scrapeMetric(t.url, 'tickstream_connected_clients')) === 0,
      3000,
      'the server to see the disconnect',
    );
    const after = await (await fetch(`${t.url}/metrics`)).text();
    expect(metricSample(after, 'tickstream_pipelines')).toBe(0);
    expect(after).toMatch(/tickstream_disconnects_total\{reason="client_namespace_disconnect"\} 1/);
  });
});
