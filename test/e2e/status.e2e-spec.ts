import { io } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { nyseSession } from '../../src/market/calendar/nyse-calendar.js';
import { DEFAULT_INSTRUMENTS } from '../../src/market/instruments.js';
import type { HealthResponse } from '../../src/shared/market.js';
import { MARKET_NAMESPACE, type MarketStatus } from '../../src/shared/protocol.js';
import type { MarketClient } from '../support/test-app.js';
import { closeAllClients, createTestApp, type TestApp, waitFor } from '../support/test-app.js';
import { ManualFeed } from '../support/ticks.js';
import { closeAllWsClients, WsClient } from '../support/ws-client.js';

const LIVE_SIMULATED = {
  feed: 'live',
  source: 'simulated',
  session: 'always',
  halted: [],
  epoch: expect.any(String) as string,
  since: expect.any(Number) as number,
} satisfies MarketStatus;

/** A Socket.IO client whose `status` events are recorded from the first packet on. */
async function statusClient(
  url: string,
): Promise<{ socket: MarketClient; statuses: MarketStatus[] }> {
  const socket: MarketClient = io(`${url}${MARKET_NAMESPACE}`, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    autoConnect: false,
  });
  const statuses: MarketStatus[] = [];
  // Before connecting: the status can arrive in the same TCP read as the CONNECT.
  socket.on('status', (status) => statuses.push(status));
  socket.connect();
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return { socket, statuses };
}

describe('The market status (e2e)', () => {
  let t: TestApp | undefined;
  const sockets: MarketClient[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.disconnect();
    closeAllClients();
    closeAllWsClients();
    await t?.close();
    t = undefined;
  });

  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${t!.url}${path}`);
    expect(res.status).toBe(200);
    return (await res.json()) as T;
  };

  it('is sent on connect over both transports and served by /api/status and /health', async () => {
    t = await createTestApp();
    const sio = await statusClient(t.url);
    sockets.push(sio.socket);
    await waitFor(() => sio.statuses.length === 1, 3000, 'the status on connect');
    expect(sio.statuses).toEqual([LIVE_SIMULATED]);

    const ws = await WsClient.connect(t.url);
    await ws.next('status');
    expect(ws.messages.map((m) => m.type).slice(0, 2)).toEqual(['welcome', 'status']);
    expect(ws.of('status')).toEqual([{ type: 'status', ...LIVE_SIMULATED }]);

    expect(await get<MarketStatus>('/api/status')).toEqual(LIVE_SIMULATED);
    expect(await get<HealthResponse>('/health')).toMatchObject({
      feed: 'live',
      source: 'simulated',
      session: 'always',
    });
  });

  it('reports the NYSE session with MARKET_CALENDAR=nyse, and the simulator trades only in one', async () => {
    const before = nyseSession(Date.now());
    t = await createTestApp({ MARKET_CALENDAR: 'nyse' });
    const status = await get<MarketStatus>('/api/status');
    const after = nyseSession(Date.now());
    expect([before, after]).toContain(status.session);
    expect(status).toMatchObject({ feed: 'live', source: 'simulated', halted: [] });
    // The opening trades of the start; more only while a session is open.
    const { ticksTotal, symbols } = await get<HealthResponse>('/health');
    if (after === 'closed') expect(ticksTotal).toBe(symbols);
  });

  it('broadcasts each change of the feed state to every client, once, and new clients get the current one', async () => {
    const feed = new ManualFeed(DEFAULT_INSTRUMENTS.slice(0, 3));
    t = await createTestApp({}, { feed });
    const sio = await statusClient(t.url);
    sockets.push(sio.socket);
    const ws = await WsClient.connect(t.url);
    await ws.next('status');
    await waitFor(() => sio.statuses.length === 1, 3000, 'the status on connect');

    feed.setState('stale');
    feed.setState('stale');
    feed.setState('reconnecting');
    feed.setState('live');
    const expected = ['live', 'stale', 'reconnecting', 'live'];
    await waitFor(() => sio.statuses.length === 4, 3000, 'three changes over Socket.IO');
    await waitFor(() => ws.of('status').length === 4, 3000, 'three changes over /ws');
    expect(sio.statuses.map((s) => s.feed)).toEqual(expected);
    expect(ws.of('status').map((s) => s.feed)).toEqual(expected);

    feed.setState('down');
    await waitFor(
      async () => (await get<MarketStatus>('/api/status')).feed === 'down',
      3000,
      '/api/status to say down',
    );
    const late = await statusClient(t.url);
    sockets.push(late.socket);
    await waitFor(() => late.statuses.length === 1, 3000, 'the status on connect');
    expect(late.statuses[0]).toMatchObject({ feed: 'down' });
    const lateWs = await WsClient.connect(t.url);
    expect(await lateWs.next('status')).toMatchObject({ feed: 'down' });
    // Nothing more reached the first clients than the one change.
    await waitFor(() => sio.statuses.length === 5 && ws.of('status').length === 5, 3000, 'down');
  });
});
