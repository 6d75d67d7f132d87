import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { SubscribeAck } from '../../src/shared/protocol.js';
import {
  closeAllClients,
  connectClient,
  createTestApp,
  type MarketClient,
  type TestApp,
  requestSubscribe,
  scrapeMetric,
  waitFor,
} from '../support/test-app.js';

const TOKEN = 'test-token-0123456789';

/** Connects and resolves with the connect_error (or throws if it connected). */
async function refusal(
  url: string,
  options: Parameters<typeof connectClient>[1],
): Promise<Error & { data?: unknown }> {
  try {
    await connectClient(url, options);
  } catch (err) {
    return err as Error & { data?: unknown };
  }
  throw new Error('connection was accepted');
}

/** Opens a raw WebSocket handshake with the given Origin; resolves 'open' or the HTTP status. */
function rawUpgrade(url: string, origin: string | undefined): Promise<string> {
  const wsUrl = `${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`;
  return new Promise((resolve) => {
    const ws = new WebSocket(wsUrl, origin ? { origin } : {});
    ws.on('open', () => {
      ws.close();
      resolve('open');
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve(String(res.statusCode));
      ws.terminate();
    });
    ws.on('error', () => resolve('error'));
  });
}

describe('Access control (e2e)', () => {
  describe('with AUTH_TOKENS set', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ AUTH_TOKENS: `other-token-xyz1,${TOKEN}` });
    });
    afterEach(() => closeAllClients());
    afterAll(async () => {
      closeAllClients();
      await t.close();
    });

    it('refuses a socket without a token with UNAUTHORIZED and sends it no event', async () => {
      const err = await refusal(t.url, {});
      expect(err.message).toBe('UNAUTHORIZED');
      expect(err.data).toEqual({ code: 'UNAUTHORIZED', message: expect.any(String) as string });
    });

    it('refuses a wrong token', async () => {
      const err = await refusal(t.url, { auth: { token: 'wrong-token-0000000000' } });
      expect(err.message).toBe('UNAUTHORIZED');
    });

    it('accepts a valid token and re-checks it on every reconnection', async () => {
      const auth = { token: TOKEN };
      const client: MarketClient = await connectClient(t.url, {
        auth,
        reconnection: true,
        reconnectionDelay: 50,
        reconnectionDelayMax: 100,
      });
      const ack: SubscribeAck = await requestSubscribe(client, { symbols: ['AAPL'] });
      expect(ack.ok).toBe(true);
      // Revoke the token client-side and force a reconnect: the server must refuse it.
      auth.token = 'revoked-token-000000';
      const refused = new Promise<Error>((resolve) => client.once('connect_error', resolve));
      client.io.engine.close();
      expect((await refused).message).toBe('UNAUTHORIZED');
      client.disconnect();
    });

    it('wants a bearer token on /api/* and /metrics but not on /health', async () => {
      const noToken = await fetch(`${t.url}/api/symbols`);
      expect(noToken.status).toBe(401);
      expect(await noToken.json()).toMatchObject({ statusCode: 401 });
      expect(
        (
          await fetch(`${t.url}/api/quotes`, {
            headers: { authorization: 'Bearer nope-nope-nope' },
          })
        ).status,
      ).toBe(401);
      expect((await fetch(`${t.url}/metrics`)).status).toBe(401);
      const ok = await fetch(`${t.url}/api/symbols`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(ok.status).toBe(200);
      expect((await fetch(`${t.url}/health`)).status).toBe(200);
    });
  });

  describe('origin allow-list', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ ALLOWED_ORIGINS: 'https://app.example.com' });
    });
    afterAll(async () => {
      closeAllClients();
      await t.close();
    });

    it('checks the Origin on the WebSocket upgrade itself', async () => {
      expect(await rawUpgrade(t.url, 'https://evil.example.com')).toBe('400');
      expect(await rawUpgrade(t.url, 'https://app.example.com')).toBe('open');
      expect(await rawUpgrade(t.url, 'http://localhost:5173')).toBe('open');
      expect(await rawUpgrade(t.url, undefined)).toBe('open');
    });

    it('checks the Origin on the polling handshake', async () => {
      const poll = (origin: string) =>
        fetch(`${t.url}/socket.io/?EIO=4&transport=polling`, { headers: { origin } });
      expect((await poll('https://evil.example.com')).status).toBe(400);
      expect((await poll('https://app.example.com')).status).toBe(200);
    });
  });

  describe('connections per IP', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ MAX_CONNECTIONS_PER_IP: '3' });
    });
    afterAll(async () => {
      closeAllClients();
      await t.close();
    });

    it('frees the slot of a handshake Engine.IO fails after admitting it', async () => {
      // EIO=3 passes allowRequest (which takes the slot), then Engine.IO refuses the version.
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${t.url}/socket.io/?EIO=3&transport=polling`);
        expect(res.status).toBe(400);
      }
      expect(await scrapeMetric(t.url, 'tickstream_transport_connections')).toBe(0);
      const client = await connectClient(t.url);
      expect(client.connected).toBe(true);
      client.disconnect();
      await waitFor(
        async () => (await scrapeMetric(t.url, 'tickstream_transport_connections')) === 0,
        3000,
        'the slot to be released',
      );
    });

    it('refuses connections past MAX_CONNECTIONS_PER_IP and frees slots on disconnect', async () => {
      const clients = await Promise.all([1, 2, 3].map(() => connectClient(t.url)));
      const err = await refusal(t.url, {});
      expect(err.message).toMatch(/websocket error|xhr poll error|403|Forbidden/i);
      clients[0].disconnect();
      // The slot is released when the transport closes, after the namespace disconnect.
      await waitFor(
        async () => (await scrapeMetric(t.url, 'tickstream_transport_connections')) === 2,
        3000,
        'the server to see the disconnect',
      );
      const again = await connectClient(t.url);
      expect(again.connected).toBe(true);
    });
  });
});
