import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { Server, ServerOptions } from 'socket.io';
import type { AppConfig } from '../config/app-config.js';

/**
 * Socket.IO server options that come from configuration rather than the
 * gateway decorator (which is static).
 */
export class MarketIoAdapter extends IoAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly config: AppConfig,
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    return super.createIOServer(port, {
      ...options,
      // The largest control message we accept; a bigger one closes that connection only.
      maxHttpBufferSize: this.config.maxPayloadBytes,
      // Compression would stop Socket.IO from pre-encoding one frame per broadcast.
      perMessageDeflate: false,
      serveClient: false,
    } as ServerOptions) as Server;
  }
}
