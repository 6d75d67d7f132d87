import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { skip, type Subscription } from 'rxjs';
import WebSocket, { WebSocketServer } from 'ws';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { ControlSessionService, type SessionState } from '../fanout/control-session.service.js';
import type { CloseReason } from '../fanout/subscriber.js';
import { settleWithin } from '../fanout/settle-within.js';
import { SubscriptionHub } from '../fanout/subscription-hub.js';
import { ClientPolicyService } from '../gateway/client-policy.service.js';
import { refuseUpgrade } from '../http/engine-io-hardening.js';
import { MarketStateService } from '../market/market-state.service.js';
import { MarketStatusService } from '../market/market-status.service.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { INTERVAL_TIERS_MS, type MarketStatus } from '../shared/protocol.js';
import { WS_CLOSE, type WsStatusMessage } from '../shared/ws-protocol.js';
import { type WsInbound, parseWsMessage } from './ws-messages.js';
import { isWsEndpointUrl } from './ws-path.js';
import { WsSubscriber } from './ws.subscriber.js';

/** One open `/ws` connection. */
interface WsConnection {
  readonly ws: WebSocket;
  readonly subscriber: WsSubscriber;
  readonly session: SessionState;
  /** Answered the last ping (any pong) or sent something since it. */
  alive: boolean;
  /** Why the server ended it, for the disconnect metric. */
  reason?: CloseReason | 'ping_timeout' | 'binary_frame' | 'message_too_big' | 'protocol_error';
  /** Seen still closing by a heartbeat round: terminated at the next one. */
  closingSeen?: boolean;
}

/**
 * The plain RFC 6455 JSON endpoint at `/ws`, on the HTTP server's port: the
 * same admission policy (origin, token, per-IP slots), the same control
 * session rules and the same hub as Socket.IO; only the framing differs.
 */
