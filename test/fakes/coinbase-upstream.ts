import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

/**
 * A fake Coinbase Exchange market data feed (wss://ws-feed.exchange.coinbase.com)
 * on 127.0.0.1, port 0, for tests: the documented protocol
 * (docs.cdp.coinbase.com/exchange/websocket-feed: overview and channels), the
 * messages with the field set and the string-encoded numbers of the docs'
 * examples, and handles for a test to push tickers, heartbeats and errors,
 * send garbage, cut connections, stall, and refuse new connections.
 */

/** One ticker as the test gives it; every other field gets a plausible value. */
export interface FakeTicker {
  product_id: string;
  price: string;
  last_size?: string;
  best_bid?: string;
  best_ask?: string;
  open_24h?: string;
  side?: 'buy' | 'sell';
}

/** A subscribe (or other) message a client sent, parsed, with the connection it came on (1, 2 …). */
export interface ReceivedMessage {
  connection: number;
  at: number;
  message: unknown;
}

interface Client {
  id: number;
  socket: WebSocket;
  /** Product ids subscribed per channel. */
  channels: Map<string, Set<string>>;
  /** Sends nothing at all (see {@link FakeCoinbaseUpstream.stall}). */
  stalled: boolean;
}

/** The products this fake lists; subscribing to anything else is an error, as upstream. */
const DEFAULT_PRODUCTS = ['BTC-USD', 'ETH-USD', 'SOL-USD', 'ETH-EUR', 'ETH-BTC'];

export class FakeCoinbaseUpstream {
  /** Every message clients sent, in order. */
  readonly received: ReceivedMessage[] = [];
  /** Times (Date.now()) at which each connection opened. */
  readonly connectedAt: number[] = [];

  private readonly server: WebSocketServer;
  private readonly clients = new Set<Client>();
  private readonly products: Set<string>;
  private connectionCount = 0;
  private refusing = false;
  private sequence = 3_000_000_000;
  private tradeId = 370_000_000;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private readonly waiters = new Set<() => void>();

  private constructor(server: WebSocketServer, products: readonly string[]) {
    this.server = server;
    this.products = new Set(products);
    server.on('connection', (socket) => this.onConnection(socket));
  }

