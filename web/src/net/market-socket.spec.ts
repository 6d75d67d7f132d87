import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SubscribeAck, WireError } from '../stores/market-types.js';
import { MarketSocket, type MarketSocketHandlers } from './market-socket.js';

type Listener = (...args: unknown[]) => void;

interface Sent {
  event: string;
  payload: unknown;
  ack: (res: SubscribeAck) => void;
}

/** The few socket.io-client calls MarketSocket makes, driven by hand. */
class FakeSocket {
  connected = false;
  readonly sent: Sent[] = [];
  private readonly listeners = new Map<string, Listener[]>();

  on(event: string, listener: Listener): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return this;
  }

  emit(event: string, payload: unknown, ack: (res: SubscribeAck) => void): this {
    this.sent.push({ event, payload, ack });
    return this;
  }

  /** Connects on a later microtask, as the real one does after its handshake. */
  connect(): this {
    void Promise.resolve().then(() => {
      this.connected = true;
      this.fire('connect');
    });
    return this;
  }

  drop(): void {
    this.connected = false;
    this.fire('disconnect', 'transport close');
  }

  fire(event: string, ...args: unknown[]): void {
    for (const listener of this.listeners.get(event) ?? []) listener(...args);
  }

  subscribes(): Sent[] {
    return this.sent.filter((s) => s.event === 'subscribe');
  }

  /** Acks the `index`-th subscribe sent. */
  answer(index: number, ack: SubscribeAck): void {
    this.subscribes()[index].ack(ack);
  }
}

const created = vi.hoisted(() => ({ sockets: [] as unknown[] }));
vi.mock('socket.io-client', () => ({
  io: () => {
    const socket = new FakeSocket();
    created.sockets.push(socket);
    return socket;
  },
}));

const badRequest: WireError = {
  code: 'BAD_REQUEST',
  message: '"symbols[0]" is not a ticker symbol',
};
const accepted: SubscribeAck = {
  ok: true,
  intervalMs: 250,
  snapshot: [],
  rejected: [],
  epoch: 'e1',
};

function handlers() {
  return {
    quotes: vi.fn(),
    snapshot: vi.fn(),
    rejected: vi.fn(),
    state: vi.fn(),
    market: vi.fn(),
    problem: vi.fn<(message: string) => void>(),
    resynced: vi.fn(),
    unauthorized: vi.fn(),
  } satisfies MarketSocketHandlers;
}

/** Lets the socket connect and the sync loop see an ack: both resume on microtasks. */
const settle = () => vi.advanceTimersByTimeAsync(0);

/** A started, connected MarketSocket wanting `symbols`, and the fake socket under it. */
async function connected(symbols: string[]) {
  const on = handlers();
  const market = new MarketSocket('http://test', on, 250);
  const socket = created.sockets.at(-1) as FakeSocket;
  market.setSymbols(symbols);
  market.start();
  await settle();
  return { market, socket, on };
}

describe(MarketSocket.name, () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.stubGlobal('window', new EventTarget());
    vi.stubGlobal('navigator', { onLine: true });
  });

  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
    created.sockets.length = 0;
  });

  it('reports a BAD_REQUEST refusal once and does not send the request again', async () => {
    const { socket, on } = await connected(['AAPL']);
    expect(socket.subscribes()).toHaveLength(1);
    socket.answer(0, { ok: false, error: badRequest });
    await settle();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(socket.subscribes()).toHaveLength(1);
    expect(on.problem).toHaveBeenCalledTimes(1);
    expect(on.problem).toHaveBeenCalledWith(`Subscription failed: ${badRequest.message}`);
  });

  it('counts the exception the server sends before the refusing ack as the same report', async () => {
    const { socket, on } = await connected(['AAPL']);
    socket.fire('exception', badRequest);
    socket.answer(0, { ok: false, error: badRequest });
    await settle();
    expect(on.problem).toHaveBeenCalledTimes(1);
  });

  it('sends again once the desired subscription changes, even back to a refused one', async () => {
    const { market, socket, on } = await connected(['AAPL']);
    socket.answer(0, { ok: false, error: badRequest });
    await settle();
    market.setSymbols(['AAPL', 'MSFT']);
    expect(socket.subscribes()).toHaveLength(2);
    expect(socket.subscribes()[1].payload).toEqual({ symbols: ['AAPL', 'MSFT'], intervalMs: 250 });
    socket.answer(1, { ok: false, error: badRequest });
    await settle();
    market.setSymbols(['AAPL']);
    expect(socket.subscribes()).toHaveLength(3);
    expect(on.problem).toHaveBeenCalledTimes(2);
  });

  it('tries once on a new connection, whose server may accept it', async () => {
    const { socket } = await connected(['AAPL']);
    socket.answer(0, { ok: false, error: badRequest });
    await settle();
    socket.drop();
    socket.connect();
    await settle();
    expect(socket.subscribes()).toHaveLength(2);
    socket.answer(1, accepted);
    await settle();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(socket.subscribes()).toHaveLength(2);
  });

  it('retries a request that got no answer, every 2 s after the 5 s ack timeout', async () => {
    const { socket, on } = await connected(['AAPL']);
    await vi.advanceTimersByTimeAsync(5000);
    expect(on.problem).toHaveBeenCalledWith('Subscription failed: no answer from the server');
    expect(socket.subscribes()).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(2000);
    expect(socket.subscribes()).toHaveLength(2);
  });

  it('retries a request refused as RATE_LIMITED', async () => {
    const { socket } = await connected(['AAPL']);
    socket.answer(0, { ok: false, error: { code: 'RATE_LIMITED', message: 'slow down' } });
    await settle();
    await vi.advanceTimersByTimeAsync(2000);
    expect(socket.subscribes()).toHaveLength(2);
  });

  it('resubscribes on a reconnect after the connection dropped mid-request', async () => {
    const { socket } = await connected(['AAPL']);
    socket.drop();
    await settle();
    socket.connect();
    await settle();
    expect(socket.subscribes()).toHaveLength(2);
  });

  it('shows an exception that no request of ours explains', async () => {
    const { socket, on } = await connected(['AAPL']);
    socket.answer(0, accepted);
    await settle();
    socket.fire('exception', { code: 'RATE_LIMITED', message: 'too many messages' });
    expect(on.problem).toHaveBeenCalledWith('too many messages');
  });
});
