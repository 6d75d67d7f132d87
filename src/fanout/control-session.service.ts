import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { parseSubscribeRequest, parseUnsubscribeRequest } from './market-requests.js';
import { TokenBucket } from './token-bucket.js';
import { toWireError, WireException } from './wire-errors.js';
import { MarketStateService } from '../market/market-state.service.js';
import { MetricsService } from '../metrics/metrics.service.js';
import {
  type Quote,
  type RejectedSymbol,
  type SubscribeAck,
  type UnsubscribeAck,
  type WireError,
  toIntervalTier,
} from '../shared/protocol.js';
import { SubscriptionHub } from './subscription-hub.js';

/** Window in which consecutive rate-limited messages count as sustained abuse. */
const ABUSE_WINDOW_MS = 10_000;
/**
 * A pause this long between two refusals means the client backed off: the
 * count starts again. Messages the bucket lets through in the meantime (its
 * refill, one every 50 ms at the default 20/s) do not break the count, or a
 * flood at a few times the rate would never be cut off, only throttled.
 */
const BACK_OFF_MS = 500;

/** Per-connection control state (bounded: a few numbers), owned by the transport's connection. */
export interface SessionState {
  readonly id: string;
  readonly bucket: TokenBucket;
  limitedInARow: number;
  firstLimitedAt: number;
  lastLimitedAt: number;
}

/** What the rate limit says about one inbound message. */
export type Admission =
  | { readonly ok: true }
  /** Refused; `disconnect` when the client kept flooding for too long. */
  | { readonly ok: false; readonly error: WireError; readonly disconnect: boolean };

class RateLimitedException extends WireException {
  constructor(message: string) {
    super('RATE_LIMITED', message);
  }
}

/**
 * The protocol rules every transport shares (Socket.IO `/market`, plain
 * WebSocket `/ws`): the per-connection rate limit, payload validation,
 * subscribe/unsubscribe semantics, the per-client symbol limit, and the
 * mapping of failures to wire errors (counted in metrics, never echoing the
 * payload). A transport only decodes its frames, calls these, and encodes
 * the answers.
 */
@Injectable()
export class ControlSessionService {
  private readonly logger = new Logger(ControlSessionService.name);

  constructor(
    private readonly hub: SubscriptionHub,
    private readonly state: MarketStateService,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Control state for a new connection (attach its subscriber to the hub separately). */
  open(id: string, now = Date.now()): SessionState {
    return {
      id,
      bucket: new TokenBucket(this.config.rateLimitPerSec, this.config.rateLimitBurst, now),
      limitedInARow: 0,
      firstLimitedAt: 0,
      lastLimitedAt: 0,
    };
  }

  /**
   * The rate limit (token bucket, no timers) for one inbound message. A
   * refusal is counted; past RATE_LIMIT_DISCONNECT_AFTER refusals within 10 s,
   * none of them {@link BACK_OFF_MS} after the previous one, the transport
   * must close the connection.
   */
  admit(session: SessionState, now = Date.now()): Admission {
    if (session.bucket.take(now)) return { ok: true };
    if (
      session.limitedInARow === 0 ||
      now - session.lastLimitedAt >= BACK_OFF_MS ||
      now - session.firstLimitedAt > ABUSE_WINDOW_MS
    ) {
      session.limitedInARow = 0;
      session.firstLimitedAt = now;
    }
    session.lastLimitedAt = now;
    session.limitedInARow++;
    if (session.limitedInARow > this.config.rateLimitDisconnectAfter) {
      const error: WireError = {
        code: 'RATE_LIMITED',
        message: 'too many messages for too long: disconnecting',
      };
      this.metrics.rejectedRequests.inc({ code: error.code });
      return { ok: false, error, disconnect: true };
    }
    const error = this.reject(
      session,
      new RateLimitedException(
        `at most ${this.config.rateLimitPerSec} messages per second (burst ${this.config.rateLimitBurst})`,
      ),
    );
    return { ok: false, error, disconnect: false };
  }

  /** Handles an untrusted `subscribe` payload; never throws. */
  subscribe(session: SessionState, body: unknown): SubscribeAck {
    try {
      return this.doSubscribe(session.id, body);
    } catch (err) {
      return { ok: false, error: this.reject(session, err) };
    }
  }

  /** Handles an untrusted `unsubscribe` payload; never throws. */
  unsubscribe(session: SessionState, body: unknown): UnsubscribeAck {
    try {
      const request = parseUnsubscribeRequest(body);
      const unsubscribed: string[] = [];
      for (const symbol of request.symbols) {
        if (this.hub.unsubscribe(session.id, symbol) !== undefined) unsubscribed.push(symbol);
      }
      return { ok: true, unsubscribed };
    } catch (err) {
      return { ok: false, error: this.reject(session, err) };
    }
  }

  /**
   * Maps a failure to its wire error and counts it. Unknown failures become
   * INTERNAL plus a server log line. The transport sends the error (on the
   * ack and as an `exception`).
   */
  reject(session: SessionState, err: unknown): WireError {
    if (!(err instanceof WireException)) {
      this.logger.error(
        `request of client ${session.id} failed`,
        err instanceof Error ? err.stack : String(err),
      );
    }
    const error = toWireError(err);
    this.metrics.rejectedRequests.inc({ code: error.code });
    return error;
  }

  private doSubscribe(id: string, body: unknown): SubscribeAck {
    const request = parseSubscribeRequest(body);
    const tier = toIntervalTier(request.intervalMs ?? this.config.defaultIntervalMs);
    const held = this.hub.holdings(id);
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
      this.hub.subscribe(id, symbol, tier);
      const quote = this.state.snapshot(symbol);
      if (quote) snapshot.push(quote);
    }
    return { ok: true, intervalMs: tier, snapshot, rejected, epoch: this.state.epoch };
  }
}
