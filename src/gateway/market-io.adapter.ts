import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { IncomingMessage } from 'node:http';
import type { Server, ServerOptions } from 'socket.io';
import type { AppConfig } from '../config/app-config.js';
import { ClientPolicyService } from './client-policy.service.js';

/**
 * Socket.IO server options that come from configuration and services rather
 * than the gateway decorator (which is static).
 */
export class MarketIoAdapter extends IoAdapter {
  constructor(
    private readonly app: INestApplicationContext,
    private readonly config: AppConfig,
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const policy = this.app.get(ClientPolicyService, { strict: false });
    const server = super.createIOServer(port, {
      ...options,
      // The largest message we accept; a bigger one closes that connection only.
      maxHttpBufferSize: this.config.maxPayloadBytes,
      // Compression would stop Socket.IO from pre-encoding one frame per broadcast.
      perMessageDeflate: false,
      httpCompression: false,
      serveClient: false,
      connectTimeout: this.config.handshakeTimeoutMs,
      // Origin and per-IP checks on every new handshake (polling or direct WebSocket).
      allowRequest: (
        req: IncomingMessage,
        fn: (err: string | null | undefined, ok: boolean) => void,
      ) => {
        const refusal = policy.allowHandshake(req);
        fn(refusal ?? null, refusal === undefined);
      },
    } as ServerOptions);

    // Engine.IO middlewares run for every request *including* WebSocket upgrades of an
    // existing polling session, which allowRequest does not see.
    server.engine.use((req: IncomingMessage, _res: unknown, next: (err?: Error) => void) => {
      next(policy.checkOrigin(req) ? undefined : new Error('origin not allowed'));
    });
    server.engine.on('connection', (conn: Parameters<ClientPolicyService['trackConnection']>[0]) =>
      policy.trackConnection(conn),
    );
    return server;
  }
}
