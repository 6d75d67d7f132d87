import { type INestApplicationContext, Logger } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { MessageMappingProperties } from '@nestjs/websockets';
import type { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Observable } from 'rxjs';
import type { Server, ServerOptions, Socket } from 'socket.io';
import type { AppConfig } from '../config/app-config.js';
import { hardenEngineIo } from '../http/engine-io-hardening.js';
import { isWsEndpointUrl } from '../ws/ws-path.js';
import { ClientPolicyService } from './client-policy.service.js';
import { UnopenedUpgrades } from './connection-policy.js';
import { withoutSelfRooms } from './socket-internals.js';

/**
 * Socket.IO server options that come from configuration and services rather
 * than the gateway decorator (which is static).
 */
export class MarketIoAdapter extends IoAdapter {
  private readonly handlerLogger = new Logger(MarketIoAdapter.name);

  constructor(
    private readonly app: INestApplicationContext,
    private readonly config: AppConfig,
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const policy = this.app.get(ClientPolicyService, { strict: false });
    // The TCP socket of each WebSocket upgrade Engine.IO is handling, until allowRequest sees it.
    const upgradeSockets = new WeakMap<IncomingMessage, Duplex>();
    const unopened = new UnopenedUpgrades<IncomingMessage>();
    // IoAdapter attaches to the application's HTTP server for port 0 (our gateway's).
    const http = port === 0 ? (this.httpServer as EventEmitter | undefined) : undefined;
    const upgradeListeners = new Set(http?.listeners('upgrade'));
    const server = super.createIOServer(port, {
      ...options,
      // The largest message we accept; a bigger one closes that connection only.
      maxHttpBufferSize: this.config.maxPayloadBytes,
      // Compression would stop Socket.IO from pre-encoding one frame per broadcast.
      perMessageDeflate: false,
      httpCompression: false,
      serveClient: false,
      connectTimeout: this.config.handshakeTimeoutMs,
      // Socket.IO's 25 s + 20 s let a peer that stopped reading hold its send queue for 45 s.
      pingInterval: this.config.pingIntervalMs,
      pingTimeout: this.config.pingTimeoutMs,
      // Origin and per-IP checks on every new handshake (polling or direct WebSocket).
      allowRequest: (
        req: IncomingMessage,
        fn: (err: string | null | undefined, ok: boolean) => void,
      ) => {
        const refusal = policy.allowHandshake(req);
        const socket = upgradeSockets.get(req);
        if (socket !== undefined) {
          upgradeSockets.delete(req);
          // ws may still abort this handshake without telling Engine.IO: see UnopenedUpgrades.
          if (refusal === undefined) unopened.watch(req, socket, () => policy.releaseUnopened(req));
        }
        fn(refusal ?? null, refusal === undefined);
      },
    } as ServerOptions);
    if (http) keepWsUpgradesFromEngine(http, upgradeListeners);
    // Namespaces created from here on (Nest's /market) keep no room per socket.
    type AdapterClass = NonNullable<ServerOptions['adapter']>;
    type RoomAdapterClass = Parameters<typeof withoutSelfRooms>[0];
    server.adapter(
      withoutSelfRooms(server.adapter() as unknown as RoomAdapterClass) as unknown as AdapterClass,
    );

    // Security headers on every response Engine.IO writes: first, so a refusal has them too.
    hardenEngineIo(server.engine);
    // Engine.IO middlewares run for every request *including* WebSocket upgrades of an
    // existing polling session, which allowRequest does not see.
    server.engine.use((req: IncomingMessage, _res: unknown, next: (err?: Error) => void) => {
      next(policy.checkOrigin(req) ? undefined : new Error('origin not allowed'));
    });
    dropUpgradeResponseListener(server);
    onEngineUpgrade(server, (req, socket) => upgradeSockets.set(req, socket));
    server.engine.on(
      'connection',
      (conn: Parameters<ClientPolicyService['trackConnection']>[0]) => {
        // False only if the upgrade's socket closed first: its slot is already free.
        if (unopened.handOver(conn.request)) policy.trackConnection(conn);
      },
    );
    // A handshake allowRequest admitted can still fail in Engine.IO: free its slot.
    server.engine.on('connection_error', (err: { req?: IncomingMessage }) => {
      if (!err.req) return;
      unopened.forget(err.req);
      policy.releaseUnopened(err.req);
    });
    return server;
  }

