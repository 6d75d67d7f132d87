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
  ALPACA_ERROR_CODES,
  type AlpacaError,
  type AlpacaQuote,
  type AlpacaSubscription,
  type AlpacaTrade,
  authMessage,
  parseAlpacaFrame,
  subscribeMessage,
} from './alpaca-messages.js';
import {
  guardedSchedule,
  type LiveFeedLog,
  LiveTickQueue,
  MalformedFrames,
  rawText,
} from './live-feed-support.js';
import { ReconnectBackoff } from './reconnect-backoff.js';

/** The stream URL of an Alpaca stock feed: `wss://stream.data.alpaca.markets/v2/{feed}`. */
export function alpacaStreamUrl(feed: 'iex' | 'sip' | 'test'): string {
  return `wss://stream.data.alpaca.markets/v2/${feed}`;
}

/** What FEED=alpaca streams when FEED_SYMBOLS is empty (ALPACA_FEED=test has one symbol, FAKEPACA). */
export function alpacaDefaultSymbols(feed: 'iex' | 'sip' | 'test'): string[] {
  return feed === 'test' ? ['FAKEPACA'] : ['AAPL', 'MSFT', 'NVDA', 'AMZN', 'GOOGL'];
}

/**
 * The shortest wait after a 406 (connection limit exceeded): the account's one
 * connection is held elsewhere (another server, a stale session Alpaca has not
 * dropped yet), and knocking again within the second only keeps refusing.
 */
export const CONNECTION_LIMIT_DELAY_MS = 60_000;

/**
 * The delay before the next attempt: the backoff's, but at least
 * {@link CONNECTION_LIMIT_DELAY_MS} when the last connection ended with a 406.
 */
export function reconnectDelay(backoffDelayMs: number, lastErrorCode: number | undefined): number {
  return lastErrorCode === 406
    ? Math.max(CONNECTION_LIMIT_DELAY_MS, backoffDelayMs)
    : backoffDelayMs;
}

/** Where the feed reports what happens to its upstream. */
export type AlpacaFeedLog = LiveFeedLog;

/** Construction options of {@link AlpacaFeed}. */
export interface AlpacaFeedOptions {
  /** `ws://` or `wss://` URL of the stream (ALPACA_WS_URL, or {@link alpacaStreamUrl}). */
  url: string;
  /** API key id (ALPACA_KEY_ID). */
  keyId: string;
  /** API secret key (ALPACA_SECRET_KEY): sent in the auth message only, never logged. */
  secretKey: string;
  /** The universe, one instrument per symbol (see {@link alpacaInstruments}). */
  instruments: readonly Instrument[];
  /** Clock and timers; `asyncScheduler` by default. */
  scheduler?: SchedulerLike;
  log?: AlpacaFeedLog;
  /**
   * Longest wait from starting a connection to the `subscription` reply
   * (handshake, welcome, auth and subscribe), else the attempt is abandoned
   * and retried; 10 s, the time Alpaca gives a client to authenticate.
   */
  handshakeTimeoutMs?: number;
  /**
   * A WebSocket ping goes out this often (10 s). Alpaca sends no heartbeat
   * of its own, and a quiet symbol (or the market closed) sends no trades,
   * so silence alone says nothing: only a missing pong does.
   */
  pingIntervalMs?: number;
  /** No pong this long after a ping (10 s): `stale`, terminated, reconnected. */
  pongTimeoutMs?: number;
  /** Ticks held between the socket and the subscribers (oldest dropped beyond). */
  bufferCapacity?: number;
  /** Reconnect delays (1 s → 30 s, full jitter by default). */
  backoff?: ReconnectBackoff;
}

/** Distinguishes feeds started in the same millisecond of the same process. */
let runCounter = 0;

/**
 * The instruments of FEED=alpaca: one per symbol, named from `metadata`
 * (SYMBOLS_FILE) when it lists it, else by its symbol; sector "Stocks".
 * `refPrice` is a placeholder (1) until the symbol's first trade, whose price
 * becomes its prevClose (the stream gives no previous close). Volatility and
 * trade intensity are only read by the simulator.
 */
export function alpacaInstruments(
  symbols: readonly string[],
  metadata: readonly Instrument[] = [],
): Instrument[] {
  const known = new Map(metadata.map((instrument) => [instrument.symbol, instrument]));
  return symbols.map((symbol) => ({
    symbol,
    name: known.get(symbol)?.name ?? symbol,
    sector: known.get(symbol)?.sector ?? 'Stocks',
    refPrice: 1,
    volatility: 0.3,
    tradeIntensity: 1,
  }));
}

