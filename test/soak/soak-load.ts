/**
 * The soak's client population: steady clients that stay connected for the
 * whole run, and churn clients that come and go every second, doing a bit of
 * everything (subscribe at random tiers, change tiers, unsubscribe, send bad
 * requests, leave politely or drop the TCP connection).
 */
import { io, type Socket } from 'socket.io-client';
import {
  type ClientToServerEvents,
  INTERVAL_TIERS_MS,
  MARKET_NAMESPACE,
  type ServerToClientEvents,
  type SubscribeAck,
  type UnsubscribeAck,
} from '../../src/shared/protocol.js';
import { RawSocket } from '../support/raw-socket.js';

/** Not imported from test/support/test-app.ts, which would pull the whole Nest app into this build. */
type MarketClient = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Seeded PRNG (mulberry32), so a run's choices can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface LoadCounters {
  connects: number;
  connectErrors: number;
  politeDisconnects: number;
  transportCloses: number;
  tcpDrops: number;
  serverDisconnects: number;
  acksOk: number;
  acksRejected: number;
  requestErrors: number;
  quotes: number;
}

interface ChurnClient {
  diesAt: number;
  held: Set<string>;
  io?: MarketClient;
  raw?: RawSocket;
}

const ACK_TIMEOUT_MS = 10_000;

export class SoakLoad {
  readonly counters: LoadCounters = {
    connects: 0,
    connectErrors: 0,
    politeDisconnects: 0,
    transportCloses: 0,
    tcpDrops: 0,
    serverDisconnects: 0,
    acksOk: 0,
    acksRejected: 0,
    requestErrors: 0,
    quotes: 0,
  };
  /** Distinct error messages seen (connect and request failures), with counts. */
  readonly errors = new Map<string, number>();
  private readonly steady: MarketClient[] = [];
  private readonly churn = new Set<ChurnClient>();
  /** Staleness (receive time − quote.ts) of quotes since the last {@link takeStaleness}. */
  private staleness: number[] = [];

  constructor(
    private readonly url: string,
    private readonly symbols: readonly string[],
    private readonly random: () => number,
  ) {}

  get steadyConnected(): number {
    return this.steady.filter((c) => c.connected).length;
  }

  get churnLive(): number {
    return this.churn.size;
  }

  /** Returns and resets the staleness samples gathered since the last call. */
  takeStaleness(): number[] {
    const out = this.staleness;
    this.staleness = [];
    return out;
  }

  /** Connects `count` steady clients (in batches, to keep the handshake rate sane), each on 3–8 symbols. */
  async startSteady(count: number): Promise<void> {
    for (let i = 0; i < count; i += 20) {
      const batch = Array.from({ length: Math.min(20, count - i) }, async () => {
        const client = await this.connectIo();
        this.steady.push(client);
        await this.subscribe(client, this.pickSymbols(3, 8), this.pickTier());
      });
      await Promise.all(batch);
    }
  }

  /** One second of churn: `arrivals` new clients, random actions on live ones, expired ones leave. */
  tick(arrivals: number): void {
    const now = Date.now();
    for (let i = 0; i < arrivals; i++) {
      void this.arrive(now).catch((err: unknown) => {
        this.counters.connectErrors++;
        this.noteError(err);
      });
    }
    for (const c of this.churn) {
      if (c.diesAt <= now) this.leave(c);
      else if (this.random() < 0.2) this.act(c);
    }
  }

  /** Disconnects everybody, steady and churn, politely. */
  stopAll(): void {
    for (const c of this.churn) this.leave(c, true);
    for (const client of this.steady) client.disconnect();
    this.steady.length = 0;
  }

  private async arrive(now: number): Promise<void> {
    const c: ChurnClient = { diesAt: now + 1000 + this.random() * 19_000, held: new Set() };
    const symbols = this.pickSymbols(1, 8);
    if (this.random() < 0.3) {
      const raw = await RawSocket.connect(this.url);
      raw.recording = false;
      c.raw = raw;
      this.churn.add(c);
      await raw.joinNamespace();
      this.counters.connects++;
      const ack = (await raw.request(
        'subscribe',
        { symbols, intervalMs: this.pickTier() },
        ACK_TIMEOUT_MS,
      )) as SubscribeAck;
      this.countAck(ack);
      if (ack.ok) for (const q of ack.snapshot) c.held.add(q.symbol);
    } else {
      const client = await this.connectIo();
      c.io = client;
      this.churn.add(c);
      const ack = await this.subscribe(client, symbols, this.pickTier());
      if (ack?.ok) for (const q of ack.snapshot) c.held.add(q.symbol);
    }
  }

