/**
 * Just enough of Engine.IO v4 and Socket.IO v5 text framing for the load
 * generator's clients and the `limit` reference server.
 *
 * The load generator speaks the wire format itself over raw `ws` sockets
 * rather than using socket.io-client: one socket.io-client costs several
 * times the memory and CPU of a bare WebSocket, and with 20 000 clients on the
 * server's own machine the client library would become what is measured.
 *
 * Over the websocket transport every WebSocket text frame is one Engine.IO
 * packet: a type digit then its data. A Socket.IO packet travels inside an
 * Engine.IO `message` (4) as `<type>[<nsp>,][<ack id>][<json>]`, the namespace
 * omitted when it is `/`. Binary packets (types 5 and 6) are not supported:
 * tickstream never sends binary.
 */

/** Engine.IO v4 packet types, as their wire digit. */
export const EIO_OPEN = '0';
export const EIO_CLOSE = '1';
export const EIO_PING = '2';
export const EIO_PONG = '3';
export const EIO_MESSAGE = '4';

/** Socket.IO v5 packet types. */
export const SIO_CONNECT = 0;
export const SIO_DISCONNECT = 1;
export const SIO_EVENT = 2;
export const SIO_ACK = 3;
export const SIO_CONNECT_ERROR = 4;

export type SioPacketType =
  | typeof SIO_CONNECT
  | typeof SIO_DISCONNECT
  | typeof SIO_EVENT
  | typeof SIO_ACK
  | typeof SIO_CONNECT_ERROR;

/** A decoded Socket.IO packet. `data` is the parsed JSON payload, if any. */
export interface SioPacket {
  type: SioPacketType;
  nsp: string;
  id?: number;
  data?: unknown;
}

/** A decoded Engine.IO packet: `data` is the text after the type digit. */
export interface EioPacket {
  type: '0' | '1' | '2' | '3' | '4' | '5' | '6';
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
  if (type < '0' || type > '6' || type === '')
    throw new FrameError(`engine.io type ${JSON.stringify(type)}`);
  return { type: type as EioPacket['type'], data: frame.slice(1) };
}

/** Encodes a Socket.IO packet as the data of an Engine.IO message (without the leading `4`). */
export function encodeSioPacket(packet: SioPacket): string {
  let out = String(packet.type);
  if (packet.nsp !== '/') out += `${packet.nsp},`;
  if (packet.id !== undefined) out += String(packet.id);
  if (packet.data !== undefined) out += JSON.stringify(packet.data);
  return out;
}

/** Encodes a Socket.IO packet as a whole WebSocket text frame (`4` + packet). */
export function encodeSioFrame(packet: SioPacket): string {
  return EIO_MESSAGE + encodeSioPacket(packet);
}

/** Decodes the data of an Engine.IO message as a Socket.IO packet. */
export function decodeSioPacket(text: string): SioPacket {
  const type = Number(text.charAt(0));
  if (!(text.length > 0 && type >= SIO_CONNECT && type <= SIO_CONNECT_ERROR)) {
    throw new FrameError(`socket.io type ${JSON.stringify(text.charAt(0))}`);
  }
  let i = 1;
  let nsp = '/';
  if (text.charAt(i) === '/') {
    const comma = text.indexOf(',', i);
    const end = comma === -1 ? text.length : comma;
    nsp = text.slice(i, end);
    i = comma === -1 ? text.length : comma + 1;
  }
  const idStart = i;
  while (i < text.length && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
  const id = i > idStart ? Number(text.slice(idStart, i)) : undefined;
  let data: unknown;
  if (i < text.length) {
    try {
      data = JSON.parse(text.slice(i)) as unknown;
    } catch {
      throw new FrameError('socket.io payload is not JSON');
    }
  }
  const packet: SioPacket = { type: type as SioPacketType, nsp };
  if (id !== undefined) packet.id = id;
  if (data !== undefined) packet.data = data;
  return packet;
}

/**
 * The exact text every `quotes` event frame for `nsp` starts with, up to the
 * batch array. The load generator's hot path tests for it and parses only the
 * array, which saves decoding the envelope 200 000 times a second.
 */
export function quotesFramePrefix(nsp: string): string {
  return encodeSioFrame({ type: SIO_EVENT, nsp }) + '["quotes",';
}

/**
 * Returns the JSON text of the batch array of a `quotes` event frame, or
 * undefined when the frame is anything else.
 */
export function quotesBatchJson(frame: string, prefix: string): string | undefined {
  if (!frame.startsWith(prefix) || frame.charCodeAt(frame.length - 1) !== 93 /* ] */)
    return undefined;
  return frame.slice(prefix.length, frame.length - 1);
}

/**
 * Builds a whole `quotes` event frame from quotes already serialised to JSON:
 * how the `limit` server shares one serialisation per symbol across clients.
 */
export function buildQuotesFrame(prefix: string, quoteJsons: readonly string[]): string {
  return `${prefix}[${quoteJsons.join(',')}]]`;
}