/**
 * FEED=alpaca: the live trades of Alpaca's market data v2 stock stream
 * (iex, sip or test), our own small client on `ws`.
 *
 * On each connection it waits for the welcome (`connected`), authenticates
 * with the key (`auth`), and on `authenticated` subscribes every symbol's
 * trades and quotes. Every trade becomes a tick with its price and size and
 * the bid and ask of the symbol's latest quote (before any quote: both the
 * trade price); `ts` is our clock (MarketFeed contract). `seq` is ours, per
 * symbol, 1, 2, 3 … across reconnects for as long as the feed runs (one
 * epoch). prevClose: the stream carries no previous close, so it is the
 * price of the symbol's first trade of the run (the tick with seq 1 carries it).
 *
 * States: `connecting` until the first trade or quote after the
 * subscription, then `live`; `stale` when a ping went unanswered for
 * `pongTimeoutMs` (the socket is then terminated, and the state stays until
 * the next attempt starts); `reconnecting` from losing the connection until
 * data flows again; `down` after a 402 (the key was refused): logged, no
 * more attempts, since retrying a bad key only locks it out; `closed` after
 * {@link stop}. A lost connection is retried after {@link ReconnectBackoff}
 * delays, reset only once data flows again, and at least 60 s after a 406
 * (connection limit exceeded). 405 and 409 refuse part of a subscription:
 * logged with the symbols missing from the reply, the rest streams on.
 *
 * The socket handler only parses and queues: ticks wait in a bounded buffer
 * drained on the scheduler, so a slow subscriber never holds up the socket's
 * reads (and so Alpaca's 407 slow client). Messages that do not parse are
 * counted, logged (the first, then once a minute with the count) and dropped.
 */
export class AlpacaFeed implements MarketFeed {
  readonly instruments: readonly Instrument[];
  readonly ticks$: Observable<Tick>;
  readonly state$: Observable<FeedState>;
  readonly epoch: string;

  private readonly subject = new Subject<Tick>();
  private readonly stateSubject = new BehaviorSubject<FeedState>('idle');
  private readonly scheduler: SchedulerLike;
  private readonly backoff: ReconnectBackoff;
  private readonly index = new Map<string, number>();
  /** Latest bid and ask per symbol (0: no quote yet), kept across reconnects. */
  private readonly bids: Float64Array;
  private readonly asks: Float64Array;
  /** Price of each symbol's first trade of the run (0: none yet): its prevClose. */
  private readonly firstPrices: Float64Array;
  private readonly symbols: string[];
  private readonly handshakeTimeoutMs: number;
  private readonly pingIntervalMs: number;
  private readonly pongTimeoutMs: number;

  private socket: WebSocket | undefined;
  private started = false;
  private stopped = false;
  /** A 402: the feed gave up (state `down`) and never dials again. */
  private fatal = false;
  /** A trade or quote arrived on the current connection. */
  private flowing = false;
  private subscribed = false;
  /** The code of the last error of the current connection (406 sets the next delay's floor). */
  private lastErrorCode: number | undefined;
  private lastTs = 0;
  private connectTimer: Subscription | undefined;
  private pingTimer: Subscription | undefined;
  private pongTimer: Subscription | undefined;
  private attemptTimer: Subscription | undefined;

  private readonly queue: LiveTickQueue;
  private readonly malformed: MalformedFrames;

  private connections = 0;
  private lastDelayMs: number | undefined;

  constructor(private readonly options: AlpacaFeedOptions) {
    this.instruments = options.instruments;
    this.symbols = options.instruments.map((instrument) => instrument.symbol);
    options.instruments.forEach((instrument, i) => this.index.set(instrument.symbol, i));
    const n = options.instruments.length;
    this.bids = new Float64Array(n);
    this.asks = new Float64Array(n);
    this.firstPrices = new Float64Array(n);
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.backoff = options.backoff ?? new ReconnectBackoff();
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
    this.pingIntervalMs = options.pingIntervalMs ?? 10_000;
    this.pongTimeoutMs = options.pongTimeoutMs ?? 10_000;
    this.queue = new LiveTickQueue({
      index: this.index,
      capacity: options.bufferCapacity ?? 10_000,
      scheduler: this.scheduler,
      emit: (tick) => this.subject.next(tick),
      // The session's reference: the first trade of the run, since the stream gives no previous close.
      numbered: (tick, i) => {
        if (tick.seq === 1) tick.prevClose = this.firstPrices[i];
      },
      log: options.log,
    });
    this.malformed = new MalformedFrames(this.scheduler, 'message from Alpaca', options.log);
    this.ticks$ = this.subject.asObservable();
    this.state$ = this.stateSubject.asObservable();
    this.epoch = `alpaca-${this.scheduler.now().toString(36)}-${(++runCounter).toString(36)}`;
  }

