import { afterEach, describe, expect, it } from 'vitest';
import type { Quote, SubscribeAck, ShutdownNotice } from '../../src/shared/protocol.js';
import {
  closeAllClients,
  connectClient,
  createTestApp,
  type TestApp,
  waitFor,
  requestSubscribe,
} from '../support/test-app.js';

describe('Reconnect and resync (e2e)', () => {
  let apps: TestApp[] = [];
  afterEach(async () => {
    closeAllClients();
    for (const app of apps) await app.close().catch(() => undefined);
    apps = [];
  });

  it('tells clients why on shutdown, then resumes after a restart with a new epoch and no seq going backwards', async () => {
    const first = await createTestApp();
    apps.push(first);
    const port = new URL(first.url).port;

    const client = await connectClient(first.url, {
      reconnection: true,
      reconnectionDelay: 100,
      reconnectionDelayMax: 300,
    });
    const epochs: string[] = [];
    const received: { epoch: string; quote: Quote }[] = [];
    const notices: ShutdownNotice[] = [];
    const subscribe = async () => {
      const ack: SubscribeAck = await requestSubscribe(client, {
        symbols: ['AAPL', 'MSFT'],
        intervalMs: 100,
      });
      if (!ack.ok) throw new Error(ack.error.message);
      epochs.push(ack.epoch);
    };
    // The documented client pattern: (re-)subscribe on every connect.
    client.on('connect', () => void subscribe());
    client.on('quotes', (batch) => {
      for (const quote of batch) received.push({ epoch: epochs[epochs.length - 1], quote });
    });
    client.on('shutdown', (n) => notices.push(n));
    await subscribe();
    await waitFor(() => received.length > 10, 3000, 'quotes before the restart');

    const disconnected = new Promise<string>((resolve) => client.once('disconnect', resolve));
    await first.close();
    expect(await disconnected).toBe('io server disconnect');
    expect(notices).toEqual([{ reason: expect.stringContaining('shutting down') as string }]);

    // The server calls it a restart: the client reconnects by itself (different
    // epoch), re-subscribes and receives within a few seconds.
    // A fresh Engine.IO client is needed after an explicit server disconnect.
    client.connect();
    const second = await createTestApp({ PORT: port, SEED: '8' });
    apps.push(second);
    const mark = received.length;
    await waitFor(() => received.length > mark + 10, 5000, 'quotes after the restart');

    expect(epochs.length).toBeGreaterThanOrEqual(2);
    expect(new Set(epochs).size).toBeGreaterThanOrEqual(2);
    // Within an epoch, per symbol, seq never goes backwards and never repeats across quotes.
    const lastSeq = new Map<string, number>();
    for (const { epoch, quote } of received) {
      const key = `${epoch}/${quote.symbol}`;
      const previous = lastSeq.get(key);
      if (previous !== undefined) expect(quote.seq).toBeGreaterThan(previous);
      lastSeq.set(key, quote.seq);
    }
  });

  it('resumes on its own after the connection drops (transport close), without a duplicate seq', async () => {
    const t = await createTestApp();
    apps.push(t);
    const client = await connectClient(t.url, {
      reconnection: true,
      reconnectionDelay: 100,
      reconnectionDelayMax: 300,
    });
    const seqs: number[] = [];
    let epoch = '';
    const subscribe = async () => {
      const ack: SubscribeAck = await requestSubscribe(client, {
        symbols: ['AAPL'],
        intervalMs: 100,
      });
      if (ack.ok) epoch = epoch || ack.epoch;
      if (ack.ok) expect(ack.epoch).toBe(epoch);
    };
    client.on('connect', () => void subscribe());
    client.on('quotes', (batch) => batch.forEach((q) => seqs.push(q.seq)));
    await subscribe();
    await waitFor(() => seqs.length > 5, 3000, 'quotes');
    const reconnected = new Promise<void>((resolve) =>
      client.io.once('reconnect', () => resolve()),
    );
    client.io.engine.close(); // simulate a network drop
    await reconnected;
    const mark = seqs.length;
    await waitFor(() => seqs.length > mark + 5, 3000, 'quotes after reconnect');
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]);
  });
});