@Injectable()
export class WsEndpoint
  implements OnApplicationBootstrap, OnModuleDestroy, BeforeApplicationShutdown
{
  private readonly logger = new Logger(WsEndpoint.name);
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<WsConnection>();
  private heartbeat: NodeJS.Timeout | undefined;
  private nextId = 0;
  private closing = false;
  private statusChanges: Subscription | undefined;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly hub: SubscriptionHub,
    private readonly sessions: ControlSessionService,
    private readonly policy: ClientPolicyService,
    private readonly state: MarketStateService,
    private readonly status: MarketStatusService,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      // ws closes with 1009 past this, without buffering the rest.
      maxPayload: config.maxPayloadBytes,
      // Compression would cost a deflate per client per frame instead of one encode per update.
      perMessageDeflate: false,
      clientTracking: false,
    });
  }

  /** Open `/ws` connections. */
  get size(): number {
    return this.connections.size;
  }

  onApplicationBootstrap(): void {
    this.statusChanges = this.status.status$
      .pipe(skip(1))
      .subscribe((status) => this.broadcastStatus(status));
    const server = this.adapterHost.httpAdapter.getHttpServer() as Server;
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.onUpgrade(req, socket, head),
    );
  }

  /**
   * Shutdown begins: Nest destroys this module before the hub and registry it
   * depends on, and runs `beforeApplicationShutdown` only after them, so
   * requests stop being acted on here (see onMessage).
   */
  onModuleDestroy(): void {
    this.closing = true;
    this.statusChanges?.unsubscribe();
  }

  /** Tells every client, closes with 1001, and waits (bounded) for the closes. */
  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.closing = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    const reason = signal ? `server shutting down (${signal})` : 'server shutting down';
    const closed = [...this.connections].map(
      (c) =>
        new Promise<void>((resolve) => {
          c.ws.once('close', () => resolve());
          c.subscriber.close('server_shutdown', reason);
        }),
    );
    await settleWithin(closed, Math.min(2000, this.config.shutdownTimeoutMs / 2));
    for (const c of this.connections) c.ws.terminate();
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Engine.IO's, or nobody's (Engine.IO ends those). Engine.IO never sees this path's:
    // MarketIoAdapter keeps them from its upgrade listener, with the same predicate.
    if (!isWsEndpointUrl(req.url)) return;
    if (this.closing) return refuse(socket, 503, 'Service Unavailable');
    if (!this.policy.checkOrigin(req)) return refuse(socket, 403, 'Forbidden');
    if (!this.policy.isTokenValid(tokenOf(req))) {
      this.metrics.refusedConnections.inc({ reason: 'unauthorized' });
      return refuse(socket, 401, 'Unauthorized');
    }
    const ip = this.policy.acquireSlot(req);
    if (ip === undefined) return refuse(socket, 429, 'Too Many Requests');
    // ws can still abort the handshake (a bad key or version): then no connection
    // opens, and the slot must be freed when the socket goes.
    const abandoned = () => this.policy.releaseSlot(ip);
    socket.once('close', abandoned);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      socket.removeListener('close', abandoned);
      this.onConnection(ws, ip);
    });
  }

  private onConnection(ws: WebSocket, ip: string): void {
    const id = `ws:${(++this.nextId).toString(36)}`;
    const connection: WsConnection = {
      ws,
      session: this.sessions.open(id),
      subscriber: new WsSubscriber(id, ws, (reason) => (connection.reason = reason)),
      alive: true,
    };
    this.connections.add(connection);
    this.metrics.wsConnectedClients++;
    this.hub.attach(connection.subscriber);
    // One timer for every connection (PING_INTERVAL_MS): a dead or stalled peer goes
    // within two rounds.
    this.heartbeat ??= setInterval(() => this.ping(), this.config.pingIntervalMs).unref();

    ws.on('message', (data, isBinary) => this.onMessage(connection, data, isBinary));
    ws.on('pong', () => (connection.alive = true));
    // ws reports protocol errors (bad frames, oversize) here, then closes itself with
    // 1002/1007/1009: only the reason is ours to record (the peer may send no close back).
    ws.on('error', (err: Error & { code?: string }) => {
      connection.reason ??=
        err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'message_too_big' : 'protocol_error';
    });
    ws.on('close', (code) => {
      this.connections.delete(connection);
      this.metrics.wsConnectedClients--;
      this.hub.detach(id);
      this.policy.releaseSlot(ip);
      const reason =
        connection.reason ?? (code === WS_CLOSE.MESSAGE_TOO_BIG ? 'message_too_big' : 'ws_close');
      this.metrics.disconnects.inc({ reason });
      if (this.connections.size === 0 && this.heartbeat) {
        clearInterval(this.heartbeat);
        this.heartbeat = undefined;
      }
    });

    connection.subscriber.send({
      type: 'welcome',
      epoch: this.state.epoch,
      tiers: INTERVAL_TIERS_MS,
      maxSymbols: this.config.maxSymbolsPerClient,
      serverTime: Date.now(),
    });
    connection.subscriber.send({ type: 'status', ...this.status.current });
  }

  /** A change of the market's status, encoded once for every connection. */
  private broadcastStatus(status: MarketStatus): void {
    const text = JSON.stringify({ type: 'status', ...status } satisfies WsStatusMessage);
    for (const c of this.connections) {
      try {
        c.subscriber.sendText(text);
      } catch (err) {
        this.logger.error(`status broadcast to ${c.subscriber.id} failed: ${String(err)}`);
      }
    }
  }

  private onMessage(c: WsConnection, data: WebSocket.RawData, isBinary: boolean): void {
    // ws still delivers frames while a close is under way (ours after a binary frame or
    // a flood, or the shutdown's): once we are closing it, nothing more is acted on.
    if (this.closing || c.ws.readyState !== WebSocket.OPEN) return;
    if (isBinary) {
      c.reason = 'binary_frame';
      c.ws.close(WS_CLOSE.UNSUPPORTED_DATA, 'text frames only');
      return;
    }
    const admission = this.sessions.admit(c.session);
    if (!admission.ok) {
      c.subscriber.send({ type: 'exception', error: admission.error });
      if (admission.disconnect) c.subscriber.close('rate_limit', admission.error.message);
      return;
    }
    const message = parseWsMessage(textOf(data));
    if (!message.ok) {
      const error = this.sessions.reject(c.session, message.error);
      c.subscriber.send({ type: 'exception', ...idField(message.id), error });
      return;
    }
    this.dispatch(c, message.value);
  }

  private dispatch(c: WsConnection, message: WsInbound): void {
    const { id } = message;
    if (message.type === 'ping') {
      c.subscriber.send({ type: 'pong', ...idField(id) });
      return;
    }
    const ack =
      message.type === 'subscribe'
        ? this.sessions.subscribe(c.session, message.body)
        : this.sessions.unsubscribe(c.session, message.body);
    if (!ack.ok) c.subscriber.send({ type: 'exception', ...idField(id), error: ack.error });
    if (id !== undefined) c.subscriber.send({ type: 'ack', id, ...ack });
  }

  /**
   * One pass over every connection: terminate the silent, ping the rest, and
   * drop those whose close we began a round ago but the peer never answered
   * (ws itself would wait 30 s, holding the connection and its per-IP slot).
   */
  private ping(): void {
    for (const c of this.connections) {
      if (c.ws.readyState === WebSocket.CLOSING) {
        if (c.closingSeen) c.ws.terminate();
        c.closingSeen = true;
        continue;
      }
      if (!c.alive) {
        c.reason = 'ping_timeout';
        c.subscriber.reset();
        continue;
      }
      c.alive = false;
      try {
        c.ws.ping();
      } catch (err) {
        this.logger.warn(`ping failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}

/** The text of a frame as ws delivers it (one Buffer, fragments, or an ArrayBuffer). */
function textOf(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function idField(id: number | string | undefined): { id?: number | string } {
  return id === undefined ? {} : { id };
}

/** `?token=` or `Authorization: Bearer …` of an upgrade request. */
function tokenOf(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim();
  const url = req.url ?? '';
  const q = url.indexOf('?');
  if (q === -1) return undefined;
  return new URLSearchParams(url.slice(q + 1)).get('token') ?? undefined;
}

/** Answers an upgrade with a plain HTTP error and closes the socket. */
function refuse(socket: Duplex, status: number, text: string): void {
  refuseUpgrade(socket, text, status, text);
}
