import { Inject, Injectable } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { ClientAddressResolver, ConnectionCounter, isOriginAllowed } from './connection-policy.js';

/**
 * Admission policy of every transport (Socket.IO and `/ws`): origin, token,
 * client address and the per-IP connection cap. (Back-pressure is the
 * subscription hub's.)
 */
@Injectable()
export class ClientPolicyService {
  private readonly perIp: ConnectionCounter;
  private readonly addresses: ClientAddressResolver;
  /** The address each admitted handshake's slot was taken for, until its connection opens. */
  private readonly reserved = new WeakMap<IncomingMessage, string>();
  private readonly tokens: Buffer[];

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {
    this.perIp = new ConnectionCounter(config.maxConnectionsPerIp);
    this.addresses = new ClientAddressResolver(config.trustProxy);
    this.tokens = config.authTokens.map((t) => Buffer.from(t));
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

  /**
   * The client's address, for per-IP limits and logs on every transport: the TCP
   * peer, or behind a TRUST_PROXY proxy the address it forwarded. Never a metric
   * label (one series per client address would be unbounded).
   */
  clientAddress(req: IncomingMessage): string {
    return this.addresses.resolve(req);
  }

  /**
   * Takes a MAX_CONNECTIONS_PER_IP slot for the request's client: its address,
   * to hand to {@link releaseSlot} when the connection ends, or undefined
   * (counted) when that address already holds the maximum.
   */
  acquireSlot(req: IncomingMessage): string | undefined {
    const ip = this.clientAddress(req);
    if (!this.perIp.tryAcquire(ip)) {
      this.metrics.refusedConnections.inc({ reason: 'per_ip_limit' });
      return undefined;
    }
    this.metrics.transportConnections++;
    return ip;
  }

  releaseSlot(ip: string): void {
    this.perIp.release(ip);
    this.metrics.transportConnections--;
  }

  /** Engine.IO `allowRequest`: new handshakes only (origin is checked by a middleware). */
  allowHandshake(req: IncomingMessage): string | undefined {
    const ip = this.acquireSlot(req);
    if (ip === undefined) return 'too many connections from this address';
    // The slot is held until the Engine.IO connection closes (see trackConnection).
    this.reserved.set(req, ip);
    return undefined;
  }

  /**
   * Releases the slot of an admitted handshake that Engine.IO then failed
   * (`connection_error` after allowRequest, e.g. an unsupported EIO=3 or a
   * broken upgrade): no connection opens, so no `close` would ever free it.
   */
  releaseUnopened(req: IncomingMessage): void {
    const ip = this.reserved.get(req);
    if (ip === undefined) return;
    this.reserved.delete(req);
    this.releaseSlot(ip);
  }

  /** Releases the per-IP slot taken in {@link allowHandshake} when the connection ends. */
  trackConnection(conn: { request: IncomingMessage; on(ev: 'close', fn: () => void): void }): void {
    // Engine.IO opens the connection with the request allowHandshake admitted: releasing the
    // address recorded there frees exactly the slot taken, without resolving the request again.
    const ip = this.reserved.get(conn.request) ?? this.clientAddress(conn.request);
    this.reserved.delete(conn.request);
    // `on`, not `once`: Engine.IO emits `close` once, and `once` costs a wrapper per connection.
    conn.on('close', () => this.releaseSlot(ip));
  }
}
