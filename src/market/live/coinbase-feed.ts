import {
  asyncScheduler,
  BehaviorSubject,
  type Observable,
  type SchedulerLike,
  Subject,
  type Subscription,
} from 'rxjs';
import WebSocket from 'ws';
import type { FeedState, Instrument, Tick } from '../../shared/market.js';
import type { MarketFeed } from '../market-feed.js';
import {
  type CoinbaseError,
  type CoinbaseTicker,
  parseCoinbaseMessage,
  subscribeMessage,
} from './coinbase-messages.js';
import {
  guardedSchedule,
  type LiveFeedLog,
  LiveTickQueue,
  MalformedFrames,
  rawText,
} from './live-feed-support.js';
import { ReconnectBackoff } from './reconnect-backoff.js';

/** The public Coinbase Exchange market data feed (no key needed). */
export const COINBASE_DEFAULT_URL = 'wss://ws-feed.exchange.coinbase.com';

/** What FEED=coinbase streams when FEED_SYMBOLS is empty. */
export const COINBASE_DEFAULT_PRODUCTS: readonly string[] = ['BTC-USD', 'ETH-USD', 'SOL-USD'];

/** Where the feed reports what happens to its upstream. */
export type CoinbaseFeedLog = LiveFeedLog;

/** Construction options of {@link CoinbaseFeed}. */
export interface CoinbaseFeedOptions {
  /** `ws://` or `wss://` URL of the feed (COINBASE_WS_URL). */
  url: string;
  /** The universe, one instrument per product id (see {@link coinbaseInstruments}). */
  instruments: readonly Instrument[];
  /** Clock and timers; `asyncScheduler` by default. */
  scheduler?: SchedulerLike;
  log?: CoinbaseFeedLog;
  /**
   * Longest wait from starting a connection to the `subscriptions` reply
   * (handshake and subscribe included), else the attempt is abandoned and
   * retried; 5 s, the time Coinbase itself gives a client to subscribe.
   */
  subscribeTimeoutMs?: number;
  /**
   * Longest silence (no message at all) before the connection is taken as
   * dead: `stale`, terminated, reconnected. Coinbase sends a heartbeat per
   * product every second, so 10 s is ten missed heartbeats.
   */
  silenceTimeoutMs?: number;
  /** Ticks held between the socket and the subscribers (oldest dropped beyond). */
  bufferCapacity?: number;
  /** Reconnect delays (1 s → 30 s, full jitter by default). */
  backoff?: ReconnectBackoff;
}

/** Distinguishes feeds started in the same millisecond of the same process. */
let runCounter = 0;

/**
 * The instruments of FEED=coinbase: one per product id, named from
 * `metadata` (SYMBOLS_FILE) when it lists it, else by its id; sector
 * "Crypto". `refPrice` is a placeholder (1) until the first ticker's
 * `open_24h`, which every tick carries as `prevClose`. Volatility and trade
 * intensity are only read by the simulator.
 */
export function coinbaseInstruments(
  productIds: readonly string[],
  metadata: readonly Instrument[] = [],
): Instrument[] {
  const known = new Map(metadata.map((instrument) => [instrument.symbol, instrument]));
  return productIds.map((symbol) => ({
    symbol,
    name: known.get(symbol)?.name ?? symbol,
    sector: known.get(symbol)?.sector ?? 'Crypto',
    refPrice: 1,
    volatility: 0.6,
    tradeIntensity: 1,
  }));
}

/**
 * FEED=coinbase: the live trades of Coinbase Exchange's public WebSocket
 * feed, our own small client on `ws`.
 *
 * On each connection it subscribes every product to the `ticker` and
 * `heartbeat` channels; every `ticker` (one per trade) becomes a tick with
 * the trade price and size, the best bid and ask, `prevClose` = `open_24h`,
 * and `ts` on our clock (MarketFeed contract). `seq` is ours, per symbol,
 * 1, 2, 3 … across reconnects for as long as the feed runs (one epoch).
 *
 * States: `connecting` until the first message with data (ticker or
 * heartbeat), then `live`; `stale` when nothing came for `silenceTimeoutMs`
 * (the socket is then terminated, and the state stays until the next attempt
 * starts); `reconnecting` from losing the connection until data flows again;
 * `closed` after {@link stop}. A lost connection is
 * retried after {@link ReconnectBackoff} delays, reset only once data flows
 * again, so an upstream that accepts and then drops every connection backs
 * off to 30 s like one that refuses them.
 *
 * The socket handler only parses and queues: ticks wait in a bounded buffer
 * drained on the scheduler, so a slow subscriber never holds up the socket's
 * reads (and so Coinbase's ErrSlowConsume). Frames that do not parse are
 * counted, logged (the first, then once a minute with the count) and dropped.
 */