  /**
   * One plain listener per message handler per socket. Nest's IoAdapter builds
   * an RxJS chain per handler per socket (`fromEvent` → `mergeMap` → `takeUntil`
   * of a shared `disconnect$`), which a heap snapshot showed to be ~11 KB of the
   * ~25 KB of heap each connection holds; the handlers run once or twice per
   * connection, so only a message's own result is an Observable here.
   * Same behaviour: payload and ack are split the same way (`mapPayload`), a
   * non-nil result with `event` is emitted, any other is the ack's response
   * unless the handler acks itself (`@Ack()`), an error is logged, and nothing
   * is sent once the socket has disconnected (what `takeUntil(disconnect$)` did).
   */
  override bindMessageHandlers(
    socket: Socket,
    handlers: MessageMappingProperties[],
    transform: (data: unknown) => Observable<unknown>,
  ): void {
    for (const { message, callback, isAckHandledManually } of handlers) {
      socket.on(message as string, (...args: unknown[]) => {
        // What rxjs' fromEvent emitted: the sole argument, or all of them as an array.
        const { data, ack } = this.mapPayload(args.length > 1 ? args : args[0]) as {
          data?: unknown;
          ack?: unknown;
        };
        let result$: Observable<unknown>;
        try {
          result$ = transform(callback(data, ack));
        } catch (err) {
          this.handlerLogger.error(err);
          return;
        }
        result$.subscribe({
          next: (response) => {
            if (response === undefined || response === null || socket.disconnected) return;
            const { event, data: eventData } = response as { event?: string; data?: unknown };
            if (event) {
              socket.emit(event, eventData);
            } else if (!isAckHandledManually && typeof ack === 'function') {
              (ack as (res: unknown) => void)(response);
            }
          },
          error: (err: unknown) => this.handlerLogger.error(err),
        });
      });
    }
  }

  /** `disconnect` fires once per socket: a plain listener, without `once`'s wrapper. */
  override bindClientDisconnect(client: Socket, callback: (reason: string) => void): void {
    client.on('disconnect', (reason) => callback(reason));
  }
}

/**
 * Engine.IO's `handleUpgrade` wraps every WebSocket upgrade in a stand-in response
 * (`WebSocketResponse`, for middlewares) whose constructor adds
 * `socket.once('close', () => res.emit('close'))` to the TCP socket. That listener
 * lives as long as the connection and keeps the response *and* the whole upgrade
 * request (`res.req`: headers, raw headers, stream state) alive: ~1.5 KB of heap per
 * connection, which a heap snapshot showed to be held by nothing else. Our only
 * middleware never listens for the response's `close`, so the `once` listener(s)
 * that the synchronous part of `handleUpgrade` adds to the socket are removed right
 * after it returns. `on` listeners (ws's own, added if the upgrade completes
 * synchronously) are left alone.
 */
export function dropUpgradeResponseListener(server: Server): void {
  const engine = server.engine as unknown as {
    handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  };
  const handleUpgrade = engine.handleUpgrade.bind(engine);
  engine.handleUpgrade = (req, socket, head) => {
    const before = new Set(socket.rawListeners('close'));
    handleUpgrade(req, socket, head);
    for (const raw of socket.rawListeners('close') as ((...a: unknown[]) => void)[]) {
      const once = (raw as { listener?: (...a: unknown[]) => void }).listener;
      if (once && !before.has(raw)) socket.removeListener('close', once);
    }
  };
}

/** Calls `fn` with every WebSocket upgrade Engine.IO handles, before it does. */
function onEngineUpgrade(server: Server, fn: (req: IncomingMessage, socket: Duplex) => void): void {
  const engine = server.engine as unknown as {
    handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  };
  const handleUpgrade = engine.handleUpgrade.bind(engine);
  engine.handleUpgrade = (req, socket, head) => {
    fn(req, socket);
    handleUpgrade(req, socket, head);
  };
}

type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * Engine.IO's `attach` adds one `upgrade` listener to the HTTP server, which
 * handles its own path and, for any other, adds an `error` listener to the
 * socket (for the connection's whole life) and a `destroyUpgradeTimeout`
 * (1 s) timer that ends the socket if nothing was written by then. A `/ws`
 * upgrade, which WsEndpoint answers synchronously, paid both for nothing.
 * Each `upgrade` listener added since `before` was taken (Engine.IO's) is
 * replaced, in place at the end, by one that passes every upgrade on except
 * `/ws`'s: unknown paths are still Engine.IO's to end. Returns how many were
 * replaced.
 */
export function keepWsUpgradesFromEngine(http: EventEmitter, before: ReadonlySet<unknown>): number {
  let replaced = 0;
  for (const listener of http.listeners('upgrade') as UpgradeListener[]) {
    if (before.has(listener)) continue;
    http.removeListener('upgrade', listener);
    http.on(
      'upgrade',
      function (this: unknown, req: IncomingMessage, socket: Duplex, head: Buffer) {
        if (!isWsEndpointUrl(req.url)) listener.call(this, req, socket, head);
      },
    );
    replaced++;
  }
  return replaced;
}