  /** A random request from a live churn client. */
  private act(c: ChurnClient): void {
    const client = c.io;
    if (!client?.connected) return;
    const roll = this.random();
    if (roll < 0.35) {
      void this.subscribe(client, this.pickSymbols(1, 3), this.pickTier()).then((ack) => {
        if (ack?.ok) for (const q of ack.snapshot) c.held.add(q.symbol);
      });
    } else if (roll < 0.7 && c.held.size > 0) {
      const symbol = [...c.held][Math.floor(this.random() * c.held.size)];
      c.held.delete(symbol);
      void this.request<UnsubscribeAck>(client, 'unsubscribe', { symbols: [symbol] });
    } else if (roll < 0.85) {
      void this.request<SubscribeAck>(client, 'subscribe', { symbols: ['NOPE1', 'ZZZZ'] });
    } else {
      void this.request<SubscribeAck>(client, 'subscribe', { symbols: 'AAPL', intervalMs: -1 });
    }
  }

  /** Leaves: politely, by closing the transport, or by dropping the TCP connection. */
  private leave(c: ChurnClient, polite = false): void {
    this.churn.delete(c);
    const roll = polite ? 0 : this.random();
    if (c.io) {
      if (roll < 0.5) {
        c.io.disconnect();
        this.counters.politeDisconnects++;
      } else {
        c.io.io.engine?.close();
        c.io.disconnect();
        this.counters.transportCloses++;
      }
    } else if (c.raw) {
      if (roll < 0.5) {
        c.raw.send(`41${MARKET_NAMESPACE},`);
        c.raw.ws.close();
        this.counters.politeDisconnects++;
      } else {
        c.raw.terminate();
        this.counters.tcpDrops++;
      }
    }
  }

  private async connectIo(): Promise<MarketClient> {
    const client: MarketClient = io(`${this.url}${MARKET_NAMESPACE}`, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
    });
    client.on('quotes', (batch) => {
      const at = Date.now();
      this.counters.quotes += batch.length;
      for (const q of batch) this.staleness.push(at - q.ts);
    });
    client.on('disconnect', (reason) => {
      if (reason === 'io server disconnect') this.counters.serverDisconnects++;
    });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('connect_error', (err) => {
        client.disconnect();
        reject(err);
      });
    });
    this.counters.connects++;
    return client;
  }

  private async subscribe(
    client: MarketClient,
    symbols: string[],
    intervalMs: number,
  ): Promise<SubscribeAck | undefined> {
    return this.request<SubscribeAck>(client, 'subscribe', { symbols, intervalMs });
  }

  /** Sends a request with an ack; failures (timeouts, disconnects) are counted, never thrown. */
  private async request<T extends SubscribeAck | UnsubscribeAck>(
    client: MarketClient,
    event: 'subscribe' | 'unsubscribe',
    body: unknown,
  ): Promise<T | undefined> {
    try {
      const ack = (await (client
        .timeout(ACK_TIMEOUT_MS)
        .emitWithAck(event, body) as Promise<unknown>)) as T;
      this.countAck(ack);
      return ack;
    } catch (err) {
      if (client.connected) {
        this.counters.requestErrors++;
        this.noteError(err);
      }
      return undefined;
    }
  }

  private noteError(err: unknown): void {
    const message = (err instanceof Error ? err.message : String(err)).slice(0, 120);
    if (this.errors.size < 50 || this.errors.has(message)) {
      this.errors.set(message, (this.errors.get(message) ?? 0) + 1);
    }
  }

  private countAck(ack: SubscribeAck | UnsubscribeAck): void {
    if (ack.ok) this.counters.acksOk++;
    else this.counters.acksRejected++;
  }

  private pickSymbols(min: number, max: number): string[] {
    const n = min + Math.floor(this.random() * (max - min + 1));
    return Array.from(
      { length: n },
      () => this.symbols[Math.floor(this.random() * this.symbols.length)],
    );
  }

  /** A tier, or now and then an off-tier interval that the server rounds up. */
  private pickTier(): number {
    if (this.random() < 0.2) return 1 + Math.floor(this.random() * 6000);
    return INTERVAL_TIERS_MS[Math.floor(this.random() * INTERVAL_TIERS_MS.length)];
  }
}