export class CoinbaseFeed implements MarketFeed {
  readonly instruments: readonly Instrument[];
  readonly ticks$: Observable<Tick>;
  readonly state$: Observable<FeedState>;
  readonly epoch: string;

  private readonly subject = new Subject<Tick>();
  private readonly stateSubject = new BehaviorSubject<FeedState>('idle');
  private readonly scheduler: SchedulerLike;
  private readonly backoff: ReconnectBackoff;
  private readonly index = new Map<string, number>();
  private readonly productIds: string[];
  private readonly subscribeTimeoutMs: number;
  private readonly silenceTimeoutMs: number;

  private socket: WebSocket | undefined;
  private started = false;
  private stopped = false;
  /** Data (ticker or heartbeat) arrived on the current connection. */
  private flowing = false;
  private subscribed = false;
  private lastMessageAt = 0;
  private lastTs = 0;
  private connectTimer: Subscription | undefined;
  private silenceTimer: Subscription | undefined;
  private attemptTimer: Subscription | undefined;

  private readonly queue: LiveTickQueue;
  private readonly malformed: MalformedFrames;

  private connections = 0;

  constructor(private readonly options: CoinbaseFeedOptions) {
    this.instruments = options.instruments;
    this.productIds = options.instruments.map((instrument) => instrument.symbol);
    options.instruments.forEach((instrument, i) => this.index.set(instrument.symbol, i));
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.backoff = options.backoff ?? new ReconnectBackoff();
    this.subscribeTimeoutMs = options.subscribeTimeoutMs ?? 5000;
    this.silenceTimeoutMs = options.silenceTimeoutMs ?? 10_000;
    this.queue = new LiveTickQueue({
      index: this.index,
      capacity: options.bufferCapacity ?? 10_000,
      scheduler: this.scheduler,
      emit: (tick) => this.subject.next(tick),
      log: options.log,
    });
    this.malformed = new MalformedFrames(this.scheduler, 'frame from Coinbase', options.log);
    this.ticks$ = this.subject.asObservable();
    this.state$ = this.stateSubject.asObservable();
    this.epoch = `coinbase-${this.scheduler.now().toString(36)}-${(++runCounter).toString(36)}`;
  }

  get state(): FeedState {
    return this.stateSubject.value;
  }

  /** Counters for tests and logs. */
  get stats(): {
    connections: number;
    emitted: number;
    malformed: number;
    dropped: number;
    buffered: number;
  } {
    return {
      connections: this.connections,
      emitted: this.queue.emitted,
      malformed: this.malformed.count,
      dropped: this.queue.dropped,
      buffered: this.queue.size,
    };
  }

  /** Connects (idempotent). A feed once stopped stays stopped: its epoch is over. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.setState('connecting');
    this.connect();
  }

  /** Closes the socket and every timer (idempotent); the feed is `closed`. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.connectTimer?.unsubscribe();
    this.connectTimer = undefined;
    this.dropSocket();
    this.malformed.flush();
    this.queue.close();
    if (this.started) this.setState('closed');
  }

  private connect(): void {
    this.connectTimer = undefined;
    if (this.stopped) return;
    if (this.connections > 0) this.setState('reconnecting');
    this.connections++;
    this.flowing = false;
    this.subscribed = false;
    const socket = new WebSocket(this.options.url, {
      handshakeTimeout: this.subscribeTimeoutMs,
      perMessageDeflate: false,
    });
    this.socket = socket;
    this.attemptTimer = this.schedule(this.subscribeTimeoutMs, () => {
      if (this.socket !== socket || this.subscribed) return;
      this.options.log?.warn(
        `no subscriptions reply from ${this.options.url} within ${this.subscribeTimeoutMs} ms: reconnecting`,
      );
      socket.terminate();
    });
    socket.on('open', () => {
      if (this.socket !== socket) return;
      this.lastMessageAt = this.scheduler.now();
      this.armSilence(socket);
      socket.send(JSON.stringify(subscribeMessage(this.productIds)));
    });
    socket.on('message', (data, isBinary) => {
      if (this.socket !== socket) return;
      this.lastMessageAt = this.scheduler.now();
      this.onFrame(isBinary ? undefined : rawText(data));
    });
    socket.on('error', (err) => {
      if (this.socket !== socket) return;
      this.options.log?.warn(`connection to ${this.options.url}: ${err.message}`);
    });
    socket.on('close', (code, reason) => {
      if (this.socket !== socket) return;
      this.lostConnection(code, reason.toString());
    });
  }

  private lostConnection(code: number, reason: string): void {
    const hadData = this.flowing;
    this.dropSocket();
    if (this.stopped) return;
    const delay = this.backoff.next();
    this.options.log?.warn(
      `connection to ${this.options.url} ${hadData ? 'lost' : 'failed'} (code ${code}${reason ? `, ${reason}` : ''}): reconnecting in ${delay} ms (attempt ${this.backoff.attempts})`,
    );
    // A stale upstream stays `stale` until the next attempt starts.
    if (this.state !== 'stale') this.setState('reconnecting');
    this.connectTimer = this.schedule(delay, () => this.connect());
  }

  /** Detaches from the current socket (terminated) and clears its timers. */
  private dropSocket(): void {
    const socket = this.socket;
    this.socket = undefined;
    this.silenceTimer?.unsubscribe();
    this.silenceTimer = undefined;
    this.attemptTimer?.unsubscribe();
    this.attemptTimer = undefined;
    if (socket) {
      socket.removeAllListeners();
      // A late 'error' (the connection reset while closing) must not be an unhandled one.
      socket.on('error', () => undefined);
      socket.terminate();
    }
  }

