import type { Socket } from 'socket.io';
import { type ResettableWebSocket, resetWebSocket } from '../ws/tcp-reset.js';

/**
 * The few Engine.IO / Socket.IO / ws internals the fan-out relies on, in one
 * place. They are not in the public typings; socket.io's own in-memory adapter
 * uses `writeToEngine` the same way for broadcasts, and Engine.IO's WebSocket
 * transport writes to the same `ws` socket we write quote frames to.
 */

/** The `ws` WebSocket under an Engine.IO `websocket` transport (reset as `/ws`'s are). */
interface RawWebSocket extends ResettableWebSocket {
  readonly readyState: number;
  /** Bytes accepted by `send` and not yet handed to the kernel (O(1) getter). */
  readonly bufferedAmount: number;
  send(data: string): void;
}

/** Engine.IO connection fields we read to measure a client's backlog and to write. */
interface EngineConn {
  readyState: string;
  writeBuffer: { data?: unknown }[];
  transport: { name: string; socket?: RawWebSocket };
  close(discard: boolean): void;
}

/** Socket.IO's per-connection writer (internal; the stock adapter uses it the same way). */
export interface ClientInternals {
  writeToEngine(encodedPackets: unknown[], opts: { preEncoded: boolean }): void;
}

/** `ws`'s `WebSocket.OPEN`. */
const WS_OPEN = 1;

/**
 * Quote frames written straight to the WebSocket since its send buffer was last
 * empty, per client: an upper bound on the frames still in that buffer, so the
 * packet cap applies to them as it does to Engine.IO's queue. A plain number
 * in a WeakMap, updated only by {@link writeEngineMessage}.
 */
const directSinceEmpty = new WeakMap<object, number>();

/**
 * Writes one Engine.IO message (`4` followed by an already-encoded Socket.IO
 * packet) to a client, bypassing the encoder: used to send one frame that
 * batches several updates, built by concatenating quote JSON that was
 * serialised once per update.
 *
 * When the client is on the WebSocket transport and Engine.IO has nothing
 * queued for it, the message goes straight to the `ws` socket: the bytes on
 * the wire are exactly what Engine.IO would send, without its per-packet
 * object, events, flush and write callback (most of our per-frame cost over a
 * bare `ws` server in the S1 benchmark). Order is kept: Engine.IO writes to
 * the same socket, and while it has packets waiting (a polling client, an
 * upgrade, a congested transport) quotes queue behind them through Engine.IO.
 */
export function writeEngineMessage(socket: Socket, message: string): void {
  const conn = socket.conn as unknown as EngineConn;
  if (conn.readyState !== 'open') return;
  const ws = rawWebSocket(conn);
  if (ws !== undefined && conn.writeBuffer.length === 0 && ws.readyState === WS_OPEN) {
    const queued = ws.bufferedAmount > 0 ? (directSinceEmpty.get(conn) ?? 0) : 0;
    directSinceEmpty.set(conn, queued + 1);
    ws.send(message);
    return;
  }
  // Engine.IO adds the message type itself; slice() shares the string's characters.
  (socket.client as unknown as ClientInternals).writeToEngine([message.slice(1)], {
    preEncoded: true,
  });
}

/** Outbound backlog of one client: Engine.IO's queue plus the WebSocket's send buffer. */
export interface OutboundBacklog {
  /** Packets in Engine.IO's queue, plus frames written directly since the WebSocket buffer was empty. */
  packets: number;
  /** Bytes in the WebSocket's send buffer (exact) plus string lengths in Engine.IO's queue. */
  bytes: number;
}

function rawWebSocket(conn: EngineConn): RawWebSocket | undefined {
  return conn.transport.name === 'websocket' ? conn.transport.socket : undefined;
}

/** The whole backlog, for logs and tests (O(queued packets)). */
export function outboundBacklog(socket: Socket): OutboundBacklog {
  const conn = socket.conn as unknown as EngineConn;
  const wsBytes = rawWebSocket(conn)?.bufferedAmount ?? 0;
  let packets = conn.writeBuffer.length;
  let bytes = wsBytes;
  if (wsBytes > 0) packets += directSinceEmpty.get(conn) ?? 0;
  for (const packet of conn.writeBuffer) bytes += packetBytes(packet.data);
  return { packets, bytes };
}

function packetBytes(data: unknown): number {
  if (typeof data === 'string') return data.length;
  if (data instanceof Uint8Array) return data.byteLength;
  return 0;
}

/** Below this many queued packets Engine.IO's queue is not worth counting in bytes. */
const BYTES_CHECK_FROM = 8;

/**
 * Whether a client's backlog is over either cap. The WebSocket's buffered
 * bytes are one getter; Engine.IO's queue is counted in packets always (an
 * array length) and in bytes only when a few packets are already waiting,
 * which a client that keeps up never has: the common case stays O(1).
 */