  /** Listens on 127.0.0.1, port 0. */
  static async start(
    products: readonly string[] = DEFAULT_PRODUCTS,
  ): Promise<FakeCoinbaseUpstream> {
    const server = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      // A refused connection: the upgrade is answered 503, as a load balancer would.
      verifyClient: (_info, callback) => callback(!fake.refusing, 503, 'Service Unavailable'),
    });
    const fake: FakeCoinbaseUpstream = new FakeCoinbaseUpstream(server, products);
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    return fake;
  }

  /** `ws://127.0.0.1:<port>`. */
  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Connections accepted so far. */
  get connections(): number {
    return this.connectionCount;
  }

  /** Connections open now. */
  get openConnections(): number {
    return this.clients.size;
  }

  /** The subscribe messages received, in order. */
  get subscribes(): ReceivedMessage[] {
    return this.received.filter(
      (r) => (r.message as { type?: unknown } | null)?.type === 'subscribe',
    );
  }

  /** Resolves once `predicate` holds, re-checked on every event of the fake (no polling). */
  until(predicate: () => boolean, timeoutMs = 10_000, what = 'the upstream'): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!predicate()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  /** A `ticker` to every client subscribed to its product's ticker channel. */
  pushTicker(ticker: FakeTicker): void {
    const price = ticker.price;
    const message = {
      type: 'ticker',
      sequence: ++this.sequence,
      product_id: ticker.product_id,
      price,
      open_24h: ticker.open_24h ?? price,
      volume_24h: '245532.79269678',
      low_24h: price,
      high_24h: price,
      volume_30d: '9788783.60117027',
      best_bid: ticker.best_bid ?? price,
      best_bid_size: '0.46688654',
      best_ask: ticker.best_ask ?? price,
      best_ask_size: '1.56637040',
      side: ticker.side ?? 'buy',
      time: new Date().toISOString().replace('Z', '000Z'),
      trade_id: ++this.tradeId,
      last_size: ticker.last_size ?? '0.01',
    };
    this.broadcast('ticker', ticker.product_id, JSON.stringify(message));
  }

  /** One `heartbeat` per product to every client subscribed to the heartbeat channel. */
  sendHeartbeats(): void {
    for (const client of this.clients) {
      for (const product of client.channels.get('heartbeat') ?? []) {
        this.sendTo(
          client,
          JSON.stringify({
            type: 'heartbeat',
            sequence: ++this.sequence,
            last_trade_id: this.tradeId,
            product_id: product,
            time: new Date().toISOString().replace('Z', '000Z'),
          }),
        );
      }
    }
  }

  /** Heartbeats every `periodMs` (Coinbase: every second) until {@link stopHeartbeats}. */
  startHeartbeats(periodMs = 1000): void {
    this.stopHeartbeats();
    this.heartbeatTimer = setInterval(() => this.sendHeartbeats(), periodMs);
  }

  stopHeartbeats(): void {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  /** An `error` message to every client. */
  sendError(message: string, reason?: string): void {
    const text = JSON.stringify(
      reason === undefined ? { type: 'error', message } : { type: 'error', message, reason },
    );
    for (const client of this.clients) this.sendTo(client, text);
  }

  /** A raw text frame to every client (garbage, truncated JSON, bad fields…). */
  sendRaw(text: string): void {
    for (const client of this.clients) this.sendTo(client, text);
  }

  /** Drops every connection at once (TCP destroyed, no close frame), as a crash or a network cut. */
  disconnectAll(): void {
    for (const client of this.clients) client.socket.terminate();
  }

  /**
   * The connections open now go silent: kept open, nothing sent on them any
   * more (no ticker, heartbeat, reply), as a TCP path that died without a
   * FIN. New connections are served normally.
   */
  stall(): void {
    for (const client of this.clients) client.stalled = true;
  }

  /** New connections are refused (HTTP 503 to the upgrade) until {@link accept}. */
  refuse(): void {
    this.refusing = true;
  }

  accept(): void {
    this.refusing = false;
  }

  /** Closes every connection and the server; stops the heartbeats. */
  async close(): Promise<void> {
    this.stopHeartbeats();
    for (const client of this.clients) client.socket.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(socket: WebSocket): void {
    const client: Client = {
      id: ++this.connectionCount,
      socket,
      channels: new Map(),
      stalled: false,
    };
    this.clients.add(client);
    this.connectedAt.push(Date.now());
    socket.on('message', (data) => {
      const bytes = Array.isArray(data)
        ? Buffer.concat(data)
        : Buffer.isBuffer(data)
          ? data
          : Buffer.from(data);
      this.onMessage(client, bytes.toString('utf8'));
    });
    socket.on('close', () => {
      this.clients.delete(client);
      this.notify();
    });
    socket.on('error', () => undefined);
    this.notify();
  }

  /** The documented subscribe: `product_ids` for every channel, or a channel object with its own. */
  private onMessage(client: Client, text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      this.sendTo(client, JSON.stringify({ type: 'error', message: 'Malformed JSON' }));
      return;
    }
    this.received.push({ connection: client.id, at: Date.now(), message });
    this.notify();
    const request = message as {
      type?: unknown;
      product_ids?: unknown;
      channels?: unknown;
    };
    if (request.type !== 'subscribe') return;
    const defaults = Array.isArray(request.product_ids) ? request.product_ids.map(String) : [];
    const channels = Array.isArray(request.channels) ? request.channels : [];
    const unknown = [...defaults].filter((id) => !this.products.has(id));
    if (unknown.length > 0) {
      this.sendTo(
        client,
        JSON.stringify({
          type: 'error',
          message: 'Failed to subscribe',
          reason: `${unknown[0]} is not a valid product`,
        }),
      );
      return;
    }
    for (const channel of channels) {
      const name =
        typeof channel === 'string' ? channel : String((channel as { name?: unknown }).name);
      const own =
        typeof channel === 'object' && channel !== null
          ? (channel as { product_ids?: unknown }).product_ids
          : undefined;
      const ids = Array.isArray(own) ? own.map(String) : defaults;
      const set = client.channels.get(name) ?? new Set<string>();
      for (const id of ids) set.add(id);
      client.channels.set(name, set);
    }
    this.sendTo(
      client,
      JSON.stringify({
        type: 'subscriptions',
        channels: [...client.channels].map(([name, ids]) => ({ name, product_ids: [...ids] })),
      }),
    );
  }

  private broadcast(channel: string, product: string, text: string): void {
    for (const client of this.clients) {
      if (client.channels.get(channel)?.has(product)) this.sendTo(client, text);
    }
  }

  /** Sends, unless the connection is stalled. */
  private sendTo(client: Client, text: string): void {
    if (client.stalled) return;
    if (client.socket.readyState === client.socket.OPEN) client.socket.send(text);
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
