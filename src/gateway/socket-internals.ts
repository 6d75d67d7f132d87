import type { Socket } from 'socket.io';

/**
 * The few Engine.IO / Socket.IO internals the fan-out relies on, in one place.
 * They are not in the public typings; socket.io's own in-memory adapter uses
 * `writeToEngine` the same way for broadcasts.
 */

/** Engine.IO connection fields we read to measure a client's backlog. */
interface EngineConn {
  writeBuffer: unknown[];
}

/** Socket.IO's per-connection writer (internal; the stock adapter uses it the same way). */
export interface ClientInternals {
  writeToEngine(encodedPackets: unknown[], opts: { preEncoded: boolean }): void;
}

/**
 * Writes an already-encoded Socket.IO packet string to one client, bypassing
 * the encoder: used to send one frame that batches several updates, built by
 * concatenating quote JSON that was serialised once per update.
 */
export function writePreEncoded(socket: Socket, packet: string): void {
  (socket.client as unknown as ClientInternals).writeToEngine([packet], { preEncoded: true });
}

/** Packets queued in Engine.IO for this client, waiting for its transport. */
export function outboundQueue(socket: Socket): number {
  return (socket.conn as unknown as EngineConn).writeBuffer.length;
}

/** Below this many queued packets a client is healthy: no need to count bytes. */
const BYTES_CHECK_FROM = 8;

/**
 * Whether a client's Engine.IO backlog is over either cap. Packets are counted
 * always (an array length); bytes only when a few packets are already waiting,
 * which a client that keeps up never has, so the common case stays O(1).
 */
export function isOverBacklog(socket: Socket, maxPackets: number, maxBytes: number): boolean {
  const queue = (socket.conn as unknown as EngineConn).writeBuffer as { data?: unknown }[];
  if (queue.length < BYTES_CHECK_FROM) return false;
  if (queue.length >= maxPackets) return true;
  let bytes = 0;
  for (const packet of queue) {
    const data = packet.data;
    if (typeof data === 'string') bytes += data.length;
    else if (data instanceof Uint8Array) bytes += data.byteLength;
    if (bytes >= maxBytes) return true;
  }
  return false;
}