export function isOverBacklog(socket: Socket, maxPackets: number, maxBytes: number): boolean {
  const conn = socket.conn as unknown as EngineConn;
  const wsBytes = rawWebSocket(conn)?.bufferedAmount ?? 0;
  const queue = conn.writeBuffer;
  let packets = queue.length;
  if (wsBytes > 0) {
    if (wsBytes >= maxBytes) return true;
    packets += directSinceEmpty.get(conn) ?? 0;
  }
  if (packets >= maxPackets) return true;
  if (queue.length < BYTES_CHECK_FROM) return false;
  let bytes = wsBytes;
  for (const packet of queue) {
    bytes += packetBytes(packet.data);
    if (bytes >= maxBytes) return true;
  }
  return false;
}

/**
 * Ends a connection at once, discarding its backlog: Engine.IO closes the
 * session without waiting for its queue to drain (a stalled client never
 * drains it), and the TCP connection is reset (RST), so the kernel drops the
 * bytes queued for the peer at once. A plain close would leave the socket in
 * FIN-WAIT-1 holding a full send queue (3.9 MB measured on loopback) for as
 * long as the peer keeps its window closed.
 */
export function cutOffConnection(socket: Socket): void {
  (socket.conn as unknown as EngineConn).close(true);
  resetTcp(socket);
}

/**
 * Resets (RST) the TCP connection under a websocket transport, dropping
 * whatever the kernel still queues for the peer. For a connection Engine.IO
 * already closed because the peer stopped answering pings: its close frame
 * sits behind that queue, and ws would wait up to 30 s for the peer's.
 */
export function resetTcp(socket: Socket): void {
  const ws = rawWebSocket(socket.conn as unknown as EngineConn);
  if (ws !== undefined) resetWebSocket(ws);
}

/**
 * How many sockets in `socket`'s namespace its client's one Engine.IO
 * connection has open (socket.io's `Client.sockets`). A well-behaved client
 * opens one per namespace; a burst of CONNECT packets in one read opens one
 * each, because socket.io registers a socket only a tick after its CONNECT.
 */
export function socketsInNamespaceOnConnection(socket: Socket): number {
  const sockets = (socket.client as unknown as { sockets: Map<string, Socket> }).sockets;
  let n = 0;
  for (const s of sockets.values()) if (s.nsp === socket.nsp) n++;
  return n;
}

/** What {@link trimHandshake} leaves in place of the request's headers, query and auth. */
const NOTHING: Readonly<Record<string, never>> = Object.freeze({});

/**
 * Replaces a connected socket's `handshake` by one holding only its scalars
 * (address, issue time, secure, xdomain): socket.io's keeps the first HTTP
 * request's whole headers object, its query, the CONNECT packet's auth and two
 * strings alive for the connection's life, ~0.4 KB each that nothing reads
 * once the namespace middleware (auth) has run. `headers`, `query` and `auth`
 * become one shared frozen empty object, `url` and `time` empty strings.
 */
export function trimHandshake(socket: Socket): void {
  const { address, xdomain, secure, issued } = socket.handshake;
  (socket as { handshake: Socket['handshake'] }).handshake = {
    headers: NOTHING,
    time: '',
    address,
    xdomain,
    secure,
    issued,
    url: '',
    query: NOTHING,
    auth: NOTHING,
  };
}

/** The parts of socket.io's in-memory adapter {@link withoutSelfRooms} overrides. */
interface RoomAdapter {
  readonly sids: Map<string, Set<string>>;
  addAll(id: string, rooms: Set<string>): void;
}
// A mixin's base must take `any[]` (TS2545).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type RoomAdapterClass = new (...args: any[]) => RoomAdapter;

/** The rooms of every socket in no room: shared, so it refuses to grow. */
class NoRooms extends Set<string> {
  override add(): this {
    throw new Error('NoRooms is shared and stays empty');
  }
}
const NO_ROOMS: Set<string> = new NoRooms();

/**
 * socket.io joins every socket to a room named after its own id (so that
 * `io.to(socketId)` reaches it): a Set in the adapter's `rooms` map plus an
 * entry in the socket's own set in `sids`, per connection. Quotes never travel
 * through rooms and nothing here addresses a socket by room, so in the adapter
 * this returns a socket that joins only its own room joins none: its `sids`
 * entry is one shared empty set (broadcasts to the whole namespace, which walk
 * `sids`, still reach it); joining any other room works as before.
 * Consequence: `io.to(socketId).emit()` reaches nobody; use the socket itself.
 */
export function withoutSelfRooms<T extends RoomAdapterClass>(Base: T): T {
  return class extends Base {
    override addAll(id: string, rooms: Set<string>): void {
      const held = this.sids.get(id);
      if (held === undefined && rooms.size === 1 && rooms.has(id)) {
        this.sids.set(id, NO_ROOMS);
        return;
      }
      if (held === NO_ROOMS) this.sids.set(id, new Set());
      super.addAll(id, rooms);
    }
  };
}
