import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closeAllClients,
  connectClient,
  createTestApp,
  type TestApp,
  waitFor,
  requestSubscribe,
} from '../support/test-app.js';

/** Reads one sample from Prometheus text: `name{labels} value`. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(labels ? `${name}{${labels}}` : `${name} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('GET /metrics (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    closeAllClients();
    await t.close();
  });

  it('exposes connections, subscriptions, ticks, quotes, rejections and staleness', async () => {
    const client = await connectClient(t.url);
    await requestSubscribe(client, { symbols: ['AAPL', 'MSFT'], intervalMs: 100 });
    await requestSubscribe(client, { symbols: 'bad' });
    let quotes = 0;
    client.on('quotes', (b) => (quotes += b.length));
    await waitFor(() => quotes >= 5, 3000, 'quotes');

    const res = await fetch(`${t.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(sample(text, 'tickstream_connected_clients')).toBe(1);
    expect(sample(text, 'tickstream_subscriptions', 'symbol="AAPL",tier="100"')).toBe(1);
    expect(sample(text, 'tickstream_pipelines')).toBe(2);
    expect(sample(text, 'tickstream_ticks_total')).toBeGreaterThan(0);
    expect(sample(text, 'tickstream_quotes_sent_total')).toBeGreaterThanOrEqual(5);
    expect(sample(text, 'tickstream_updates_conflated_total')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'tickstream_slow_client_skips_total')).toBe(0);
    expect(sample(text, 'tickstream_rejected_requests_total', 'code="BAD_REQUEST"')).toBe(1);
    expect(sample(text, 'tickstream_staleness_seconds_count')).toBeGreaterThanOrEqual(5);
    expect(sample(text, 'tickstream_fanout_duration_seconds_count')).toBeGreaterThanOrEqual(2);
    expect(text).toContain('tickstream_event_loop_lag_seconds{quantile="0.99"}');
    expect(text).toContain('process_resident_memory_bytes');

    client.disconnect();
    await new Promise((r) => setTimeout(r, 100));
    const after = await (await fetch(`${t.url}/metrics`)).text();
    expect(sample(after, 'tickstream_connected_clients')).toBe(0);
    expect(sample(after, 'tickstream_pipelines')).toBe(0);
    expect(after).toMatch(/tickstream_disconnects_total\{reason="client_namespace_disconnect"\} 1/);
  });
});
