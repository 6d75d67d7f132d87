/**
 * What the subscription hub needs of one client connection, whatever carries
 * it (Socket.IO, plain WebSocket): the hub knows nothing of either. A
 * transport only frames bytes and reports its backlog.
 */

/** Outbound data accepted for a client and not yet handed to the kernel. */
export interface Backlog {
  /** Frames (or packets) waiting. */
  packets: number;
  /** Bytes waiting (exact where the transport can tell, else an upper bound). */
  bytes: number;
}

/** Why the server ends a connection; each transport maps it to its own close signal. */
export type CloseReason = 'slow_client' | 'rate_limit' | 'server_shutdown';

export interface Subscriber {
  /** Unique among the open connections of every transport. */
  readonly id: string;
  /** The whole backlog, for logs (may cost O(queued packets)). */
  backlog(): Backlog;
  /**
   * Whether the backlog holds `maxPackets` or `maxBytes` or more. Called for
   * every frame about to be written: O(1) for a client that keeps up.
   */
  isOverBacklog(maxPackets: number, maxBytes: number): boolean;
  /**
   * Writes ONE frame carrying these quotes, each already serialised to JSON
   * (shared by every client that gets the same update: never re-encoded).
   */
  sendQuotes(pieces: readonly string[]): void;
  /** Ends the connection; `message` is for the client where its transport can carry one. */
  close(reason: CloseReason, message: string): void;
}
