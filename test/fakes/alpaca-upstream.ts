import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

/**
 * A fake Alpaca market data v2 stock stream
 * (wss://stream.data.alpaca.markets/v2/{iex|sip|test}) on 127.0.0.1, port 0,
 * for tests: the documented protocol (docs.alpaca.markets, "WebSocket
 * Stream" and "Real-time Stock Data"): every frame a JSON array; the welcome
 * `[{"T":"success","msg":"connected"}]`; `{"action":"auth",…}` within 10 s,
 * answered `authenticated` or `402 auth failed` (then closed) or `404 auth
 * timeout` (closed); `{"action":"subscribe",…}` answered with the full
 * `subscription` state; trades `T: "t"` and quotes `T: "q"` with the docs'
 * field names; the documented error codes. And handles for a test to push
 * trades and quotes (several in one frame), send garbage, cut connections,
 * stall (no more frames, pings unanswered), hold the account's one
 * connection elsewhere (406), and cap or refuse symbols (405, 409).
 *
 * How the fake plays what the docs leave open: after a 405 the first
 * `maxSymbols` symbols of the request are kept; a 409 symbol is left out of
 * the `subscription` reply while the others are subscribed.
 */

/** One trade as the test gives it; every other field gets a plausible value. */
export interface FakeTrade {
  S: string;
  p: number;
  s?: number;
}

/** One quote as the test gives it. */
export interface FakeQuote {
  S: string;
  bp: number;
  ap: number;
  bs?: number;
  as?: number;
}

/** A message a client sent, parsed, with the connection it came on (1, 2 …). */
export interface ReceivedMessage {
  connection: number;
  at: number;
  message: unknown;
}

interface Client {
  id: number;
  socket: WebSocket;
  authenticated: boolean;
  trades: Set<string>;
  quotes: Set<string>;
  /** Sends nothing and answers no ping (see {@link FakeAlpacaUpstream.stall}). */
  stalled: boolean;
  authTimer: NodeJS.Timeout | undefined;
}

/** Options of {@link FakeAlpacaUpstream.start}. */
export interface FakeAlpacaOptions {
  key?: string;
  secret?: string;
  /** Time a connection has to authenticate before `404 auth timeout` (Alpaca: 10 s). */
  authTimeoutMs?: number;
  /** Symbols one connection may subscribe per channel; beyond: 405 (the free plan: 30). */
  maxSymbols?: number;
  /** Symbols the account's plan does not cover: 409 insufficient subscription. */
  insufficient?: readonly string[];
}

/** The server's JSON for one frame: an array of messages. */
const frame = (...messages: unknown[]): string => JSON.stringify(messages);

/** The documented text of each error code this fake sends. */
const ERROR_TEXT: Record<number, string> = {
  400: 'invalid syntax',
  401: 'not authenticated',
  402: 'auth failed',
  403: 'already authenticated',
  404: 'auth timeout',
  405: 'symbol limit exceeded',
  406: 'connection limit exceeded',
  407: 'slow client',
  409: 'insufficient subscription',
  500: 'internal error',
};

export class FakeAlpacaUpstream {
  /** Every message clients sent, in order. */
  readonly received: ReceivedMessage[] = [];
  /** Times (Date.now()) at which each connection opened. */
  readonly connectedAt: number[] = [];
  /** Pings received (from the client's keep-alive). */
  pings = 0;

  private readonly server: WebSocketServer;
  private readonly clients = new Set<Client>();
  private readonly key: string;
  private readonly secret: string;
  private readonly authTimeoutMs: number;
  private readonly maxSymbols: number;
  private readonly insufficient: Set<string>;
  private connectionCount = 0;
  /** The account's one connection is held by another session: every auth gets 406. */
  private occupied = false;
  private tradeId = 96_921;
  private readonly waiters = new Set<() => void>();

