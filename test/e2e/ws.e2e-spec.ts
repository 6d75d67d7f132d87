import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { INTERVAL_TIERS_MS, type Quote } from '../../src/shared/protocol.js';
import { WS_CLOSE } from '../../src/shared/ws-protocol.js';
import {
  closeAllClients,
  connectClient,
  createTestApp,
  requestSubscribe,
  scrapeMetric,
  type TestApp,
  waitFor,
} from '../support/test-app.js';
import {
  closeAllWsClients,
  upgradeResponse,
  upgradeStatus,
  WsClient,
} from '../support/ws-client.js';
import { NON_DOCUMENT_HEADERS } from '../../src/http/engine-io-hardening.js';

/** Every quote a /ws client has received in `quotes` frames, in order. */
function wsQuotes(client: WsClient): Quote[] {
  return client.of('quotes').flatMap((m) => m.data);
}

describe('/ws plain WebSocket endpoint (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ FEED_TICKS_PER_SECOND: '4000', MAX_SYMBOLS_PER_CLIENT: '3' });
  });
  afterEach(() => {
    closeAllWsClients();
    closeAllClients();
  });
  afterAll(() => t.close());

  it('greets with the epoch, tiers, symbol limit and server time', async () => {
    const before = Date.now();
    const client = await WsClient.connect(t.url);
    const welcome = client.messages[0];
    expect(welcome).toEqual({
      type: 'welcome',
      epoch: expect.any(String) as string,
      tiers: [...INTERVAL_TIERS_MS],
      maxSymbols: 3,
      serverTime: expect.any(Number) as number,
    });
    expect(welcome.type === 'welcome' && welcome.serverTime).toBeGreaterThanOrEqual(before - 5);
  });

  it('acks a subscribe with an id: snapshot, upper-cased symbols, unknown and over-limit ones rejected', async () => {
    const client = await WsClient.connect(t.url);
    const ack = await client.request(
      { type: 'subscribe', symbols: ['aapl', 'NOPE', 'msft', 'NVDA', 'TSLA'], intervalMs: 300 },
      'sub-1',
    );
    expect(ack).toMatchObject({ type: 'ack', id: 'sub-1', ok: true, intervalMs: 500 });
    if (!('snapshot' in ack)) throw new Error('not a subscribe ack');
    expect(ack.snapshot.map((q) => q.symbol).sort()).toEqual(['AAPL', 'MSFT', 'NVDA']);
    expect(ack.rejected).toEqual([
      { symbol: 'NOPE', code: 'UNKNOWN_SYMBOL', message: 'unknown symbol' },
      { symbol: 'TSLA', code: 'LIMIT_EXCEEDED', message: 'at most 3 symbols per connection' },
    ]);
    expect(ack.epoch).toBe(client.messages[0].type === 'welcome' && client.messages[0].epoch);
  });

  it('streams quotes frames, one per window, of the held symbols only; unsubscribe stops them', async () => {
    const client = await WsClient.connect(t.url);
    client.send({ type: 'subscribe', symbols: ['AAPL', 'MSFT'], intervalMs: 250 });
    await waitFor(() => wsQuotes(client).length >= 12, 5000, 'quotes');
    expect(client.of('ack')).toEqual([]); // no id, no ack
    expect(new Set(wsQuotes(client).map((q) => q.symbol))).toEqual(new Set(['AAPL', 'MSFT']));
    for (const frame of client.of('quotes')) {
      expect(new Set(frame.data.map((q) => q.symbol)).size).toBe(frame.data.length);
    }
    const ack = await client.request({ type: 'unsubscribe', symbols: ['AAPL', 'ZZZ'] }, 7);
    expect(ack).toEqual({ type: 'ack', id: 7, ok: true, unsubscribed: ['AAPL'] });
    const mark = client.messages.length;
    await waitFor(
      () => client.messages.slice(mark).filter((m) => m.type === 'quotes').length >= 4,
      5000,
      'MSFT quotes',
    );
    const after = client.messages.slice(mark).flatMap((m) => (m.type === 'quotes' ? m.data : []));
    expect(new Set(after.map((q) => q.symbol))).toEqual(new Set(['MSFT']));
  });

  it('answers pings with pongs, echoing the id', async () => {
    const client = await WsClient.connect(t.url);
    client.send({ type: 'ping', id: 42 });
    client.send({ type: 'ping' });
    await waitFor(() => client.of('pong').length === 2, 3000, 'two pongs');
    expect(client.of('pong')).toEqual([{ type: 'pong', id: 42 }, { type: 'pong' }]);
  });

  it.each([
    ['malformed JSON', '{"type":"subscribe",', undefined],
    ['a JSON array', '[1,2]', undefined],
    ['an unknown type, with its id', '{"type":"hack","id":"x1"}', 'x1'],
    ['an id with a space', '{"type":"ping","id":"a b"}', undefined],
    ['a fractional id', '{"type":"ping","id":1.5}', undefined],
    ['an object id', '{"type":"ping","id":{}}', undefined],
    ['symbols that are not an array', '{"type":"subscribe","id":3,"symbols":"AAPL"}', 3],
    ['a malformed symbol', '{"type":"subscribe","id":4,"symbols":["<script>"]}', 4],
  ])('answers %s with BAD_REQUEST and keeps the connection', async (_name, frame, id) => {
    const client = await WsClient.connect(t.url);
    client.send(frame);
    const exception = await client.next('exception');
    expect(exception.error.code).toBe('BAD_REQUEST');
    expect(exception.id).toBe(id);
    expect(JSON.stringify(exception)).not.toContain('<script>');
    // Still usable.
    client.send({ type: 'ping', id: 'after' });
    expect(await client.next('pong')).toEqual({ type: 'pong', id: 'after' });
  });

  it('sends a failed subscribe both an ack and an exception', async () => {
    const client = await WsClient.connect(t.url);
    const ack = await client.request({ type: 'subscribe', symbols: [] }, 'bad');
    expect(ack).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(await client.next('exception')).toMatchObject({
      id: 'bad',
      error: { code: 'BAD_REQUEST' },
    });
  });

  it('closes with 1003 on a binary frame', async () => {
    const client = await WsClient.connect(t.url);
    client.ws.send(Buffer.from([1, 2, 3]));
    expect((await client.waitForClose()).code).toBe(WS_CLOSE.UNSUPPORTED_DATA);
  });

  it('closes with 1009 on a frame over MAX_PAYLOAD_BYTES', async () => {
    const client = await WsClient.connect(t.url);
    client.send({ type: 'ping', pad: 'x'.repeat(t.config.maxPayloadBytes) });
    expect((await client.waitForClose()).code).toBe(WS_CLOSE.MESSAGE_TOO_BIG);
  });

  it('gives a Socket.IO client and a /ws client identical quotes, window for window', async () => {
    const ws = await WsClient.connect(t.url);
    const sio = await connectClient(t.url);
    const sioQuotes: Quote[] = [];
    sio.on('quotes', (batch) => sioQuotes.push(...batch));
    ws.send({ type: 'subscribe', symbols: ['AAPL', 'MSFT'], intervalMs: 250 });
    await requestSubscribe(sio, { symbols: ['AAPL', 'MSFT'], intervalMs: 250 });
    await waitFor(() => wsQuotes(ws).length >= 20 && sioQuotes.length >= 20, 8000, 'quotes');
    for (const symbol of ['AAPL', 'MSFT']) {
      const key = (q: Quote) => JSON.stringify([q.seq, q.price, q.win]);
      const a = wsQuotes(ws).filter((q) => q.symbol === symbol);
      const b = sioQuotes.filter((q) => q.symbol === symbol);
      // Both joined within a few ms: compare from the first seq both have to the last.
      const from = Math.max(a[0].seq, b[0].seq);
      const to = Math.min(a.at(-1)!.seq, b.at(-1)!.seq);
      const inRange = (q: Quote) => q.seq > from && q.seq <= to;
      expect(a.filter(inRange).length).toBeGreaterThanOrEqual(5);
      expect(a.filter(inRange).map(key)).toEqual(b.filter(inRange).map(key));
    }
  });

  it('counts its connections in /metrics and frees them on close', async () => {
    const client = await WsClient.connect(t.url);
    expect(await scrapeMetric(t.url, 'tickstream_ws_connected_clients')).toBe(1);
    client.close();
    await waitFor(
      async () => (await scrapeMetric(t.url, 'tickstream_ws_connected_clients')) === 0,
      3000,
      'the close to be seen',
    );
  });
});