  get state(): FeedState {
    return this.stateSubject.value;
  }

  /** Counters for tests and logs; `lastDelayMs` is the delay before the latest scheduled reconnect. */
  get stats(): {
    connections: number;
    emitted: number;
    malformed: number;
    dropped: number;
    buffered: number;
    lastDelayMs: number | undefined;
  } {
    return {
      connections: this.connections,
      emitted: this.queue.emitted,
      malformed: this.malformed.count,
      dropped: this.queue.dropped,
      buffered: this.queue.size,
      lastDelayMs: this.lastDelayMs,
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
    if (this.stopped || this.fatal) return;
    if (this.connections > 0) this.setState('reconnecting');
    this.connections++;
    this.flowing = false;
    this.subscribed = false;
    this.lastErrorCode = undefined;
    const socket = new WebSocket(this.options.url, {
      handshakeTimeout: this.handshakeTimeoutMs,
      perMessageDeflate: false,
    });
    this.socket = socket;
    this.attemptTimer = this.schedule(this.handshakeTimeoutMs, () => {
      if (this.socket !== socket || this.subscribed) return;
      this.options.log?.warn(
        `no subscription reply from ${this.options.url} within ${this.handshakeTimeoutMs} ms: reconnecting`,
      );
      socket.terminate();
    });
    socket.on('open', () => {
      if (this.socket !== socket) return;
      this.armPing(socket);
    });
    socket.on('pong', () => {
      if (this.socket !== socket) return;
      this.pongTimer?.unsubscribe();
      this.pongTimer = undefined;
    });
    socket.on('message', (data, isBinary) => {
      if (this.socket !== socket) return;
      try {
        this.onFrame(socket, isBinary ? undefined : rawText(data));
      } catch (err) {
        this.options.log?.error(
          `AlpacaFeed message handler failed: ${err instanceof Error ? err.stack : String(err)}`,
        );
      }
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
    const lastErrorCode = this.lastErrorCode;
    this.dropSocket();
    if (this.stopped || this.fatal) return;
    const delay = reconnectDelay(this.backoff.next(), lastErrorCode);
    this.lastDelayMs = delay;
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
    this.pingTimer?.unsubscribe();
    this.pingTimer = undefined;
    this.pongTimer?.unsubscribe();
    this.pongTimer = undefined;
    this.attemptTimer?.unsubscribe();
    this.attemptTimer = undefined;
    if (socket) {
      socket.removeAllListeners();
      // A late 'error' (the connection reset while closing) must not be an unhandled one.
      socket.on('error', () => undefined);
      socket.terminate();
    }
  }

  /**
   * Pings every `pingIntervalMs`; the first ping left unanswered for
   * `pongTimeoutMs` ends the connection as stale (a later ping does not
   * move that deadline).
   */
  private armPing(socket: WebSocket): void {
    this.pingTimer = this.schedule(this.pingIntervalMs, () => {
      if (this.socket !== socket) return;
      socket.ping();
      this.pongTimer ??= this.schedule(this.pongTimeoutMs, () => {
        if (this.socket !== socket) return;
        this.options.log?.warn(
          `no pong from ${this.options.url} within ${this.pongTimeoutMs} ms of a ping: stale, reconnecting`,
        );
        this.setState('stale');
        this.lostConnection(4000, 'no pong');
      });
      this.armPing(socket);
    });
  }

  private onFrame(socket: WebSocket, text: string | undefined): void {
    if (text === undefined) {
      this.onMalformed('a binary frame');
      return;
    }
    const frame = parseAlpacaFrame(text);
    if (frame.kind === 'malformed') {
      this.onMalformed(frame.problem);
      return;
    }
    for (const message of frame.messages) {
      // A message may have ended the connection (402, 406): the rest of the frame is moot.
      if (this.socket !== socket) return;
      switch (message.kind) {
        case 'trade':
          this.dataFlows();
          this.onTrade(message.trade);
          break;
        case 'quote':
          this.dataFlows();
          this.onQuote(message.quote);
          break;
        case 'success':
          if (message.success.msg === 'connected') {
            socket.send(JSON.stringify(authMessage(this.options.keyId, this.options.secretKey)));
          } else if (message.success.msg === 'authenticated') {
            socket.send(JSON.stringify(subscribeMessage(this.symbols)));
          }
          break;
        case 'subscription':
          this.onSubscription(message.subscription);
          break;
        case 'error':
          this.onUpstreamError(message.error);
          break;
        case 'other':
          break;
        case 'malformed':
          this.onMalformed(message.problem);
          break;
      }
    }
  }

  private dataFlows(): void {
    if (this.flowing) return;
    this.flowing = true;
    // The connection holds: the next loss starts again from the first delay.
    this.backoff.reset();
    this.setState('live');
  }

  private onSubscription(subscription: AlpacaSubscription): void {
    const first = !this.subscribed;
    this.subscribed = true;
    this.attemptTimer?.unsubscribe();
    this.attemptTimer = undefined;
    if (!first) return;
    const trades = new Set(subscription.trades);
    const missing = this.symbols.filter((symbol) => !trades.has(symbol) && !trades.has('*'));
    if (missing.length > 0) {
      this.options.log?.error(
        `Alpaca did not subscribe the trades of ${missing.join(', ')}; the other symbols stream on`,
      );
    }
  }

  private onTrade(trade: AlpacaTrade): void {
    const i = this.index.get(trade.S);
    if (i === undefined) return;
    if (this.firstPrices[i] === 0) {
      this.firstPrices[i] = trade.p;
      this.instruments[i].refPrice = trade.p;
    }
    // ts never goes back, even if the system clock does (MarketFeed contract).
    const ts = Math.max(this.lastTs, this.scheduler.now());
    this.lastTs = ts;
    this.queue.push({
      symbol: trade.S,
      seq: 0,
      ts,
      price: trade.p,
      bid: this.bids[i] > 0 ? this.bids[i] : trade.p,
      ask: this.asks[i] > 0 ? this.asks[i] : trade.p,
      size: trade.s,
    });
  }

  /** A quote only updates the book that the next trades carry: a tick is a trade (MarketFeed contract). */
  private onQuote(quote: AlpacaQuote): void {
    const i = this.index.get(quote.S);
    if (i === undefined) return;
    this.bids[i] = quote.bp;
    this.asks[i] = quote.ap;
  }

  private onUpstreamError(error: AlpacaError): void {
    this.lastErrorCode = error.code;
    const known: string | undefined = (ALPACA_ERROR_CODES as Record<number, string>)[error.code];
    const text = `${error.code} ${error.msg || known || 'error'}`;
    switch (error.code) {
      case 402:
        this.options.log?.error(
          `Alpaca refused the key (${text}): check ALPACA_KEY_ID / ALPACA_SECRET_KEY. Not retrying: the feed is down until the server restarts with a valid key`,
        );
        this.fatal = true;
        this.dropSocket();
        this.setState('down');
        return;
      case 406:
        this.options.log?.error(
          `Alpaca refused the connection (${text}): another connection of this key to ${this.options.url} is open (most plans allow one); retrying in ${CONNECTION_LIMIT_DELAY_MS / 1000} s at the earliest`,
        );
        this.lostConnection(4406, 'connection limit exceeded');
        return;
      case 405:
        this.options.log?.error(
          `Alpaca refused part of the subscription (${text}): ${this.symbols.length} symbols asked (${this.symbols.join(', ')}) is more than the plan allows; reduce FEED_SYMBOLS. The symbols Alpaca accepted stream on`,
        );
        return;
      case 409:
        this.options.log?.error(
          `Alpaca refused the subscription (${text}): the plan of this key does not include ${this.options.url} (sip needs a paid plan; try ALPACA_FEED=iex). The symbols Alpaca accepted stream on`,
        );
        return;
      default:
        this.options.log?.error(`Alpaca error: ${text}`);
    }
  }

  private onMalformed(problem: string): void {
    this.malformed.note(problem);
  }

  private schedule(delayMs: number, work: () => void): Subscription {
    return guardedSchedule(this.scheduler, 'AlpacaFeed', this.options.log, delayMs, work);
  }

  private setState(state: FeedState): void {
    if (this.stateSubject.value !== state) this.stateSubject.next(state);
  }
}
