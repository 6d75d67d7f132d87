import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MarketGateway } from '../../src/gateway/market.gateway.js';
import { MetricsService } from '../../src/metrics/metrics.service.js';
import { MARKET_NAMESPACE, type SubscribeAck } from '../../src/shared/protocol.js';
import { StreamRegistry } from '../../src/streaming/stream-registry.service.js';
import {
  closeAllRawSockets,
  type MemorySample,
  NamespaceRefusedError,
  rawHttpExchange,
  RawSocket,
  sampleMemory,
} from '../support/raw-socket.js';
import { EIO, SIO } from '../support/socket-io-codec.js';
import {
  closeAllClients,
  connectClient,
  createTestApp,
  type MarketClient,
  requestSubscribe,
  type TestApp,
  waitFor,
} from '../support/test-app.js';

/** The default `MAX_PAYLOAD_BYTES`, set explicitly so the size cases do not drift with it. */
const MAX_PAYLOAD = 16_384;
/** Short, so the case that never joins a namespace is cut off quickly. */
const HANDSHAKE_TIMEOUT_MS = 1500;
/** Whole-file bound on the in-process server's growth; measured growth is printed. */
const RSS_GROWTH_LIMIT_MB = 50;
const HEAP_GROWTH_LIMIT_MB = 15;
/** Marks bytes that came from the hostile peer: none may appear in anything sent back. */
const MARKER = 'EVIL-MARKER-7f3a';

const NSP = MARKET_NAMESPACE;
const msg = (sioPacket: string): string => `${EIO.MESSAGE}${sioPacket}`;

/** What the server did with the offending connection. */
type Outcome = 'closed' | 'alive';

