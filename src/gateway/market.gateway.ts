import {
  Inject,
  Logger,
  type BeforeApplicationShutdown,
  type OnModuleDestroy,
} from '@nestjs/common';
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
import { skip, type Subscription } from 'rxjs';
import type { Namespace, Socket } from 'socket.io';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { ControlSessionService, type SessionState } from '../fanout/control-session.service.js';
import type { CloseReason } from '../fanout/subscriber.js';
import { settleWithin } from '../fanout/settle-within.js';
import { SubscriptionHub } from '../fanout/subscription-hub.js';
import { MarketStatusService } from '../market/market-status.service.js';
import { MetricsService } from '../metrics/metrics.service.js';
import {
  type ClientToServerEvents,
  MARKET_NAMESPACE,
  type ServerToClientEvents,
  type SubscribeAck,
  type UnsubscribeAck,
  type WireError,
} from '../shared/protocol.js';
import { ClientPolicyService } from './client-policy.service.js';
import { resetTcp, socketsInNamespaceOnConnection, trimHandshake } from './socket-internals.js';
import { SocketIoSubscriber } from './socket-io.subscriber.js';
import { BadRequestException } from '../fanout/wire-errors.js';

/** What a `/market` connection keeps in `socket.data` (bounded: a few fields). */
export interface MarketSocketData {
  session: SessionState;
  /** Why the server ended the connection, for the disconnect metric. */
  disconnectReason?: CloseReason;
}

type MarketNamespace = Namespace<
  ClientToServerEvents,
  ServerToClientEvents,
  Record<string, never>,
  MarketSocketData
>;
type MarketSocket = Socket<
  ClientToServerEvents,
  ServerToClientEvents,
  Record<string, never>,
  MarketSocketData
>;
type AckFn<T> = ((res: T) => void) | undefined;

/** Events a client may send; anything else is answered with BAD_REQUEST. */
const CLIENT_EVENTS: ReadonlySet<string> = new Set(['subscribe', 'unsubscribe']);

/**
 * The `/market` Socket.IO namespace: Socket.IO specifics only. Auth runs as a
 * namespace middleware, every packet passes the shared control session's rate
 * limit, and the handlers hand payloads to the control session; each
 * connection is a {@link SocketIoSubscriber} of the hub, which writes quote
 * frames straight to Engine.IO.
 */