  private constructor(server: WebSocketServer, options: FakeAlpacaOptions) {
    this.server = server;
    this.key = options.key ?? 'PKFAKEKEY';
    this.secret = options.secret ?? 'fake-secret';
    this.authTimeoutMs = options.authTimeoutMs ?? 10_000;
    this.maxSymbols = options.maxSymbols ?? Number.POSITIVE_INFINITY;
    this.insufficient = new Set(options.insufficient ?? []);
    server.on('connection', (socket) => this.onConnection(socket));
  }

  /** Listens on 127.0.0.1, port 0. */
  static async start(options: FakeAlpacaOptions = {}): Promise<FakeAlpacaUpstream> {
    // autoPong off: the fake answers pings itself, so that a stalled connection can stop.
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, autoPong: false });
    const fake = new FakeAlpacaUpstream(server, options);
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    return fake;
  }

  /** `ws://127.0.0.1:<port>/v2/test`. */
  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}/v2/test`;
  }

  /** Connections accepted so far. */
  get connections(): number {
    return this.connectionCount;
  }

  /** Connections open now. */
  get openConnections(): number {
    return this.clients.size;
  }

  /** The auth messages received, in order. */
  get auths(): ReceivedMessage[] {
    return this.withAction('auth');
  }

  /** The subscribe messages received, in order. */
  get subscribes(): ReceivedMessage[] {
    return this.withAction('subscribe');
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

  /** The documented trade message (`T: "t"`). */
  trade(trade: FakeTrade): Record<string, unknown> {
    return {
      T: 't',
      S: trade.S,
      i: ++this.tradeId,
      x: 'V',
      p: trade.p,
      s: trade.s ?? 100,
      c: ['@'],
      t: nanoTime(),
      z: 'C',
    };
  }

  /** The documented quote message (`T: "q"`). */
  quote(quote: FakeQuote): Record<string, unknown> {
    return {
      T: 'q',
      S: quote.S,
      bx: 'V',
      bp: quote.bp,
      bs: quote.bs ?? 2,
      ax: 'V',
      ap: quote.ap,
      as: quote.as ?? 3,
      c: ['R'],
      t: nanoTime(),
      z: 'C',
    };
  }

  /** A trade to every client subscribed to its symbol's trades. */
  pushTrade(trade: FakeTrade): void {
    this.pushBatch([this.trade(trade)]);
  }

  /** A quote to every client subscribed to its symbol's quotes. */
  pushQuote(quote: FakeQuote): void {
    this.pushBatch([this.quote(quote)]);
  }

  /**
   * Several messages in one frame, as the stream batches them; each client
   * gets those of its subscriptions (a frame left empty is not sent).
   */
  pushBatch(messages: Record<string, unknown>[]): void {
    for (const client of this.clients) {
      const mine = messages.filter((m) => {
        const set = m.T === 't' ? client.trades : m.T === 'q' ? client.quotes : undefined;
        return set === undefined || set.has(String(m.S));
      });
      if (mine.length > 0) this.sendTo(client, frame(...mine));
    }
  }

  /** `[{"T":"error","code":code,"msg":…}]` to every client (the documented text by default). */
  sendError(code: number, msg = ERROR_TEXT[code] ?? 'error'): void {
    for (const client of this.clients) this.sendTo(client, frame({ T: 'error', code, msg }));
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
   * more and no ping answered, as a TCP path that died without a FIN. New
   * connections are served normally.
   */
  stall(): void {
    for (const client of this.clients) client.stalled = true;
  }

  /** Another session holds the account's one connection: every auth is answered 406 and closed. */
  occupy(): void {
    this.occupied = true;
  }

  release(): void {
    this.occupied = false;
  }

  /** Closes every connection and the server. */
  async close(): Promise<void> {
    for (const client of this.clients) {
      clearTimeout(client.authTimer);
      client.socket.terminate();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private withAction(action: string): ReceivedMessage[] {
    return this.received.filter(
      (r) => (r.message as { action?: unknown } | null)?.action === action,
    );
  }

  private onConnection(socket: WebSocket): void {
    const client: Client = {
      id: ++this.connectionCount,
      socket,
      authenticated: false,
      trades: new Set(),
      quotes: new Set(),
      stalled: false,
      authTimer: undefined,
    };
    this.clients.add(client);
    this.connectedAt.push(Date.now());
    client.authTimer = setTimeout(() => {
      if (!client.authenticated) this.refuse(client, 404);
    }, this.authTimeoutMs);
    socket.on('ping', (data) => {
      this.pings++;
      if (!client.stalled && socket.readyState === socket.OPEN) socket.pong(data);
      this.notify();
    });
    socket.on('message', (data) => {
      const bytes = Array.isArray(data)
        ? Buffer.concat(data)
        : Buffer.isBuffer(data)
          ? data
          : Buffer.from(data);
      this.onMessage(client, bytes.toString('utf8'));
    });
    socket.on('close', () => {
      clearTimeout(client.authTimer);
      this.clients.delete(client);
      this.notify();
    });
    socket.on('error', () => undefined);
    this.sendTo(client, frame({ T: 'success', msg: 'connected' }));
    this.notify();
  }

  private onMessage(client: Client, text: string): void {
    if (client.stalled) return;
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      this.sendTo(client, frame({ T: 'error', code: 400, msg: ERROR_TEXT[400] }));
      return;
    }
    this.received.push({ connection: client.id, at: Date.now(), message });
    this.notify();
    const request = (typeof message === 'object' && message !== null ? message : {}) as {
      action?: unknown;
      key?: unknown;
      secret?: unknown;
      trades?: unknown;
      quotes?: unknown;
    };
    switch (request.action) {
      case 'auth':
        if (client.authenticated) {
          this.sendTo(client, frame({ T: 'error', code: 403, msg: ERROR_TEXT[403] }));
        } else if (request.key !== this.key || request.secret !== this.secret) {
          this.refuse(client, 402);
        } else if (this.occupied) {
          this.refuse(client, 406);
        } else {
          client.authenticated = true;
          clearTimeout(client.authTimer);
          this.sendTo(client, frame({ T: 'success', msg: 'authenticated' }));
        }
        return;
      case 'subscribe':
        if (!client.authenticated) {
          this.sendTo(client, frame({ T: 'error', code: 401, msg: ERROR_TEXT[401] }));
          return;
        }
        this.subscribe(client, request.trades, request.quotes);
        return;
      default:
        this.sendTo(client, frame({ T: 'error', code: 400, msg: ERROR_TEXT[400] }));
    }
  }

  private subscribe(client: Client, trades: unknown, quotes: unknown): void {
    const errors: number[] = [];
    const add = (set: Set<string>, list: unknown) => {
      for (const symbol of Array.isArray(list) ? list.map(String) : []) {
        if (this.insufficient.has(symbol)) {
          if (!errors.includes(409)) errors.push(409);
        } else if (set.size >= this.maxSymbols && !set.has(symbol)) {
          if (!errors.includes(405)) errors.push(405);
        } else {
          set.add(symbol);
        }
      }
    };
    add(client.trades, trades);
    add(client.quotes, quotes);
    for (const code of errors) {
      this.sendTo(client, frame({ T: 'error', code, msg: ERROR_TEXT[code] }));
    }
    this.sendTo(
      client,
      frame({
        T: 'subscription',
        trades: [...client.trades],
        quotes: [...client.quotes],
        bars: [],
        updatedBars: [],
        dailyBars: [],
        statuses: [],
        lulds: [],
        corrections: [...client.trades],
        cancelErrors: [...client.trades],
      }),
    );
  }

  /** An error that ends the connection, as the stream does for 402, 404 and 406. */
  private refuse(client: Client, code: number): void {
    this.sendTo(client, frame({ T: 'error', code, msg: ERROR_TEXT[code] }));
    client.socket.close(1008, ERROR_TEXT[code]);
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

/** Now as RFC 3339 with nanoseconds, as the stream writes times. */
function nanoTime(): string {
  return new Date().toISOString().replace('Z', '123456Z');
}