describe('Wire garbage (e2e)', () => {
  let t: TestApp;
  let healthy: MarketClient;
  let healthyQuotes = 0;
  let memoryBefore: MemorySample;

  /** A raw connection that has joined `/market`. */
  async function joined(): Promise<RawSocket> {
    const raw = await RawSocket.connect(t.url);
    await raw.joinNamespace();
    return raw;
  }

  /**
   * `closed`: the server dropped the WebSocket. `alive`: a subscribe sent after
   * the garbage is still answered, so the garbage was ignored, not half-applied.
   */
  async function outcomeOf(raw: RawSocket, timeoutMs = 3000): Promise<Outcome> {
    try {
      const ack = (await raw.request(
        'subscribe',
        { symbols: ['AAPL'] },
        timeoutMs,
      )) as SubscribeAck;
      expect(ack.ok).toBe(true);
      return 'alive';
    } catch {
      await raw.waitForClose(timeoutMs);
      return 'closed';
    }
  }

  /** The healthy client is still connected and still getting quotes; new peers still get in. */
  async function expectServerStillServing(): Promise<void> {
    expect(healthy.connected).toBe(true);
    const mark = healthyQuotes;
    await waitFor(() => healthyQuotes > mark, 2000, 'the healthy client to receive quotes');
    const fresh = await joined();
    const ack = (await fresh.request('subscribe', { symbols: ['MSFT'] })) as SubscribeAck;
    expect(ack.ok).toBe(true);
    fresh.terminate();
  }

  function expectNothingEchoed(raw: RawSocket): void {
    for (const frame of raw.frames) {
      const text = typeof frame.data === 'string' ? frame.data : frame.data.toString('latin1');
      expect(text).not.toContain(MARKER);
    }
  }

  beforeAll(async () => {
    t = await createTestApp({
      MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD),
      HANDSHAKE_TIMEOUT_MS: String(HANDSHAKE_TIMEOUT_MS),
    });
    healthy = await connectClient(t.url);
    healthy.on('quotes', (batch) => (healthyQuotes += batch.length));
    const ack = await requestSubscribe(healthy, {
      symbols: ['AAPL', 'MSFT', 'NVDA'],
      intervalMs: 100,
    });
    expect(ack.ok).toBe(true);
    await waitFor(() => healthyQuotes > 0, 3000, 'the first quote');
    // Warm the connection code paths so the baseline is not the cold start.
    for (let i = 0; i < 20; i++) (await joined()).terminate();
    memoryBefore = sampleMemory();
  });

  afterEach(async () => {
    closeAllRawSockets();
    await expectServerStillServing();
  });

  afterAll(async () => {
    closeAllRawSockets();
    const registry = t.app.get(StreamRegistry);
    await waitFor(() => registry.clientCount() === 1, 5000, 'raw clients to be released');
    // Whatever the garbage did, the connected-clients gauge did not drift.
    await waitFor(() => namespaceSocketCount(t) === 1, 5000, 'raw sockets to leave /market');
    expect(t.app.get(MetricsService).connectedClients).toBe(1);
    const after = sampleMemory();
    const rssGrowth = after.rssMb - memoryBefore.rssMb;
    const heapGrowth = after.heapUsedMb - memoryBefore.heapUsedMb;
    console.info(
      `[wire-garbage] RSS ${memoryBefore.rssMb.toFixed(1)} -> ${after.rssMb.toFixed(1)} MB ` +
        `(${rssGrowth >= 0 ? '+' : ''}${rssGrowth.toFixed(1)}), heap after GC ` +
        `${memoryBefore.heapUsedMb.toFixed(1)} -> ${after.heapUsedMb.toFixed(1)} MB ` +
        `(${heapGrowth >= 0 ? '+' : ''}${heapGrowth.toFixed(1)})`,
    );
    closeAllClients();
    await t.close();
    expect(rssGrowth).toBeLessThan(RSS_GROWTH_LIMIT_MB);
    expect(heapGrowth).toBeLessThan(HEAP_GROWTH_LIMIT_MB);
  });

  describe('malformed packets', () => {
    const cases: [string, (string | Buffer)[], Outcome][] = [
      ['an unknown Engine.IO packet type', ['9'], 'closed'],
      ['an empty text frame', [''], 'closed'],
      ['a ping from the client (wrong heartbeat direction in v4)', [EIO.PING], 'closed'],
      // Engine.IO only acts on a client `close` packet over polling; the WebSocket transport ignores it.
      ['an Engine.IO close packet', [EIO.CLOSE], 'alive'],
      ['an Engine.IO noop packet', [EIO.NOOP], 'alive'],
      ['an unsolicited pong', [EIO.PONG], 'alive'],
      ['an unknown Socket.IO packet type', [msg(`7${NSP},[]`)], 'closed'],
      ['a message with no Socket.IO packet type', [EIO.MESSAGE], 'closed'],
      ['truncated JSON', [msg(`2${NSP},["subscribe",{`)], 'closed'],
      ['a JSON object instead of an event array', [msg(`2${NSP},{"${MARKER}":1}`)], 'closed'],
      ['an empty event array', [msg(`2${NSP},[]`)], 'closed'],
      ['a reserved event name', [msg(`2${NSP},["connect","${MARKER}"]`)], 'closed'],
      ['a numeric event name', [msg(`2${NSP},[42,"${MARKER}"]`)], 'alive'],
      ['an unknown event', [msg(`2${NSP},["${MARKER}",{"symbols":["AAPL"]}]`)], 'alive'],
      ['a non-numeric ack id', [msg(`2${NSP},abc["subscribe",{}]`)], 'closed'],
      ['a negative ack id', [msg(`2${NSP},-1["subscribe",{}]`)], 'closed'],
      ['a fractional ack id', [msg(`2${NSP},1.5["subscribe",{}]`)], 'closed'],
      ['an ack for an id the server never used', [msg(`3${NSP},77["${MARKER}"]`)], 'alive'],
      ['a CONNECT_ERROR from the client', [msg(`4${NSP},{"message":"${MARKER}"}`)], 'closed'],
      ['a second CONNECT to a namespace already joined', [msg(`0${NSP},`)], 'closed'],
      ['an event for a namespace not joined', [msg(`2/other,["subscribe",{}]`)], 'closed'],
      ['an event for the main namespace, not joined', [msg(`2["subscribe",{}]`)], 'closed'],
      [
        'a base64 binary message with no packet header',
        [`b${Buffer.from(MARKER).toString('base64')}`],
        'closed',
      ],
      ['a binary frame with no packet header', [Buffer.from(MARKER)], 'closed'],
      [
        'a binary event with more attachments than allowed',
        [msg(`511-${NSP},["subscribe",{"_placeholder":true,"num":0}]`)],
        'closed',
      ],
      [
        'a binary event followed by text instead of its attachment',
        [msg(`51-${NSP},["subscribe",{"_placeholder":true,"num":0}]`), msg(`2${NSP},["x"]`)],
        'closed',
      ],
      [
        'a placeholder pointing past the attachments',
        [msg(`51-${NSP},["subscribe",{"_placeholder":true,"num":3}]`), Buffer.from(MARKER)],
        'closed',
      ],
      [
        'a binary attachment as the subscribe payload (no ack)',
        [msg(`51-${NSP},["subscribe",{"_placeholder":true,"num":0}]`), Buffer.from(MARKER)],
        'alive',
      ],
      [
        'a binary attachment as a symbol',
        [
          msg(`51-${NSP},["subscribe",{"symbols":[{"_placeholder":true,"num":0}]}]`),
          Buffer.from(MARKER),
        ],
        'alive',
      ],
    ];

    it.each(cases)('handles %s', async (_label, frames, expected) => {
      const raw = await joined();
      const from = raw.frames.length;
      for (const frame of frames) raw.send(frame);
      expect(await outcomeOf(raw)).toBe(expected);
      expectNothingEchoed(raw);
      if (expected === 'alive') {
        // Whatever was ignored produced no stray reply: only the probe's ack (and quotes/exceptions).
        const stray = raw
          .packets(from)
          .filter(
            (p) => p.type !== SIO.ACK && !(p.type === SIO.EVENT && isQuotesOrException(p.data)),
          );
        expect(stray).toEqual([]);
      }
    });

    it('answers BAD_REQUEST (ack and exception) to a subscribe whose payload is a binary attachment', async () => {
      const raw = await joined();
      const from = raw.frames.length;
      raw.send(msg(`51-${NSP},9["subscribe",{"_placeholder":true,"num":0}]`));
      raw.send(Buffer.from(MARKER));
      const ack = await raw.waitForPacket(
        (p) => p.type === SIO.ACK && p.id === 9,
        3000,
        'ack 9',
        from,
      );
      expect(ack.data).toEqual([
        { ok: false, error: { code: 'BAD_REQUEST', message: expect.any(String) as string } },
      ]);
      const exceptions = raw
        .packets(from)
        .filter((p) => p.type === SIO.EVENT && (p.data as unknown[])[0] === 'exception');
      expect(exceptions).toHaveLength(1);
      expectNothingEchoed(raw);
      expect(await outcomeOf(raw)).toBe('alive');
    });

    it('acks a huge ack id without crashing, whatever id it writes back', async () => {
      const raw = await joined();
      const from = raw.frames.length;
      raw.send(msg(`2${NSP},99999999999999999999999["subscribe",{"symbols":["AAPL"]}]`));
      raw.send(msg(`2${NSP},9007199254740993["subscribe",{"symbols":["AAPL"]}]`));
      expect(await outcomeOf(raw)).toBe('alive');
      // Socket.IO parses ids with Number(): the first comes back as `1e+23`, the second rounded.
      const acks = raw.packets(from).filter((p) => p.type === SIO.ACK);
      expect(acks.length).toBe(3);
    });
  });

  describe('namespaces', () => {
    it('refuses a namespace that does not exist and keeps the connection usable', async () => {
      const raw = await RawSocket.connect(t.url);
      const refusal = await raw.joinNamespace('/nope').catch((err: unknown) => err);
      expect(refusal).toBeInstanceOf(NamespaceRefusedError);
      expect((refusal as NamespaceRefusedError).data).toEqual({ message: 'Invalid namespace' });
      await raw.joinNamespace();
      expect(await outcomeOf(raw)).toBe('alive');
    });

    it('closes a connection that never joins a namespace after HANDSHAKE_TIMEOUT_MS', async () => {
      const raw = await RawSocket.connect(t.url);
      const opened = Date.now();
      // A refused namespace does not count as joining.
      await expect(raw.joinNamespace('/nope')).rejects.toBeInstanceOf(NamespaceRefusedError);
      await raw.waitForClose(HANDSHAKE_TIMEOUT_MS + 2000);
      const elapsed = Date.now() - opened;
      console.info(`[wire-garbage] idle connection closed after ${elapsed} ms`);
      expect(elapsed).toBeGreaterThanOrEqual(HANDSHAKE_TIMEOUT_MS - 50);
    });

    it('refuses a CONNECT whose payload is not an object', async () => {
      const raw = await RawSocket.connect(t.url);
      raw.send(msg(`0${NSP},"${MARKER}"`));
      await raw.waitForClose(3000);
      expectNothingEchoed(raw);
    });

    it('cleans up every namespace socket a burst of CONNECT packets on one connection opens', async () => {
      const registry = t.app.get(StreamRegistry);
      const raw = await RawSocket.connect(t.url);
      // Socket.IO registers a namespace socket a tick after its CONNECT, so CONNECTs
      // arriving in one read each open a socket before the duplicate is noticed.
      for (let i = 0; i < 1000; i++) raw.send(msg(`0${NSP},`));
      await raw.waitForClose(5000);
      const sids = new Set(
        raw
          .packets()
          .filter((p) => p.type === SIO.CONNECT)
          .map((p) => JSON.stringify(p.data)),
      );
      console.info(
        `[wire-garbage] 1000 CONNECTs on one connection opened ${sids.size} namespace socket(s)`,
      );
      expect(registry.clientCount()).toBe(1);
      expect(namespaceSocketCount(t)).toBe(1);
      expect(t.app.get(MetricsService).connectedClients).toBe(1);
    });

    it('releases the subscriptions of a client that sends a namespace DISCONNECT', async () => {
      const registry = t.app.get(StreamRegistry);
      const raw = await RawSocket.connect(t.url);
      const sid = await raw.joinNamespace();
      await raw.request('subscribe', { symbols: ['AAPL', 'TSLA'] });
      expect(registry.clientSymbols(sid).size).toBe(2);
      raw.send(msg(`1${NSP},`));
      await waitFor(
        () => registry.clientSymbols(sid).size === 0,
        2000,
        'the subscriptions to be released',
      );
    });
  });

  describe('size limits', () => {
    /** A subscribe frame of exactly `bytes` bytes (ASCII), padded with an ignored field. */
    function subscribeFrameOfSize(bytes: number): string {
      const head = msg(`2${NSP},1["subscribe",{"symbols":["AAPL"],"pad":"`);
      const tail = '"}]';
      return head + 'x'.repeat(bytes - head.length - tail.length) + tail;
    }

    it('accepts a message of exactly MAX_PAYLOAD_BYTES', async () => {
      const raw = await joined();
      const from = raw.frames.length;
      raw.send(subscribeFrameOfSize(MAX_PAYLOAD));
      const ack = await raw.waitForPacket(
        (p) => p.type === SIO.ACK && p.id === 1,
        3000,
        'ack',
        from,
      );
      expect((ack.data as SubscribeAck[])[0].ok).toBe(true);
    });

    it('closes the connection (1009) on a message one byte over MAX_PAYLOAD_BYTES', async () => {
      const raw = await joined();
      raw.send(subscribeFrameOfSize(MAX_PAYLOAD + 1));
      expect((await raw.waitForClose(3000)).code).toBe(1009);
    });

    it('closes the connection on a 1 MB frame', async () => {
      const raw = await joined();
      raw.send(msg(`2${NSP},["subscribe","${'A'.repeat(1 << 20)}"]`));
      expect((await raw.waitForClose(3000)).code).toBe(1009);
    });

    it('closes the connection on an oversized binary attachment', async () => {
      const raw = await joined();
      raw.send(msg(`51-${NSP},["subscribe",{"_placeholder":true,"num":0}]`));
      raw.send(Buffer.alloc(MAX_PAYLOAD * 4, 0x41));
      expect((await raw.waitForClose(3000)).code).toBe(1009);
    });

    it('closes the connection on a message split into small fragments that add up past the limit', async () => {
      const raw = await joined();
      const fragment = 'x'.repeat(1024);
      raw.ws.send(msg(`2${NSP},["subscribe","`), { fin: false });
      for (let i = 0; i < 40 && raw.ws.readyState === raw.ws.OPEN; i++)
        raw.ws.send(fragment, { fin: false });
      if (raw.ws.readyState === raw.ws.OPEN) raw.ws.send('"]', { fin: true });
      expect((await raw.waitForClose(3000)).code).toBe(1009);
    });
  });

  describe('floods', () => {
    const FLOOD = 5000;

    it(`ignores a flood of ${FLOOD} unsolicited pongs`, async () => {
      const raw = await joined();
      for (let i = 0; i < FLOOD; i++) raw.send(EIO.PONG);
      expect(await outcomeOf(raw, 10_000)).toBe('alive');
    });

    it(`closes the connection at the first of ${FLOOD} client pings`, async () => {
      const raw = await joined();
      for (let i = 0; i < FLOOD && !raw.isClosed; i++) raw.send(EIO.PING);
      await raw.waitForClose(5000);
    });

    it(`drops a connection that floods ${FLOOD} unknown events (rate limit)`, async () => {
      const raw = await joined();
      raw.recording = false;
      const started = Date.now();
      for (let i = 0; i < FLOOD && !raw.isClosed; i++) raw.send(msg(`2${NSP},["x"]`));
      const how = await raw.waitForKick(10_000);
      console.info(`[wire-garbage] unknown-event flood: ${how} after ${Date.now() - started} ms`);
    });

    it(`drops a connection that floods ${FLOOD} bad subscribes, answering the ones it processed`, async () => {
      const raw = await joined();
      raw.recording = false;
      const started = Date.now();
      for (let i = 0; i < FLOOD && !raw.isClosed; i++)
        raw.send(msg(`2${NSP},${i}["subscribe",{"symbols":7}]`));
      const how = await raw.waitForKick(10_000);
      console.info(
        `[wire-garbage] bad-subscribe flood: ${how} after ${Date.now() - started} ms, ` +
          `${raw.textFrames} text frames back`,
      );
      // Each processed request yields at most an ack and an exception: no amplification.
      expect(raw.textFrames).toBeLessThanOrEqual(2 * FLOOD + 10);
    });
  });

  describe('HTTP handshake abuse', () => {
    it('rejects a WebSocket upgrade carrying 5,000 headers without crashing', async () => {
      const { host } = new URL(t.url);
      const headers = Array.from({ length: 5000 }, (_, i) => `X-Pad-${i}: v\r\n`).join('');
      const request =
        `GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: ${host}\r\n` +
        `Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n` +
        `Sec-WebSocket-Key: ${Buffer.alloc(16, 1).toString('base64')}\r\n${headers}\r\n`;
      const result = await rawHttpExchange(t.url, request, 5000);
      console.info(`[wire-garbage] 5,000-header upgrade: status ${result.status ?? 'none'}`);
      expect(result.closedByServer).toBe(true);
      if (result.status !== undefined) expect([400, 431]).toContain(result.status);
    });

    it('rejects an upgrade with a header line longer than the HTTP parser allows', async () => {
      const { host } = new URL(t.url);
      const request =
        `GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: ${host}\r\n` +
        `Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n` +
        `Sec-WebSocket-Key: ${Buffer.alloc(16, 1).toString('base64')}\r\nX-Big: ${'v'.repeat(64 * 1024)}\r\n\r\n`;
      const result = await rawHttpExchange(t.url, request, 5000);
      expect(result.closedByServer).toBe(true);
      if (result.status !== undefined) expect([400, 431]).toContain(result.status);
    });

    it.each([
      ['an unsupported protocol version', '/socket.io/?EIO=3&transport=polling'],
      ['an unknown transport', '/socket.io/?EIO=4&transport=carrier-pigeon'],
      ['an unknown session id', '/socket.io/?EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA'],
      ['a missing protocol version', '/socket.io/?transport=polling'],
    ])('answers 400 to a handshake with %s', async (_label, path) => {
      const res = await fetch(`${t.url}${path}`);
      expect(res.status).toBe(400);
      expect(await res.text()).not.toContain(MARKER);
    });

    it('refuses a WebSocket upgrade with a broken Sec-WebSocket-Key', async () => {
      const { host } = new URL(t.url);
      const request =
        `GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: ${host}\r\n` +
        `Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n` +
        `Sec-WebSocket-Key: ${MARKER}\r\n\r\n`;
      const result = await rawHttpExchange(t.url, request, 5000);
      expect(result.status).toBe(400);
      expect(result.response).not.toContain(MARKER);
    });
  });
});

function isQuotesOrException(data: unknown): boolean {
  return Array.isArray(data) && (data[0] === 'quotes' || data[0] === 'exception');
}

/**
 * Sockets in the `/market` namespace, read from the server: a burst of CONNECTs
 * must not leave any behind. Reaches into the gateway's `@WebSocketServer()`.
 */
function namespaceSocketCount(t: TestApp): number {
  const gateway = t.app.get<MarketGateway, { server?: { sockets?: Map<string, unknown> } }>(
    MarketGateway,
  );
  const sockets = gateway.server?.sockets;
  if (sockets === undefined)
    throw new Error('MarketGateway.server.sockets is not reachable any more');
  return sockets.size;
}