@WebSocketGateway({ namespace: MARKET_NAMESPACE })
export class MarketGateway
  implements
    OnGatewayInit,
    OnGatewayConnection,
    OnGatewayDisconnect,
    OnModuleDestroy,
    BeforeApplicationShutdown
{
  private readonly logger = new Logger(MarketGateway.name);
  /**
   * Set when shutdown begins. Nest destroys this module before the hub and
   * registry it depends on, and only then runs `beforeApplicationShutdown`
   * (the notice and the disconnects): requests in between are ignored, not
   * failed as INTERNAL against a closed registry.
   */
  private closing = false;

  @WebSocketServer()
  private readonly server: MarketNamespace;
  private statusChanges: Subscription | undefined;

  constructor(
    private readonly hub: SubscriptionHub,
    private readonly sessions: ControlSessionService,
    private readonly policy: ClientPolicyService,
    private readonly metrics: MetricsService,
    private readonly status: MarketStatusService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  afterInit(server: MarketNamespace): void {
    // Each change of the market's status goes to every client in one broadcast
    // (encoded once); a new client gets the current one in handleConnection.
    this.statusChanges = this.status.status$.pipe(skip(1)).subscribe((status) => {
      try {
        server.emit('status', status);
      } catch (err) {
        this.logger.error(`status broadcast failed: ${String(err)}`);
      }
    });
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

  handleConnection(client: MarketSocket): void {
    this.metrics.connectedClients++;
    if (socketsInNamespaceOnConnection(client) > 1) {
      // A second CONNECT to /market on one connection (only a hand-made client
      // sends one): a protocol violation, answered by closing the connection,
      // whatever the timing of the reads that carried the CONNECTs.
      client.conn.close();
    }
    if (this.closing) {
      // Shutdown has begun (see `closing`): told at once, like the clients already here.
      client.data.disconnectReason = 'server_shutdown';
      client.emit('shutdown', { reason: 'server shutting down' });
      client.disconnect(true);
      return;
    }
    client.data.session = this.sessions.open(client.id);
    this.hub.attach(
      new SocketIoSubscriber(client, (reason) => (client.data.disconnectReason = reason)),
    );
    client.use((packet, next) => this.screen(client, packet, next));
    client.emit('status', this.status.current);
    // The handshake (headers, auth, address) is already copied into client.handshake;
    // Engine.IO would otherwise keep the whole first HTTP request alive per connection.
    (client.conn as unknown as { request: unknown }).request = null;
    // ... and the socket's handshake keeps that request's headers: auth has been checked.
    trimHandshake(client);
  }

  handleDisconnect(client: MarketSocket, reason?: string): void {
    this.metrics.connectedClients--;
    // A peer that stopped answering pings has most likely stopped reading: reset.
    if (reason === 'ping timeout') resetTcp(client);
    this.metrics.disconnects.inc({
      reason: (client.data.disconnectReason ?? reason ?? 'unknown').replace(/\s+/g, '_'),
    });
    this.hub.detach(client.id);
  }

  onModuleDestroy(): void {
    this.closing = true;
    this.statusChanges?.unsubscribe();
  }

  /**
   * Tells every client why it is about to be disconnected, closes them, and
   * waits (bounded) until their queues have drained, so the notice and the
   * disconnect packet reach them before the server itself closes.
   */
  async beforeApplicationShutdown(signal?: string): Promise<void> {
    if (!this.server) return;
    const reason = signal ? `server shutting down (${signal})` : 'server shutting down';
    this.server.emit('shutdown', { reason });
    const closed: Promise<void>[] = [];
    for (const socket of this.server.sockets.values()) {
      closed.push(new Promise((resolve) => socket.conn.once('close', () => resolve())));
      socket.data.disconnectReason = 'server_shutdown';
      socket.disconnect();
      socket.conn.close();
    }
    await settleWithin(closed, Math.min(2000, this.config.shutdownTimeoutMs / 2));
  }

  @SubscribeMessage('subscribe')
  handleSubscribe(
    @ConnectedSocket() client: MarketSocket,
    @MessageBody() body: unknown,
    @Ack() ack: AckFn<SubscribeAck>,
  ): void {
    if (this.closing) return;
    const response = this.sessions.subscribe(client.data.session, body);
    if (!response.ok) client.emit('exception', response.error);
    if (typeof ack === 'function') ack(response);
  }

  @SubscribeMessage('unsubscribe')
  handleUnsubscribe(
    @ConnectedSocket() client: MarketSocket,
    @MessageBody() body: unknown,
    @Ack() ack: AckFn<UnsubscribeAck>,
  ): void {
    if (this.closing) return;
    const response = this.sessions.unsubscribe(client.data.session, body);
    if (!response.ok) client.emit('exception', response.error);
    if (typeof ack === 'function') ack(response);
  }

  /**
   * Per-packet gate in front of every handler: the shared rate limit and
   * unknown events. A rejected packet gets its ack (if any) and an
   * `exception`; sustained abuse closes the connection.
   */
  private screen(client: MarketSocket, packet: unknown[], next: (err?: Error) => void): void {
    const session = client.data.session;
    const last = packet[packet.length - 1];
    const ack = typeof last === 'function' ? (last as (res: unknown) => void) : undefined;

    const admission = this.sessions.admit(session);
    if (!admission.ok) {
      client.emit('exception', admission.error);
      if (admission.disconnect) {
        client.data.disconnectReason = 'rate_limit';
        client.disconnect();
        client.conn.close();
        return;
      }
      ack?.({ ok: false, error: admission.error });
      return;
    }

    const event = packet[0];
    if (typeof event !== 'string' || !CLIENT_EVENTS.has(event)) {
      const error = this.sessions.reject(
        session,
        new BadRequestException('unknown event (expected "subscribe" or "unsubscribe")'),
      );
      client.emit('exception', error);
      ack?.({ ok: false, error });
      return;
    }
    next();
  }
}