describe('/ws admission and limits (e2e)', () => {
  const TOKEN = 'ws-test-token';
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({
      AUTH_TOKENS: TOKEN,
      ALLOWED_ORIGINS: 'https://app.example.com',
      MAX_CONNECTIONS_PER_IP: '2',
      RATE_LIMIT_PER_SEC: '5',
      RATE_LIMIT_BURST: '5',
      RATE_LIMIT_DISCONNECT_AFTER: '20',
    });
  });
  afterEach(() => closeAllWsClients());
  afterAll(() => t.close());

  const auth = { headers: { Authorization: `Bearer ${TOKEN}` } };

  it('refuses a missing or wrong token with 401, takes it as ?token= or a Bearer header', async () => {
    expect(await upgradeStatus(t.url)).toBe(401);
    expect(await upgradeStatus(t.url, { query: 'token=nope' })).toBe(401);
    expect(await upgradeStatus(t.url, { query: `token=${TOKEN}` })).toBe(101);
    expect(await upgradeStatus(t.url, auth)).toBe(101);
  });

  it('puts the security headers on every refusal and answers it as text', async () => {
    const refusals = [
      await upgradeResponse(t.url),
      await upgradeResponse(t.url, {
        headers: { ...auth.headers, Origin: 'https://evil.example.com' },
      }),
    ];
    expect(refusals.map((r) => r.status)).toEqual([401, 403]);
    for (const { headers } of refusals) {
      expect(headers['content-type']).toBe('text/plain; charset=utf-8');
      for (const [name, value] of Object.entries(NON_DOCUMENT_HEADERS)) {
        expect(headers[name.toLowerCase()]).toBe(value);
      }
    }
  });

  it('refuses a browser origin outside ALLOWED_ORIGINS with 403', async () => {
    const headers = { ...auth.headers, Origin: 'https://evil.example.com' };
    expect(await upgradeStatus(t.url, { headers })).toBe(403);
    const ok = { ...auth.headers, Origin: 'https://app.example.com' };
    expect(await upgradeStatus(t.url, { headers: ok })).toBe(101);
  });

  it('shares MAX_CONNECTIONS_PER_IP with Socket.IO and frees the slot on close', async () => {
    const a = await WsClient.connect(t.url, auth);
    await WsClient.connect(t.url, auth);
    expect(await upgradeStatus(t.url, auth)).toBe(429);
    a.close();
    await waitFor(
      async () => (await scrapeMetric(t.url, 'tickstream_transport_connections', '', TOKEN)) === 1,
      3000,
      'the slot to be released',
    );
    expect(await upgradeStatus(t.url, auth)).toBe(101);
  });

  it('rate-limits a flood with RATE_LIMITED exceptions, then closes it with 4008', async () => {
    const client = await WsClient.connect(t.url, auth);
    for (let i = 0; i < 200 && !client.closed; i++) client.send({ type: 'ping', id: i });
    const closed = await client.waitForClose();
    expect(closed.code).toBe(WS_CLOSE.RATE_LIMITED);
    expect(client.of('pong').length).toBeLessThanOrEqual(6);
    expect(client.of('exception').every((e) => e.error.code === 'RATE_LIMITED')).toBe(true);
    expect(client.of('exception').length).toBeGreaterThanOrEqual(20);
  });
});

describe('/ws on shutdown (e2e)', () => {
  it('sends a shutdown message, then closes with 1001', async () => {
    const t = await createTestApp();
    const client = await WsClient.connect(t.url);
    await t.close();
    const closed = await client.waitForClose();
    expect(client.of('shutdown')).toEqual([
      { type: 'shutdown', reason: expect.stringContaining('shutting down') as string },
    ]);
    expect(closed.code).toBe(WS_CLOSE.GOING_AWAY);
  });
});
