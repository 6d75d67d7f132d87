import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'socket.io';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { ConnectionCounter, isOriginAllowed, remoteAddress } from './connection-policy.js';
import { isOverBacklog, outboundBacklog } from './socket-internals.js';

/** How often congested clients are re-checked: one timer for the whole server. */
const SWEEP_INTERVAL_MS = 250;

/**
 * Admission and back-pressure policy shared by the Socket.IO server options
 * (origin, per-IP cap) and the gateway (auth, slow clients).
 */
@Injectable()
export class ClientPolicyService implements OnModuleDestroy {
  private readonly logger = new Logger(ClientPolicyService.name);
  private readonly perIp: ConnectionCounter;
  private readonly tokens: Buffer[];
  /** Clients over the outbound cap, with the time they went over it. */
  private readonly congested = new Map<Socket, number>();
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {
    this.perIp = new ConnectionCounter(config.maxConnectionsPerIp);
    this.tokens = config.authTokens.map((t) => Buffer.from(t));
  }

  /**
   * Whether an update may be queued for this client: false while its outbound
   * backlog (Engine.IO's queue plus the WebSocket's send buffer) holds
   * `SLOW_CLIENT_MAX_QUEUE` packets or `SLOW_CLIENT_MAX_BYTES` or more. O(1) per
   * recipient that keeps up; crossing the cap either way is recorded for the sweep.
   */
  admit(socket: Socket): boolean {
    const congested = this.overBacklog(socket);
    const data = socket.data as { congested?: boolean };
    if (congested !== (data.congested ?? false)) {
      data.congested = congested;
      this.onCongestion(socket, congested);
    }
    return !congested;
  }

  get authRequired(): boolean {
    return this.tokens.length > 0;
  }

  /** Constant-time check of a presented token against every configured one. */
  isTokenValid(token: unknown): boolean {
    if (!this.authRequired) return true;
    if (typeof token !== 'string' || token.length === 0 || token.length > 1024) return false;
    const presented = Buffer.from(token);
    let ok = false;
    for (const expected of this.tokens) {
      if (expected.length === presented.length && timingSafeEqual(expected, presented)) ok = true;
    }
    return ok;
  }

  /** Origin check for every Engine.IO request, handshake and upgrade alike. */
  checkOrigin(req: IncomingMessage): boolean {
    const ok = isOriginAllowed(req.headers.origin, req.headers.host, this.config.allowedOrigins);
    if (!ok) this.metrics.refusedConnections.inc({ reason: 'origin' });
    return ok;
  }

  /** Engine.IO `allowRequest`: new handshakes only (origin is checked by a middleware). */
  allowHandshake(req: IncomingMessage): string | undefined {
    const ip = remoteAddress(req);
    if (!this.perIp.tryAcquire(ip)) {
      this.metrics.refusedConnections.inc({ reason: 'per_ip_limit' });
      return 'too many connections from this address';
    }
    // The slot is held until the Engine.IO connection closes (see trackConnection).
    this.metrics.transportConnections++;
    return undefined;
  }

  /** Releases the per-IP slot taken in {@link allowHandshake} when the connection ends. */
  trackConnection(conn: { request: IncomingMessage; on(ev: 'close', fn: () => void): void }): void {
    const ip = remoteAddress(conn.request);
    // `on`, not `once`: Engine.IO emits `close` once, and `once` costs a wrapper per connection.
    conn.on('close', () => {
      this.perIp.release(ip);
      this.metrics.transportConnections--;
    });
  }

  private overBacklog(socket: Socket): boolean {
    return isOverBacklog(socket, this.config.slowClientMaxQueue, this.config.slowClientMaxBytes);
  }

  private onCongestion(socket: Socket, congested: boolean): void {
    if (congested) {
      this.congested.set(socket, Date.now());
      this.sweepTimer ??= setInterval(() => this.sweep(), SWEEP_INTERVAL_MS).unref();
    } else {
      this.congested.delete(socket);
    }
  }

  /** Cuts off clients that stayed over the cap for longer than the grace period. */
  sweep(now = Date.now()): void {
    for (const [socket, since] of this.congested) {
      if (socket.disconnected) {
        this.congested.delete(socket);
      } else if (!this.overBacklog(socket)) {
        this.congested.delete(socket);
        (socket.data as { congested?: boolean }).congested = false;
      } else if (now - since > this.config.slowClientGraceMs) {
        this.congested.delete(socket);
        this.disconnectSlow(socket);
      }
    }
    if (this.congested.size === 0 && this.sweepTimer) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = undefined;
    }
  }

  private disconnectSlow(socket: Socket): void {
    const backlog = outboundBacklog(socket);
    this.logger.warn(
      `disconnecting slow client ${socket.id}: ${backlog.packets} packets / ${backlog.bytes} bytes queued for over ${this.config.slowClientGraceMs} ms`,
    );
    (socket.data as { disconnectReason?: string }).disconnectReason = 'slow_client';
    const conn = socket.conn as unknown as {
      close(discard: boolean): void;
      transport?: { socket?: { terminate?: () => void } };
    };
    // A graceful close would wait for the backlog to drain, which a stalled client never does.
    const ws = conn.transport?.socket;
    conn.close(true);
    ws?.terminate?.();
  }

  onModuleDestroy(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    this.congested.clear();
  }
}
