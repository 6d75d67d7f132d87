import { Adapter, type BroadcastOptions } from 'socket.io-adapter';
import type { Namespace, Socket } from 'socket.io';

/** What the adapter needs to know and report; supplied by the gateway. */
export interface FanoutPolicy {
  /** Whether a quote update may be queued for this client now (false: it is over its backlog cap). */
  admit(socket: Socket): boolean;
  /** Called once per broadcast with how many clients got it and how many were skipped. */
  onBroadcast(sent: number, skipped: number): void;
}

/** Engine.IO internals we read to measure a client's backlog (not in its public typings). */
interface EngineConn {
  writeBuffer: unknown[];
  transport: { writable: boolean };
}

type Packet = Parameters<Adapter['broadcast']>[0];
type PacketOpts = { preEncoded: boolean; volatile: boolean; compress: boolean };

/** The stock adapter's helpers our override reuses (private in its typings). */
interface AdapterInternals {
  _encode(packet: Packet, opts: PacketOpts): unknown[];
  apply(opts: BroadcastOptions, callback: (socket: Socket) => void): void;
}

/**
 * In-memory adapter whose `quotes` broadcasts skip congested clients.
 *
 * Socket.IO's stock broadcast encodes the packet once (and pre-builds the
 * WebSocket frame), then queues it on every socket in the room, without limit:
 * a client that stops reading grows the server's memory forever. Here a
 * client whose Engine.IO write buffer holds `maxQueue` packets or more is
 * passed over: it is already behind, and the next window carries the latest
 * value anyway (latest value wins). Other packets (acks, exceptions) are not
 * skipped. Cost per recipient: one array-length check.
 */
export function createMarketAdapter(policy: FanoutPolicy): typeof Adapter {
  return class MarketAdapter extends Adapter {
    constructor(nsp: Namespace) {
      super(nsp);
    }

    override broadcast(packet: Packet, opts: BroadcastOptions): void {
      const data = (packet as { data?: unknown[] }).data;
      if (!Array.isArray(data) || data[0] !== 'quotes') {
        super.broadcast(packet, opts);
        return;
      }
      const self = this as unknown as AdapterInternals;
      const packetOpts: PacketOpts = { preEncoded: true, volatile: false, compress: false };
      (packet as { nsp: string }).nsp = (this.nsp as Namespace).name;
      // Encoded once (with the WebSocket frame pre-built) for every recipient.
      const encoded = self._encode(packet, packetOpts);
      let sent = 0;
      let skipped = 0;
      self.apply(opts, (socket: Socket) => {
        if (!policy.admit(socket)) {
          skipped++;
          return;
        }
        (socket.client as unknown as ClientInternals).writeToEngine(encoded, packetOpts);
        sent++;
      });
      policy.onBroadcast(sent, skipped);
    }
  };
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
