import type WebSocket from 'ws';
import type { Backlog, CloseReason, Subscriber } from '../fanout/subscriber.js';
import { encodeWsQuotesFrame, WS_CLOSE, type WsServerMessage } from '../shared/ws-protocol.js';
import { resetWebSocket } from './tcp-reset.js';

/** `ws`'s WebSocket.OPEN. */
const OPEN = 1;

/**
 * A `/ws` connection as the hub sees it. The backlog is ws's send buffer
 * (`bufferedAmount`: bytes accepted by `send` and not yet handed to the
 * kernel); frames sent since it was last empty bound the frames in it.
 */
export class WsSubscriber implements Subscriber {
  private framesSinceEmpty = 0;

  constructor(
    readonly id: string,
    private readonly ws: WebSocket,
    /** Tells the endpoint why the server ends the connection, for the disconnect metric. */
    private readonly onClose: (reason: CloseReason) => void,
  ) {}

  backlog(): Backlog {
    const bytes = this.ws.bufferedAmount;
    return { packets: bytes > 0 ? this.framesSinceEmpty : 0, bytes };
  }

  isOverBacklog(maxPackets: number, maxBytes: number): boolean {
    const bytes = this.ws.bufferedAmount;
    if (bytes === 0) return false;
    return bytes >= maxBytes || this.framesSinceEmpty >= maxPackets;
  }

  sendQuotes(pieces: readonly string[]): void {
    this.sendText(encodeWsQuotesFrame(pieces));
  }

  /** Sends one protocol message (control traffic: welcome, acks, exceptions, pongs). */
  send(message: WsServerMessage): void {
    this.sendText(JSON.stringify(message));
  }

  /**
   * A slow consumer gets 4009 and its TCP connection reset at once, so the
   * kernel drops what it queued for a peer that stopped reading (a close
   * handshake would wait behind that queue for minutes). A rate-limit
   * offender gets 4008; a shutdown its notice and 1001, gracefully.
   */
  close(reason: CloseReason, message: string): void {
    this.onClose(reason);
    if (reason === 'slow_client') {
      this.ws.close(WS_CLOSE.SLOW_CONSUMER, 'slow consumer');
      this.reset();
      return;
    }
    if (reason === 'rate_limit') {
      this.ws.close(WS_CLOSE.RATE_LIMITED, message.slice(0, 120));
      return;
    }
    this.send({ type: 'shutdown', reason: message });
    this.ws.close(WS_CLOSE.GOING_AWAY, 'server shutting down');
  }

  /** Drops the connection with a TCP reset: the kernel discards what it queued for the peer. */
  reset(): void {
    resetWebSocket(this.ws);
  }

  /** Sends an already encoded message (one encoding for every connection). */
  sendText(text: string): void {
    if (this.ws.readyState !== OPEN) return;
    this.framesSinceEmpty = this.ws.bufferedAmount > 0 ? this.framesSinceEmpty + 1 : 1;
    this.ws.send(text);
  }
}
