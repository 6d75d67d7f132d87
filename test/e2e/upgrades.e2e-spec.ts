import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect as netConnect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MetricsService } from '../../src/metrics/metrics.service.js';
import {
  closeAllClients,
  connectClient,
  createTestApp,
  type TestApp,
  waitFor,
} from '../support/test-app.js';
import { closeAllWsClients, WsClient } from '../support/ws-client.js';

/** What the server answered to a hand-written upgrade request. */
interface UpgradeOutcome {
  /** The HTTP status of the response, if one came before the connection closed. */
  status: number | undefined;
}

/**
 * Sends one upgrade request on a fresh TCP connection, headers as given (what
 * no WebSocket client would send), and waits for the server to answer and
 * close. A 101 is answered by closing from our side: the server then sees a
 * peer that went away before the protocol began.
 */
async function rawUpgrade(url: string, target: string, headers: string): Promise<UpgradeOutcome> {
  const { hostname, port } = new URL(url);
  const socket = netConnect({ host: hostname, port: Number(port) });
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  let response = '';
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('data', (chunk: Buffer) => {
    response += chunk.toString('latin1');
    if (response.startsWith('HTTP/1.1 101')) socket.destroy();
  });
  socket.write(`GET ${target} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n${headers}\r\n`);
  const timer = setTimeout(() => socket.destroy(), 5000);
  await closed;
  clearTimeout(timer);
  const status = /^HTTP\/1\.1 (\d{3})/.exec(response)?.[1];
  return { status: status === undefined ? undefined : Number(status) };
}

const key = (): string => randomBytes(16).toString('base64');

/** Upgrade headers with one field spoiled, each a path on which ws aborts the handshake. */
const ABORTED: { label: string; headers: () => string }[] = [
  {
    label: 'a malformed Sec-WebSocket-Key',
    headers: () =>
      'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
      'Sec-WebSocket-Key: not-a-key\r\n',
  },
  {
    label: 'an unsupported Sec-WebSocket-Version',
    headers: () =>
      'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 12\r\n' +
      `Sec-WebSocket-Key: ${key()}\r\n`,
  },
  {
    label: 'an Upgrade header other than websocket',
    headers: () =>
      'Connection: Upgrade\r\nUpgrade: h2c\r\nSec-WebSocket-Version: 13\r\n' +
      `Sec-WebSocket-Key: ${key()}\r\n`,
  },
  {
    label: 'a duplicated Sec-WebSocket-Protocol',
    headers: () =>
      'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
      `Sec-WebSocket-Key: ${key()}\r\nSec-WebSocket-Protocol: a, a\r\n`,
  },
];

/** More aborted upgrades than MAX_CONNECTIONS_PER_IP, so a single leaked slot per attempt shows. */
const ATTEMPTS = 5;
const MAX_PER_IP = 2;

describe('per-IP slots of WebSocket upgrades that never become connections (e2e)', () => {
  let t: TestApp;
  let metrics: MetricsService;

  // A fresh app per test: a leak in one case must not fail the next.
  beforeEach(async () => {
    t = await createTestApp({ MAX_CONNECTIONS_PER_IP: String(MAX_PER_IP) });
    metrics = t.app.get(MetricsService);
  });
  afterEach(async () => {
    closeAllClients();
    closeAllWsClients();
    await t.close();
  });

  /** Every slot the aborted upgrades took is free again (they close at once: 3 s is ample). */
  async function expectNoSlotHeld(): Promise<void> {
    await waitFor(() => metrics.transportConnections === 0, 3000).catch(() => undefined);
    expect(
      metrics.transportConnections,
      'per-IP slots still held by upgrades that never opened',
    ).toBe(0);
  }

  /** Both Socket.IO slots of this address are free: two clients connect, a third is refused. */
  async function expectBothSlotsFree(): Promise<void> {
    await expectNoSlotHeld();
    const clients = [await connectClient(t.url), await connectClient(t.url)];
    expect(clients.every((c) => c.connected)).toBe(true);
    await expect(connectClient(t.url)).rejects.toThrow();
  }

  describe('Socket.IO (/socket.io/, slot taken in allowRequest)', () => {
    const target = '/socket.io/?EIO=4&transport=websocket';

    it.each(ABORTED)(
      `frees the slot of ${ATTEMPTS} upgrades ws aborts for $label`,
      async ({ headers }) => {
        for (let i = 0; i < ATTEMPTS; i++) {
          const outcome = await rawUpgrade(t.url, target, headers());
          expect(outcome.status).toBe(400);
        }
        await expectBothSlotsFree();
      },
    );

    it(`frees the slot of ${ATTEMPTS} completed upgrades that ask for the polling transport`, async () => {
      // allowRequest admits it (polling is a known transport and this is a new handshake), ws
      // completes the handshake, then Engine.IO closes the WebSocket: polling does not take upgrades.
      const polling = '/socket.io/?EIO=4&transport=polling';
      const statuses: (number | undefined)[] = [];
      for (let i = 0; i < ATTEMPTS; i++) {
        const outcome = await rawUpgrade(
          t.url,
          polling,
          'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
            `Sec-WebSocket-Key: ${key()}\r\n`,
        );
        statuses.push(outcome.status);
      }
      // Engine.IO answers a refusal with 400: one here means an earlier attempt kept its slot.
      expect(statuses).toEqual(Array<number>(ATTEMPTS).fill(101));
      await expectBothSlotsFree();
    });
  });

  describe('/ws (same per-IP policy, slot taken before ws.handleUpgrade)', () => {
    it.each(ABORTED)(
      `frees the slot of ${ATTEMPTS} upgrades ws aborts for $label`,
      async ({ headers }) => {
        for (let i = 0; i < ATTEMPTS; i++) {
          const outcome = await rawUpgrade(t.url, '/ws', headers());
          expect(outcome.status).toBe(400);
        }
        await expectNoSlotHeld();
        const clients = [await WsClient.connect(t.url), await WsClient.connect(t.url)];
        expect(clients.every((c) => c.closed === undefined)).toBe(true);
        await expect(WsClient.connect(t.url)).rejects.toThrow(/HTTP 429/);
      },
    );
  });
});

describe('/ws upgrades and Engine.IO (e2e)', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    closeAllWsClients();
    await t.close();
  });

  it("never hands a /ws upgrade to Engine.IO's upgrade listener (no destroyUpgrade timer), while other paths still get it", async () => {
    const timers = vi.spyOn(globalThis, 'setTimeout');
    /** Engine.IO's destroyUpgrade timer: the one callback that checks `socket.bytesWritten`. */
    const engineDestroyTimers = (): number =>
      timers.mock.calls.filter(([fn]) => String(fn).includes('bytesWritten')).length;

    await WsClient.connect(t.url);
    await WsClient.connect(t.url, { query: 'token=ignored' });
    expect(engineDestroyTimers(), '/ws upgrades that went through Engine.IO').toBe(0);

    // The spy does see Engine.IO's timer: an upgrade for no endpoint is still Engine.IO's to end
    // (after its destroyUpgradeTimeout, 1 s), without a response.
    const elsewhere = await rawUpgrade(
      t.url,
      '/nowhere',
      'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
        `Sec-WebSocket-Key: ${key()}\r\n`,
    );
    expect(elsewhere.status).toBeUndefined();
    expect(engineDestroyTimers()).toBe(1);
  });
});
