import { io, type Socket } from 'socket.io-client';
import type { AccessToken } from './access-token.js';
import {
  MARKET_NAMESPACE,
  type ClientToServerEvents,
  type IntervalTierMs,
  type MarketStatus,
  type Quote,
  type RejectedSymbol,
  type ServerToClientEvents,
  type SubscribeAck,
  type UnsubscribeAck,
} from '../stores/market-types.js';
import { afterSyncFailure, RequestRefusedError } from './sync-failure.js';

/** What the status bar shows. `offline` = the browser itself reports no network. */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'offline';

export interface MarketSocketHandlers {
  quotes(batch: Quote[]): void;
  /** Subscribe snapshot; `fresh` when the feed epoch changed (first connect or a server restart). */
  snapshot(quotes: Quote[], fresh: boolean): void;
  rejected(rejected: RejectedSymbol[]): void;
  state(state: ConnectionState): void;
  /** The market's state (feed, source, session, halts): on connect and on each change. */
  market(status: MarketStatus): void;
  /** Something the user should read (failed subscribe, server exception). */
  problem(message: string): void;
  /** The server holds the full desired subscription again after a connect or a resume. */
  resynced(): void;
  /** The server wants an access token (AUTH_TOKENS) and ours is missing or wrong. */
  unauthorized(): void;
}

/** An ack slower than this means the request is lost; the sync retries. */
const ACK_TIMEOUT_MS = 5000;
const RETRY_MS = 2000;

/**
 * The market socket: keeps the server's subscription equal to the desired one
 * (symbols, interval, paused) across changes, reconnects and server restarts.
 *
 * The server forgets a client on disconnect, so every `connect` starts from an
 * empty subscription and subscribes everything again. Changes are applied by a
 * single loop at a time: a change made while a request is in flight is picked
 * up when it returns, so requests never race each other.
 */
export class MarketSocket {
  private readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  private desiredSymbols = new Set<string>();
  private desiredInterval: IntervalTierMs;
  private paused = false;
  /** What the server holds for this connection. */
  private activeSymbols = new Set<string>();
  private activeInterval: number | undefined;
  private syncing = false;
  private syncAgain = false;
  /** Set on connect and on resume: the next completed sync reports `resynced`. */
  private needsResync = false;
  private connectedOnce = false;
  private stateNow: ConnectionState = 'connecting';
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  /**
   * The desired state ({@link desiredKey}) whose request the server refused as
   * malformed: not sent again until the desired state changes or a new
   * connection starts (a restarted server may run newer rules).
   */
  private refused: string | undefined;
  /** Rejecters of requests awaiting an ack, failed together on disconnect. */
  private readonly pending = new Set<(reason: string) => void>();
  /**
   * An `exception` that came while a request was in flight. The server sends
   * one for every refused request before its ack, and the ack reports the
   * refusal itself: the held message is shown only if the ack does not.
   */
  private heldException: string | undefined;
  /** Feed run of the last ack: a different one means sequences started again. */
  private epoch: string | undefined;

  constructor(
    origin: string,
    private readonly on: MarketSocketHandlers,
    intervalMs: IntervalTierMs,
    token?: AccessToken,
  ) {
    this.desiredInterval = intervalMs;
    this.socket = io(origin + MARKET_NAMESPACE, {
      path: '/socket.io',
      transports: ['websocket'],
      autoConnect: false,
      // Recover within ~1–2 s of a server restart instead of the default backoff up to 5 s.
      reconnectionDelay: 500,
      reconnectionDelayMax: 2000,
      // Read on every (re)connection, so a token entered later is used.
      auth: (cb) => {
        const value = token?.get();
        cb(value ? { token: value } : {});
      },
    });
    this.socket.on('connect', () => {
      this.connectedOnce = true;
      this.activeSymbols = new Set();
      this.activeInterval = undefined;
      this.needsResync = true;
      this.refused = undefined;
      this.setState('connected');
      this.sync();
    });
    this.socket.on('disconnect', (reason) => {
      for (const fail of [...this.pending]) fail('disconnected');
      this.activeSymbols = new Set();
      this.activeInterval = undefined;
      this.setState(this.lostState());
      // After a server-side kick socket.io does not retry by itself.
      if (reason === 'io server disconnect') setTimeout(() => this.socket.connect(), RETRY_MS);
    });
    this.socket.on('connect_error', (err) => {
      this.setState(this.lostState());
      // A refusal by the server's middleware is final for socket.io: it does not retry.
      if (err.message === 'UNAUTHORIZED') this.on.unauthorized();
    });
    this.socket.on('quotes', (batch) => {
      if (this.stateNow !== 'connected') this.setState('connected');
      this.on.quotes(batch);
    });
    this.socket.on('status', (status) => {
      // The feed restarted under a server that stayed up (a cluster's gateway): sequences
      // start again, so subscribe again for fresh snapshots and repaint.
      if (this.epoch !== undefined && status.epoch !== this.epoch && this.socket.connected) {
        this.activeSymbols = new Set();
        this.activeInterval = undefined;
        this.needsResync = true;
        this.sync();
      }
      this.on.market(status);
    });
    this.socket.on('exception', (error) => {
      if (this.pending.size > 0) this.heldException = error.message;
      else this.on.problem(error.message);
    });
    // The server announces a restart before closing: show it at once rather than on the close.
    this.socket.on('shutdown', () =>
      this.setState(this.connectedOnce ? 'reconnecting' : 'connecting'),
    );
    window.addEventListener('online', () =>
      this.setState(this.socket.connected ? 'connected' : this.lostState()),
    );
    window.addEventListener('offline', () => this.setState(this.lostState()));
  }

