/**
 * Engine.IO v4 / Socket.IO v5 text framing, written once for every test that
 * speaks the wire format itself: the raw-socket e2e client
 * (`raw-socket.ts`), the soak test, the bench's load generator and its
 * `limit` reference server.
 *
 * They speak it over bare `ws` sockets rather than using socket.io-client:
 * the e2e specs must put on the wire what socket.io-client never would
 * (broken packets, bad ack ids, floods), and one socket.io-client costs
 * several times the memory and CPU of a bare WebSocket, so with 20 000 bench
 * clients on the server's own machine the client library would become what is
 * measured.
 *
 * Over the websocket transport every WebSocket text frame is one Engine.IO
 * packet: a type digit then its data. A Socket.IO packet travels inside an
 * Engine.IO `message` (4) as `<type>[<attachments>-][<nsp>,][<ack id>][<json>]`,
 * the namespace omitted when it is `/`; the attachments of a binary packet
 * (types 5 and 6) follow as separate binary frames, which this codec leaves to
 * its caller: tickstream never sends binary.
 */
import { MARKET_NAMESPACE } from '../../src/shared/protocol.js';

/** Engine.IO v4 packet types, as their wire character. */
export const EIO = {
  OPEN: '0',
  CLOSE: '1',
  PING: '2',
  PONG: '3',
  MESSAGE: '4',
  UPGRADE: '5',
  NOOP: '6',
} as const;

export type EioPacketType = (typeof EIO)[keyof typeof EIO];

/** Socket.IO v5 packet types. */
export const SIO = {
  CONNECT: 0,
  DISCONNECT: 1,
  EVENT: 2,
  ACK: 3,
  CONNECT_ERROR: 4,
  BINARY_EVENT: 5,
  BINARY_ACK: 6,
} as const;

export type SioPacketType = (typeof SIO)[keyof typeof SIO];

/** A decoded Socket.IO packet. `data` is the parsed JSON payload, if any. */
export interface SioPacket {
  type: SioPacketType;
  nsp: string;
  id?: number;
  data?: unknown;
  /** Binary packets only: how many binary frames follow. */
  attachments?: number;
  /**
   * Lenient decoding only: the text after the namespace when it is not
   * `[<ack id>][<json>]` (e.g. an ack id the server wrote as `1e+23`); `id` and
   * `data` are then absent rather than guessed.
   */
  unparsed?: string;
}

/** A decoded Engine.IO packet: `data` is the text after the type digit. */
export interface EioPacket {
  type: EioPacketType;
  data: string;
}

/** Raised on a frame this codec cannot read; the client that got it is broken, not the run. */
export class FrameError extends Error {
  constructor(reason: string) {
    super(`bad frame: ${reason}`);
    this.name = 'FrameError';
  }
}

/** Splits a WebSocket text frame into its Engine.IO packet type and data. */
export function decodeEioPacket(frame: string): EioPacket {
  const type = frame.charAt(0);
  if (type < EIO.OPEN || type > EIO.NOOP || type === '')
    throw new FrameError(`engine.io type ${JSON.stringify(type)}`);
  return { type: type as EioPacketType, data: frame.slice(1) };
}

/** Encodes a Socket.IO packet as the data of an Engine.IO message (without the leading `4`). */
export function encodeSioPacket(packet: SioPacket): string {
  let out = String(packet.type);
  if (packet.attachments !== undefined) out += `${packet.attachments}-`;
  if (packet.nsp !== '/') out += `${packet.nsp},`;
  if (packet.id !== undefined) out += String(packet.id);
  if (packet.data !== undefined) out += JSON.stringify(packet.data);
  return out;
}

/** Encodes a Socket.IO packet as a whole WebSocket text frame (`4` + packet). */
export function encodeSioFrame(packet: SioPacket): string {
  return EIO.MESSAGE + encodeSioPacket(packet);
}

/** `42/market,<id>["event",...args]`: an EVENT frame, with an ack id if given. */
export function encodeEvent(
  event: string,
  args: readonly unknown[],
  ackId?: number,
  nsp: string = MARKET_NAMESPACE,
): string {
  return encodeSioFrame({ type: SIO.EVENT, nsp, id: ackId, data: [event, ...args] });
}

export interface SioDecodeOptions {
  /**
   * Describe whatever a well-typed header says instead of throwing: binary
   * packets are returned (with `attachments`), and a payload that is not JSON
   * comes back as `unparsed`. Default false: the load generator and the
   * `limit` server treat such a frame as a broken peer.
   */
  lenient?: boolean;
}

/** Counts the ASCII digits of `text` from `start` on. */
function digitsAt(text: string, start: number): number {
  let i = start;
  while (i < text.length && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
  return i - start;
}

/**
 * Decodes the data of an Engine.IO message as a Socket.IO packet. Throws
 * {@link FrameError} on an unknown packet type and, unless `lenient`, on a
 * binary packet or a payload that is not JSON.
 */
export function decodeSioPacket(text: string, options?: SioDecodeOptions): SioPacket {
  const lenient = options?.lenient === true;
  const type = text.charCodeAt(0) - 48; // NaN for an empty text
  const maxType = lenient ? SIO.BINARY_ACK : SIO.CONNECT_ERROR;
  if (!(type >= SIO.CONNECT && type <= maxType)) {
    throw new FrameError(`socket.io type ${JSON.stringify(text.charAt(0))}`);
  }
  const packet: SioPacket = { type: type as SioPacketType, nsp: '/' };
  let i = 1;
  if (type === SIO.BINARY_EVENT || type === SIO.BINARY_ACK) {
    const count = digitsAt(text, i);
    if (count === 0 || text.charAt(i + count) !== '-') {
      throw new FrameError('socket.io attachment count');
    }
    packet.attachments = Number(text.slice(i, i + count));
    i += count + 1;
  }
  if (text.charAt(i) === '/') {
    const comma = text.indexOf(',', i);
    const end = comma === -1 ? text.length : comma;
    packet.nsp = text.slice(i, end);
    i = comma === -1 ? text.length : comma + 1;
  }
  const afterNsp = i;
  i += digitsAt(text, i);
  const id = i > afterNsp ? Number(text.slice(afterNsp, i)) : undefined;
  let data: unknown;
  if (i < text.length) {
    try {
      data = JSON.parse(text.slice(i)) as unknown;
    } catch {
      if (!lenient) throw new FrameError('socket.io payload is not JSON');
      // Not `<digits><json>`: keep the text whole rather than guess where an id ends.
      packet.unparsed = text.slice(afterNsp);
      return packet;
    }
  }
  if (id !== undefined) packet.id = id;
  if (data !== undefined) packet.data = data;
  return packet;
}

/**
 * The Socket.IO packet in a whole WebSocket frame, decoded leniently (see
 * {@link SioDecodeOptions.lenient}); undefined for a binary frame, any
 * Engine.IO packet other than `message`, or an unknown Socket.IO packet type.
 * For tests that record whatever the server sent and assert on it afterwards.
 */
export function decodeSioFrame(frame: string | Buffer): SioPacket | undefined {
  if (typeof frame !== 'string' || frame.charAt(0) !== EIO.MESSAGE) return undefined;
  try {
    return decodeSioPacket(frame.slice(1), { lenient: true });
  } catch (err) {
    if (err instanceof FrameError) return undefined;
    throw err;
  }
}
