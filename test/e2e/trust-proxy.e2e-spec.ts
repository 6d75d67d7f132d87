import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  closeAllClients,
  connectClient,
  createTestApp,
  type MarketClient,
  scrapeMetric,
  type TestApp,
  waitFor,
} from '../support/test-app.js';

/**
 * Connects as if through a reverse proxy on 127.0.0.1: socket.io-client in Node
 * sends `extraHeaders` on the WebSocket upgrade (engine.io-client hands them to
 * `ws` as request headers), so the test itself plays the proxy.
 */
function connectForwarded(url: string, forwardedFor: string): Promise<MarketClient> {
  return connectClient(url, { extraHeaders: { 'X-Forwarded-For': forwardedFor } });
}

/** The `connect_error` of a connection the server refuses; fails if it is accepted. */
async function refusedForwarded(url: string, forwardedFor: string): Promise<Error> {
  try {
    await connectForwarded(url, forwardedFor);
  } catch (err) {
    return err as Error;
  }
  throw new Error(`connection forwarded for ${forwardedFor} was accepted`);
}

/** What socket.io-client reports when allowRequest refuses a WebSocket handshake. */
const PER_IP_REFUSAL = /websocket error|xhr poll error|403|Forbidden/i;

describe('TRUST_PROXY', () => {
  afterEach(() => closeAllClients());

  describe('with the proxy trusted', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ TRUST_PROXY: '127.0.0.1', MAX_CONNECTIONS_PER_IP: '2' });
    });
    afterAll(() => t.close());

    it('counts each forwarded client address on its own', async () => {
      const clients = await Promise.all(
        [1, 2, 3, 4].map((n) => connectForwarded(t.url, `203.0.113.${n}`)),
      );
      expect(clients.every((c) => c.connected)).toBe(true);
    });

    it('refuses a third connection forwarded for the same address, even with a spoofed prefix', async () => {
      const [first] = await Promise.all([
        connectForwarded(t.url, '203.0.113.10'),
        connectForwarded(t.url, '203.0.113.10'),
      ]);
      expect((await refusedForwarded(t.url, '203.0.113.10')).message).toMatch(PER_IP_REFUSAL);
      // The client wrote the left-most entry; the proxy appended the address it saw.
      expect((await refusedForwarded(t.url, '198.51.100.1, 203.0.113.10')).message).toMatch(
        PER_IP_REFUSAL,
      );
      // Other forwarded addresses are unaffected by that one being full.
      expect((await connectForwarded(t.url, '203.0.113.11')).connected).toBe(true);

      // The slot released on close is the forwarded address's, so it can connect again.
      first.disconnect();
      await waitFor(
        async () => (await scrapeMetric(t.url, 'tickstream_transport_connections')) === 2,
        3000,
        'the server to see the disconnect',
      );
      expect((await connectForwarded(t.url, '203.0.113.10')).connected).toBe(true);
    });
  });

  describe('without TRUST_PROXY', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ MAX_CONNECTIONS_PER_IP: '2' });
    });
    afterAll(() => t.close());

    it('ignores X-Forwarded-For and counts the peer address', async () => {
      await Promise.all([
        connectForwarded(t.url, '203.0.113.1'),
        connectForwarded(t.url, '203.0.113.2'),
      ]);
      expect((await refusedForwarded(t.url, '203.0.113.3')).message).toMatch(PER_IP_REFUSAL);
    });
  });
});
