/**
 * The TCP reset both transports use to drop a WebSocket at once: `/ws`
 * (WsSubscriber) and Socket.IO's websocket transport (socket-internals.ts),
 * whose socket is a `ws` WebSocket too. No imports: a leaf both can depend on
 * without the `/ws` transport reaching into src/gateway/.
 */

/** What a reset needs of a `ws` WebSocket. */
export interface ResettableWebSocket {
  /** ws's TCP socket (a private field, stable across ws 8.x; see library-internals.canary.spec.ts). */
  readonly _socket?: { resetAndDestroy?: () => unknown } | null;
  terminate(): void;
}

/**
 * Resets (RST) the TCP connection under `ws`: the kernel discards whatever it
 * still queues for the peer, which a close handshake or a FIN would wait
 * behind for as long as a stalled peer keeps its window shut. Without the
 * private `_socket` (another ws major), or where Node refuses a reset (a
 * handle other than TCP: TLS, a pipe), `terminate()`, ws's public destroy.
 */
export function resetWebSocket(ws: ResettableWebSocket): void {
  const tcp = ws._socket;
  if (typeof tcp?.resetAndDestroy === 'function') {
    try {
      tcp.resetAndDestroy();
      return;
    } catch {
      // ERR_INVALID_HANDLE_TYPE: fall through to a plain destroy.
    }
  }
  ws.terminate();
}
