import { Inject, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import {
  Ack,
  ConnectedSocket,
  MessageBody,
  type OnGatewayConnection,
  type OnGatewayDisconnect,
  type OnGatewayInit,
  SubscribeMessage,
  WebSocketGateway,
  WebSocketServer,
} from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { MarketStateService } from '../market/market-state.service.js';
import { MetricsService } from '../metrics/metrics.service.js';
import {
  type ClientToServerEvents,
  type IntervalTierMs,
  MARKET_NAMESPACE,
  type Quote,
  type RejectedSymbol,
  type ServerToClientEvents,
  type SubscribeAck,
  type UnsubscribeAck,
  type WireError,
  toIntervalTier,
} from '../shared/protocol.js';
import {
  type QuoteSink,
  StreamRegistry,
  type TierUpdate,
} from '../streaming/stream-registry.service.js';
import { ClientPolicyService } from './client-policy.service.js';
import { writeEngineMessage } from './socket-internals.js';
import { parseSubscribeRequest, parseUnsubscribeRequest } from './market-requests.js';
import { TokenBucket } from './token-bucket.js';
import { BadRequestException, toWireError, WireException } from './wire-errors.js';

type MarketNamespace = Namespace<ClientToServerEvents, ServerToClientEvents>;
type MarketSocket = Socket<ClientToServerEvents, ServerToClientEvents>;
type AckFn<T> = ((res: T) => void) | undefined;

/** Events a client may send; anything else is answered with BAD_REQUEST. */
const CLIENT_EVENTS: ReadonlySet<string> = new Set(['subscribe', 'unsubscribe']);
/** Window in which consecutive rate-limited messages count as sustained abuse. */
const ABUSE_WINDOW_MS = 10_000;

/** Per-connection state, kept in `socket.data` (bounded: a few numbers). */
interface ClientState {
  bucket: TokenBucket;
  limitedInARow: number;
  firstLimitedAt: number;
  disconnectReason?: string;
  congested?: boolean;
}

/** An Engine.IO message (`4`) carrying a Socket.IO event (`2`) `quotes` in our namespace, up to its array. */
const QUOTES_MESSAGE_PREFIX = `42${MARKET_NAMESPACE},["quotes",[`;

/**
 * Clients served per event-loop turn by one fan-out (~25 µs each): a large
 * fan-out yields to I/O and timers every ~50 ms instead of blocking for all of it.
 */
const FAN_OUT_SLICE = 2000;

/** One batch being fanned out: its tier, symbol → JSON, and the clients still to serve. */
interface FanOutJob {
  readonly tier: IntervalTierMs;
  readonly json: ReadonlyMap<string, string>;
  readonly recipients: Iterator<string>;
  /** `performance.now()` when the batch was published. */
  readonly publishedAt: number;
}

/** Room that receives one (symbol, tier) pipeline's updates. */
export function quoteRoom(symbol: string, tier: IntervalTierMs): string {
  return `q:${tier}:${symbol}`;
}

class RateLimitedException extends WireException {
  constructor(message: string) {
    super('RATE_LIMITED', message);
  }
}

/**
 * The `/market` Socket.IO namespace: control messages go through Nest's
 * handlers; quotes bypass Nest entirely: rooms per (symbol, tier) say who holds
 * what, each update is serialised once, and each client gets one frame per batch.
 */
@WebSocketGateway({ namespace: MARKET_NAMESPACE })
export class MarketGateway
  implements
    OnGatewayInit,
    OnGatewayConnection,
    OnGatewayDisconnect,
    QuoteSink,
    BeforeApplicationShutdown
{
  private readonly logger = new Logger(MarketGateway.name);

  @WebSocketServer()
  private readonly server: MarketNamespace;
  /** Leading-edge updates of the current event-loop turn, per tier (see publish). */
  private readonly leading = new Map<IntervalTierMs, TierUpdate[]>();
  private leadingFlush: NodeJS.Immediate | undefined;
  /** Clients served per event-loop turn by a fan-out (public for tests; see FAN_OUT_SLICE). */
  fanOutSlice = FAN_OUT_SLICE;
  /** Batches whose frames are being sent, oldest first (at most two: see publishBatch). */
  private readonly fanOut: FanOutJob[] = [];
  private fanOutResume: NodeJS.Immediate | undefined;
  /** Scratch array for one frame's pieces, reused (frames are built one at a time). */
  private readonly batchParts: string[] = [];

  constructor(
    private readonly registry: StreamRegistry,
    private readonly state: MarketStateService,
    private readonly policy: ClientPolicyService,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  afterInit(server: MarketNamespace): void {
    this.registry.setSink(this);
    // Runs on every namespace connection, reconnections included: nothing skips auth.
    server.use((socket, next) => {
      const auth = socket.handshake.auth as { token?: unknown } | undefined;
      if (this.policy.isTokenValid(auth?.token)) return next();
      this.metrics.refusedConnections.inc({ reason: 'unauthorized' });
      const err = new Error('UNAUTHORIZED') as Error & { data?: WireError };
      err.data = { code: 'UNAUTHORIZED', message: 'a valid auth.token is required' };
      next(err);
    });
  }

  /**
   * Leading-edge updates (first tick after a quiet window) arrive one by one as
   * the feed delivers a burst of ticks; they are gathered until the end of the
   * current event-loop turn (sub-millisecond) and sent like a window's batch, so
   * a client gets one frame per burst instead of one per symbol.
   */
  publish(symbol: string, tier: IntervalTierMs, quote: Quote): void {
    let pending = this.leading.get(tier);
    if (pending === undefined) this.leading.set(tier, (pending = []));
    pending.push({ symbol, quote });
    this.leadingFlush ??= setImmediate(() => this.flushLeading());
  }

  private flushLeading(): void {
    this.leadingFlush = undefined;
    for (const [tier, updates] of this.leading) {
      if (updates.length > 0) this.publishBatch(tier, updates);
    }
    this.leading.clear();
  }

  /**
   * A tier window's trailing updates: each is serialised once, then every
   * client gets ONE frame holding all of its symbols that changed (the JSON
   * pieces joined, not re-serialised). Frames per second therefore grow with
   * clients × windows, not clients × symbols.
   *
   * The rooms of the updated symbols name the clients to serve; each client's
   * frame is then built and written at once, so the only garbage is one
   * string per client that dies before the next client's (building every
   * frame first kept them all alive across young-generation collections,
   * which promoted them: ~12 MB/s of old-space growth in S1).
   */
  publishBatch(tier: IntervalTierMs, updates: readonly TierUpdate[]): void {
    const rooms = this.server.adapter.rooms;
    const now = Date.now();
    const json = new Map<string, string>();
    const targets = new Set<string>();
    for (const { symbol, quote } of updates) {
      this.metrics.staleness.observe(Math.max(0, now - quote.ts) / 1000);
      const members = rooms.get(quoteRoom(symbol, tier));
      if (members === undefined) continue;
      json.set(symbol, JSON.stringify(quote));
      for (const sid of members) targets.add(sid);
    }
    this.metrics.encodedUpdates += json.size;
    if (targets.size === 0) return;
    // Bounded: a batch still being sent when the next one comes is finished first,
    // at once (older frames before newer ones, per client); so at most one job
    // waits between slices, and an overloaded server simply stops yielding.
    this.runFanOut(Number.POSITIVE_INFINITY);
    this.fanOut.push({ tier, json, recipients: targets.values(), publishedAt: performance.now() });
    this.runFanOut(this.fanOutSlice);
  }

  /**
   * Sends frames for queued batches, oldest first, to at most `budget`
   * clients; what is left continues on the next event-loop turn, after I/O:
   * heartbeats, requests and the feed's timers are not held up for the whole
   * of a large fan-out (20,000 clients take ~0.5 s of CPU).
   */
  private runFanOut(budget: number): void {
    if (this.fanOutResume) {
      clearImmediate(this.fanOutResume);
      this.fanOutResume = undefined;
    }
    let left = budget;
    while (this.fanOut.length > 0) {
      left = this.sendFrames(this.fanOut[0], left);
      if (left <= 0) break;
      const done = this.fanOut.shift();
      if (done) this.metrics.fanOutDuration.observe((performance.now() - done.publishedAt) / 1000);
    }
    if (this.fanOut.length > 0) {
      this.fanOutResume = setImmediate(() => this.runFanOut(this.fanOutSlice));
    }
  }

  /**
   * Writes one batch's frames to up to `budget` of its remaining recipients.
   * Returns the budget left: 0 or less when the batch may have recipients left.
   * A client's subscriptions are read when its frame is built, so one that
   * unsubscribed or left meanwhile gets nothing it no longer holds.
   */
  private sendFrames(job: FanOutJob, budget: number): number {
    const { tier, json } = job;
    const sockets = this.server.sockets;
    const parts = this.batchParts;
    let left = budget;
    let sent = 0;
    let quotes = 0;
    let skipped = 0;
    while (left > 0) {
      const next = job.recipients.next();
      if (next.done === true) break;
      left--;
      const sid = next.value;
      const socket = sockets.get(sid);
      const held = this.registry.heldBy(sid);
      if (socket === undefined || held === undefined) continue;
      parts.length = 0;
      // Whichever is smaller: the window's updates or the symbols the client holds.
      if (json.size <= held.size) {
        for (const [symbol, piece] of json) if (held.get(symbol) === tier) parts.push(piece);
      } else {
        for (const [symbol, heldTier] of held) {
          if (heldTier !== tier) continue;
          const piece = json.get(symbol);
          if (piece !== undefined) parts.push(piece);
        }
      }
      if (parts.length === 0) continue;
      if (!this.policy.admit(socket)) {
        skipped++;
        continue;
      }
      writeEngineMessage(socket, `${QUOTES_MESSAGE_PREFIX}${parts.join(',')}]]`);
      sent++;
      quotes += parts.length;
    }
    parts.length = 0;
    this.metrics.framesSent += sent;
    this.metrics.quotesSent += quotes;
    this.metrics.slowClientSkips += skipped;
    return left > 0 ? left : 0;
  }

  handleConnection(client: MarketSocket): void {
    this.metrics.connectedClients++;
    const state: ClientState = {
      bucket: new TokenBucket(this.config.rateLimitPerSec, this.config.rateLimitBurst, Date.now()),
      limitedInARow: 0,
      firstLimitedAt: 0,
    };
    Object.assign(client.data as object, state);
    client.use((packet, next) => this.screen(client, packet, next));
    // The handshake (headers, auth, address) is already copied into client.handshake;
    // Engine.IO would otherwise keep the whole first HTTP request alive per connection.
    (client.conn as unknown as { request: unknown }).request = null;
  }

  handleDisconnect(client: MarketSocket, reason?: string): void {
    this.metrics.connectedClients--;
    const data = client.data as Partial<ClientState>;
    this.metrics.disconnects.inc({
      reason: (data.disconnectReason ?? reason ?? 'unknown').replace(/\s+/g, '_'),
    });
    this.registry.releaseClient(client.id);
  }

  /**
   * Tells every client why it is about to be disconnected, closes them, and
   * waits (bounded) until their queues have drained, so the notice and the
   * disconnect packet reach them before the server itself closes.
   */
  async beforeApplicationShutdown(signal?: string): Promise<void> {
    if (this.leadingFlush) clearImmediate(this.leadingFlush);
    this.leadingFlush = undefined;
    this.leading.clear();
    if (this.fanOutResume) clearImmediate(this.fanOutResume);
    this.fanOutResume = undefined;
    this.fanOut.length = 0;
    if (!this.server) return;
    const reason = signal ? `server shutting down (${signal})` : 'server shutting down';
    this.server.emit('shutdown', { reason });
    const closed: Promise<void>[] = [];
    for (const socket of this.server.sockets.values()) {
      (socket.data as Partial<ClientState>).disconnectReason = 'server_shutdown';
      closed.push(new Promise((resolve) => socket.conn.once('close', () => resolve())));
      this.disconnect(socket);
    }
    const budget = Math.min(2000, this.config.shutdownTimeoutMs / 2);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(closed),
      new Promise((resolve) => (timer = setTimeout(resolve, budget))),
    ]);
    clearTimeout(timer);
  }

  @SubscribeMessage('subscribe')
  handleSubscribe(
    @ConnectedSocket() client: MarketSocket,
    @MessageBody() body: unknown,
    @Ack() ack: AckFn<SubscribeAck>,
  ): void {
    let response: SubscribeAck;
    try {
      response = this.subscribe(client, body);
    } catch (err) {
      response = { ok: false, error: this.reject(client, err) };
    }
    this.reply(ack, response);
  }

  @SubscribeMessage('unsubscribe')
  handleUnsubscribe(
    @ConnectedSocket() client: MarketSocket,
    @MessageBody() body: unknown,
    @Ack() ack: AckFn<UnsubscribeAck>,
  ): void {
    let response: UnsubscribeAck;
    try {
      response = this.unsubscribe(client, body);
    } catch (err) {
      response = { ok: false, error: this.reject(client, err) };
    }
    this.reply(ack, response);
  }

  /**
   * Per-packet gate in front of every handler: the rate limit (token bucket,
   * no timers) and unknown events. A rejected packet gets its ack (if any) and
   * an `exception`; sustained abuse closes the connection.
   */
  private screen(client: MarketSocket, packet: unknown[], next: (err?: Error) => void): void {
    const data = client.data as ClientState;
    const now = Date.now();
    const last = packet[packet.length - 1];
    const ack = typeof last === 'function' ? (last as (res: unknown) => void) : undefined;

    if (!data.bucket.take(now)) {
      if (data.limitedInARow === 0 || now - data.firstLimitedAt > ABUSE_WINDOW_MS) {
        data.limitedInARow = 0;
        data.firstLimitedAt = now;
      }
      data.limitedInARow++;
      if (data.limitedInARow > this.config.rateLimitDisconnectAfter) {
        const error: WireError = {
          code: 'RATE_LIMITED',
          message: 'too many messages for too long: disconnecting',
        };
        this.metrics.rejectedRequests.inc({ code: error.code });
        client.emit('exception', error);
        data.disconnectReason = 'rate_limit';
        this.disconnect(client);
        return;
      }
      const error = this.reject(
        client,
        new RateLimitedException(
          `at most ${this.config.rateLimitPerSec} messages per second (burst ${this.config.rateLimitBurst})`,
        ),
      );
      ack?.({ ok: false, error });
      return;
    }
    data.limitedInARow = 0;

    const event = packet[0];
    if (typeof event !== 'string' || !CLIENT_EVENTS.has(event)) {
      const error = this.reject(
        client,
        new BadRequestException('unknown event (expected "subscribe" or "unsubscribe")'),
      );
      ack?.({ ok: false, error });
      return;
    }
    next();
  }

  private subscribe(client: MarketSocket, body: unknown): SubscribeAck {
    const request = parseSubscribeRequest(body);
    const tier = toIntervalTier(request.intervalMs ?? this.config.defaultIntervalMs);
    const held = this.registry.clientSymbols(client.id);
    let count = held.size;
    const rejected: RejectedSymbol[] = [];
    const snapshot: Quote[] = [];

    for (const symbol of request.symbols) {
      if (!this.state.has(symbol)) {
        rejected.push({ symbol, code: 'UNKNOWN_SYMBOL', message: 'unknown symbol' });
        continue;
      }
      if (!held.has(symbol)) {
        if (count >= this.config.maxSymbolsPerClient) {
          rejected.push({
            symbol,
            code: 'LIMIT_EXCEEDED',
            message: `at most ${this.config.maxSymbolsPerClient} symbols per connection`,
          });
          continue;
        }
        count++;
      }
      const { previousTier } = this.registry.subscribe(client.id, symbol, tier);
      if (previousTier !== tier) {
        if (previousTier !== undefined) void client.leave(quoteRoom(symbol, previousTier));
        void client.join(quoteRoom(symbol, tier));
      }
      const quote = this.state.snapshot(symbol);
      if (quote) snapshot.push(quote);
    }
    return { ok: true, intervalMs: tier, snapshot, rejected, epoch: this.state.epoch };
  }

  private unsubscribe(client: MarketSocket, body: unknown): UnsubscribeAck {
    const request = parseUnsubscribeRequest(body);
    const unsubscribed: string[] = [];
    for (const symbol of request.symbols) {
      const tier = this.registry.unsubscribe(client.id, symbol);
      if (tier !== undefined) {
        void client.leave(quoteRoom(symbol, tier));
        unsubscribed.push(symbol);
      }
    }
    return { ok: true, unsubscribed };
  }

  /** Every rejected request also gets an `exception` event, ack or not. */
  private reject(client: MarketSocket, err: unknown): WireError {
    if (!(err instanceof WireException)) {
      this.logger.error(
        `handler failed for client ${client.id}`,
        err instanceof Error ? err.stack : String(err),
      );
    }
    const error = toWireError(err);
    this.metrics.rejectedRequests.inc({ code: error.code });
    client.emit('exception', error);
    return error;
  }

  /**
   * Server-side disconnect the client can tell apart from a network drop
   * (`io server disconnect`): the disconnect packet goes out first, then the
   * connection closes once its queue has drained. (`disconnect(true)` would
   * close without telling the client.)
   */
  private disconnect(socket: MarketSocket): void {
    socket.disconnect();
    socket.conn.close();
  }

  private reply<T>(ack: AckFn<T>, response: T): void {
    if (typeof ack === 'function') ack(response);
  }
}
