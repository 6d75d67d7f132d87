import type { Socket } from 'socket.io';
import type { Backlog, CloseReason, Subscriber } from '../fanout/subscriber.js';
import { encodeSocketIoQuotesFrame } from '../shared/quote-frames.js';
import {
  cutOffConnection,
  isOverBacklog,
  outboundBacklog,
  writeEngineMessage,
} from './socket-internals.js';

/**
 * A Socket.IO connection as the hub sees it: quote frames are written
 * straight to Engine.IO (see writeEngineMessage), the backlog is Engine.IO's
 * queue plus the WebSocket's send buffer.
 */
export class SocketIoSubscriber implements Subscriber {
  constructor(
    private readonly socket: Socket,
    /** Tells the gateway why the connection ends, for the disconnect metric. */
    private readonly onClose: (reason: CloseReason) => void,
  ) {}

  get id(): string {
    return this.socket.id;
  }

  backlog(): Backlog {
    return outboundBacklog(this.socket);
  }

  isOverBacklog(maxPackets: number, maxBytes: number): boolean {
    return isOverBacklog(this.socket, maxPackets, maxBytes);
  }

  sendQuotes(pieces: readonly string[]): void {
    writeEngineMessage(this.socket, encodeSocketIoQuotesFrame(pieces));
  }

  /**
   * A slow consumer is cut at once, its TCP connection reset so the kernel
   * drops the queued bytes (a stalled reader would otherwise pin its send
   * queue in FIN-WAIT-1 for minutes). Other reasons disconnect gracefully:
   * the disconnect packet goes out first (`io server disconnect` on the
   * client), then the connection closes once its queue has drained.
   */
  close(reason: CloseReason): void {
    this.onClose(reason);
    if (reason === 'slow_client') {
      cutOffConnection(this.socket);
      return;
    }
    this.socket.disconnect();
    this.socket.conn.close();
  }
}