  /** Checks for silence every `silenceTimeoutMs`, counted from the last message. */
  private armSilence(socket: WebSocket): void {
    const due = this.lastMessageAt + this.silenceTimeoutMs - this.scheduler.now();
    this.silenceTimer = this.schedule(Math.max(0, due), () => {
      if (this.socket !== socket) return;
      const silentMs = this.scheduler.now() - this.lastMessageAt;
      if (silentMs < this.silenceTimeoutMs) {
        this.armSilence(socket);
        return;
      }
      this.options.log?.warn(
        `nothing from ${this.options.url} for ${silentMs} ms (no ticker, no heartbeat): stale, reconnecting`,
      );
      this.setState('stale');
      this.lostConnection(4000, 'silent');
    });
  }

  private onFrame(text: string | undefined): void {
    if (text === undefined) {
      this.onMalformed('a binary frame');
      return;
    }
    const message = parseCoinbaseMessage(text);
    switch (message.kind) {
      case 'ticker':
        this.dataFlows();
        this.onTicker(message.ticker);
        return;
      case 'heartbeat':
        this.dataFlows();
        return;
      case 'subscriptions':
        this.subscribed = true;
        this.attemptTimer?.unsubscribe();
        this.attemptTimer = undefined;
        return;
      case 'error':
        this.onUpstreamError(message.error);
        return;
      case 'other':
        return;
      case 'malformed':
        this.onMalformed(message.problem);
        return;
    }
  }

  private dataFlows(): void {
    if (this.flowing) return;
    this.flowing = true;
    // The connection holds: the next loss starts again from the first delay.
    this.backoff.reset();
    this.setState('live');
  }

  private onTicker(ticker: CoinbaseTicker): void {
    const i = this.index.get(ticker.product_id);
    if (i === undefined) return;
    if (ticker.open_24h > 0) this.instruments[i].refPrice = ticker.open_24h;
    // ts never goes back, even if the system clock does (MarketFeed contract).
    const ts = Math.max(this.lastTs, this.scheduler.now());
    this.lastTs = ts;
    const tick: Tick = {
      symbol: ticker.product_id,
      seq: 0,
      ts,
      price: ticker.price,
      bid: ticker.best_bid > 0 ? ticker.best_bid : ticker.price,
      ask: ticker.best_ask > 0 ? ticker.best_ask : ticker.price,
      size: ticker.last_size,
    };
    if (ticker.open_24h > 0) tick.prevClose = ticker.open_24h;
    this.queue.push(tick);
  }

  private onUpstreamError(error: CoinbaseError): void {
    const text = `${error.message}${error.reason ? `: ${error.reason}` : ''}`;
    const unknown = this.productIds.filter((id) => text.includes(id));
    this.options.log?.error(
      unknown.length > 0
        ? `Coinbase refused product ${unknown.join(', ')} (${text}); check FEED_SYMBOLS`
        : `Coinbase error: ${text}`,
    );
  }

  private onMalformed(problem: string): void {
    this.malformed.note(problem);
  }

  private schedule(delayMs: number, work: () => void): Subscription {
    return guardedSchedule(this.scheduler, 'CoinbaseFeed', this.options.log, delayMs, work);
  }

  private setState(state: FeedState): void {
    if (this.stateSubject.value !== state) this.stateSubject.next(state);
  }
}