  get state(): ConnectionState {
    return this.stateNow;
  }

  get interval(): IntervalTierMs {
    return this.desiredInterval;
  }

  start(): void {
    this.socket.connect();
  }

  stop(): void {
    this.socket.disconnect();
  }

  setSymbols(symbols: Iterable<string>): void {
    this.desiredSymbols = new Set(symbols);
    this.sync();
  }

  setInterval(intervalMs: IntervalTierMs): void {
    this.desiredInterval = intervalMs;
    this.sync();
  }

  /** Pausing unsubscribes everything (no traffic at all); resuming subscribes again from snapshots. */
  setPaused(paused: boolean): void {
    if (paused === this.paused) return;
    this.paused = paused;
    if (!paused) this.needsResync = true;
    this.sync();
  }

  /**
   * Sends a request and waits for its ack, failing after ACK_TIMEOUT_MS or at
   * once when the connection drops (an ack can no longer arrive then, and the
   * reconnect must not wait for the timeout before subscribing again).
   */
  private request<T extends SubscribeAck | UnsubscribeAck>(
    send: (done: (res: T) => void) => void,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      /** Ends the wait; returns the exception that came meanwhile, if any. */
      const settle = (): string | undefined => {
        clearTimeout(timer);
        this.pending.delete(fail);
        const held = this.heldException;
        this.heldException = undefined;
        return held;
      };
      const fail = (reason: string) => {
        const held = settle();
        if (held !== undefined) this.on.problem(held);
        reject(new Error(reason));
      };
      const timer = setTimeout(() => fail('no answer from the server'), ACK_TIMEOUT_MS);
      this.pending.add(fail);
      send((res) => {
        const held = settle();
        // A refusal is reported with its context by the sync; anything else came on its own.
        if (held !== undefined && res.ok) this.on.problem(held);
        resolve(res);
      });
    });
  }

  private lostState(): ConnectionState {
    if (!navigator.onLine) return 'offline';
    return this.connectedOnce ? 'reconnecting' : 'connecting';
  }

  private setState(state: ConnectionState): void {
    if (state === this.stateNow) return;
    this.stateNow = state;
    this.on.state(state);
  }

  private sync(): void {
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    this.syncing = true;
    void this.syncLoop().finally(() => {
      this.syncing = false;
    });
  }

  /** Everything a sync tries to make true, as one comparable string. */
  private desiredKey(): string {
    const symbols = this.paused ? [] : [...this.desiredSymbols].sort();
    return `${this.desiredInterval} ${symbols.join(',')}`;
  }

  private async syncLoop(): Promise<void> {
    do {
      this.syncAgain = false;
      if (!this.socket.connected) return;
      const desired = this.desiredKey();
      if (desired === this.refused) return;
      this.refused = undefined;
      try {
        await this.syncOnce();
      } catch (error) {
        this.on.problem(
          `Subscription failed: ${error instanceof Error ? error.message : String(error)}`,
        );
        clearTimeout(this.retryTimer);
        if (afterSyncFailure(error) === 'retry') {
          this.retryTimer = setTimeout(() => this.sync(), RETRY_MS);
          return;
        }
        // Reported once and not sent again as it is; a change made meanwhile still goes out.
        this.refused = desired;
      }
    } while (this.syncAgain);
  }

  private async syncOnce(): Promise<void> {
    const want = this.paused ? new Set<string>() : this.desiredSymbols;
    const fresh = this.needsResync;
    // A new rate applies to every symbol: drop them all and subscribe again at the new tier.
    const intervalChanged =
      this.activeInterval !== undefined && this.activeInterval !== this.desiredInterval;
    const drop = [...this.activeSymbols].filter((s) => intervalChanged || !want.has(s));
    if (drop.length > 0) {
      const ack = await this.request<UnsubscribeAck>((done) =>
        this.socket.emit('unsubscribe', { symbols: drop }, done),
      );
      if (!ack.ok) throw new RequestRefusedError(ack.error.code, ack.error.message);
      for (const s of drop) this.activeSymbols.delete(s);
    }
    if (this.activeSymbols.size === 0) this.activeInterval = undefined;
    const add = [...want].filter((s) => !this.activeSymbols.has(s));
    if (add.length > 0) {
      const intervalMs = this.desiredInterval;
      const ack = await this.request<SubscribeAck>((done) =>
        this.socket.emit('subscribe', { symbols: add, intervalMs }, done),
      );
      if (!ack.ok) throw new RequestRefusedError(ack.error.code, ack.error.message);
      const rejected = new Set(ack.rejected.map((r) => r.symbol));
      for (const s of add) if (!rejected.has(s)) this.activeSymbols.add(s);
      // What was asked, not ack.intervalMs: a server rounding differently must not cause a resubscribe loop.
      this.activeInterval = intervalMs;
      const newEpoch = ack.epoch !== this.epoch;
      this.epoch = ack.epoch;
      this.on.snapshot(ack.snapshot, newEpoch);
      if (ack.rejected.length > 0) this.on.rejected(ack.rejected);
    }
    if (fresh && !this.paused) {
      this.needsResync = false;
      this.on.resynced();
    }
  }

  /** Connects again now, e.g. after the access token changed. */
  reconnect(): void {
    if (!this.socket.connected) this.socket.connect();
  }
}
