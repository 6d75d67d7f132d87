/**
 * A minimal WebSocket client (RFC 6455) for the load generator.
 *
 * Why not the `ws` client: on two cores the load generator has one core to
 * receive up to 200 000 frames a second, and profiles showed the `ws` client
 * spending most of its time outside the frame logic, in Node's readable
 * stream machinery and a Buffer per read. This client reads with
 * `net.connect({ onread })` into one buffer shared by every socket of the
 * process (callbacks never overlap; partial frames are copied out) and hands
 * text payloads over as (buffer, start, end) without copying.
 *
 * Supports what a benchmark client needs: text frames, fragmentation, ping
 * → pong, close. No extensions (no permessage-deflate), no TLS.
 */
import { randomBytes } from 'node:crypto';
import { type Socket, connect } from 'node:net';

const OP_CONTINUATION = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

/** Receives complete messages and control frames from a {@link FrameReader}. */
export interface FrameSink {
  /** A complete text (or binary) message: valid only during the call. */
  message(buf: Buffer, start: number, end: number): void;
  ping(payload: Buffer): void;
  close(code: number): void;
}

/** Raised when the peer breaks the framing rules; the connection is unusable. */
export class WebSocketProtocolError extends Error {
  constructor(reason: string) {
    super(`websocket: ${reason}`);
    this.name = 'WebSocketProtocolError';
  }
}

/**
 * Incremental parser of server-to-client frames. Feed it bytes as they come
 * with {@link push}; it calls the sink once per complete message and keeps
 * only the bytes of an incomplete frame.
 */
export class FrameReader {
  /** Bytes of an incomplete frame, copied out of the caller's reused buffer. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes the incomplete frame needs before parsing can make progress. */
  private needed = 0;
  private fragments: Buffer[] = [];

  constructor(
    private readonly sink: FrameSink,
    private readonly maxMessageBytes = 16 * 1024 * 1024,
  ) {}

  push(chunk: Buffer, start = 0, end = chunk.length): void {
    let buf = chunk;
    let p = start;
    let stop = end;
    if (this.pendingBytes > 0) {
      // Keep whole copies until the frame is complete: no quadratic re-concatenation.
      this.pending.push(Buffer.from(chunk.subarray(start, end)));
      this.pendingBytes += end - start;
      if (this.pendingBytes < this.needed) return;
      buf = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
      p = 0;
      stop = buf.length;
    }
    for (;;) {
      const avail = stop - p;
      if (avail < 2) {
        this.needed = 2;
        break;
      }
      const b0 = buf[p];
      const b1 = buf[p + 1];
      let len = b1 & 0x7f;
      let header = 2;
      if (len === 126) {
        if (avail < 4) {
          this.needed = 4;
          break;
        }
        len = buf.readUInt16BE(p + 2);
        header = 4;
      } else if (len === 127) {
        if (avail < 10) {
          this.needed = 10;
          break;
        }
        len = buf.readUInt32BE(p + 2) * 2 ** 32 + buf.readUInt32BE(p + 6);
        header = 10;
      }
      const masked = (b1 & 0x80) !== 0;
      if (masked) header += 4;
      if (len > this.maxMessageBytes) throw new WebSocketProtocolError(`frame of ${len} bytes`);
      if (avail < header + len) {
        this.needed = header + len;
        break;
      }
      const from = p + header;
      const to = from + len;
      if (masked) unmask(buf, from, to, buf.subarray(from - 4, from));
      this.frame(b0, buf, from, to);
      p = to;
    }
    if (p < stop) {
      this.pending.push(Buffer.from(buf.subarray(p, stop)));
      this.pendingBytes = stop - p;
    }
  }

  private frame(b0: number, buf: Buffer, from: number, to: number): void {
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    switch (opcode) {
      case OP_TEXT:
      case OP_BINARY:
        if (this.fragments.length > 0)
          throw new WebSocketProtocolError('new message inside a fragmented one');
        if (fin) this.sink.message(buf, from, to);
        else this.fragments.push(Buffer.from(buf.subarray(from, to)));
        return;
      case OP_CONTINUATION: {
        if (this.fragments.length === 0)
          throw new WebSocketProtocolError('continuation without a message');
        this.fragments.push(Buffer.from(buf.subarray(from, to)));
        if (fin) {
          const whole = Buffer.concat(this.fragments);
          this.fragments = [];
          this.sink.message(whole, 0, whole.length);
        }
        return;
      }
      case OP_PING:
        this.sink.ping(Buffer.from(buf.subarray(from, to)));
        return;
      case OP_PONG:
        return;
      case OP_CLOSE:
        this.sink.close(to - from >= 2 ? buf.readUInt16BE(from) : 1005);
        return;
      default:
        throw new WebSocketProtocolError(`opcode ${opcode}`);
    }
  }
}

function unmask(buf: Buffer, from: number, to: number, mask: Buffer): void {
  for (let i = from; i < to; i++) buf[i] ^= mask[(i - from) & 3];
}

/** Encodes one client-to-server frame; clients must mask (RFC 6455 §5.3). */
export function encodeClientFrame(
  opcode: number,
  payload: Buffer,
  mask: Buffer = randomBytes(4),
): Buffer {
  const len = payload.length;
  const header = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(header + 4 + len);
  out[0] = 0x80 | opcode;
  if (header === 2) out[1] = 0x80 | len;
  else if (header === 4) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeUInt32BE(Math.floor(len / 2 ** 32), 2);
    out.writeUInt32BE(len >>> 0, 6);
  }
  mask.copy(out, header, 0, 4);
  for (let i = 0; i < len; i++) out[header + 4 + i] = payload[i] ^ mask[i & 3];
  return out;
}

export interface LeanWebSocketOptions {
  host: string;
  port: number;
  /** Path and query, e.g. `/socket.io/?EIO=4&transport=websocket`. */
  path: string;
  localAddress?: string;
}

export interface LeanWebSocketEvents {
  open(): void;
  message(buf: Buffer, start: number, end: number): void;
  /** Called once, whatever ended the connection; `reason` says what. */
  closed(reason: string): void;
}

/** One reusable read buffer for every socket of the process. */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

export class LeanWebSocket {
  private readonly socket: Socket;
  private readonly reader: FrameReader;
  private handshake: Buffer | undefined = Buffer.alloc(0);
  private done = false;

  constructor(
    options: LeanWebSocketOptions,
    private readonly events: LeanWebSocketEvents,
  ) {
    this.reader = new FrameReader({
      message: (buf, start, end) => this.events.message(buf, start, end),
      ping: (payload) => this.write(OP_PONG, payload),
      close: (code) => this.end(`closed by server (${code})`),
    });
    const key = randomBytes(16).toString('base64');
    this.socket = connect({
      host: options.host,
      port: options.port,
      localAddress: options.localAddress,
      noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        callback: (n: number, buf: Uint8Array) => this.onRead(buf as Buffer, n),
      },
    });
    this.socket.on('connect', () => {
      this.socket.write(
        `GET ${options.path} HTTP/1.1\r\nHost: ${options.host}:${options.port}\r\n` +
          `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n` +
          'Sec-WebSocket-Version: 13\r\n\r\n',
      );
    });
    this.socket.on('error', (err: NodeJS.ErrnoException) => this.end(err.code ?? err.message));
    this.socket.on('close', () => this.end('socket closed'));
  }

  /** Sends a text message. */
  send(text: string): void {
    this.write(OP_TEXT, Buffer.from(text));
  }

  /** Drops the connection at once. */
  terminate(): void {
    this.end('terminated');
  }

  private write(opcode: number, payload: Buffer): void {
    if (!this.done && this.handshake === undefined)
      this.socket.write(encodeClientFrame(opcode, payload));
  }

  private onRead(buf: Buffer, n: number): boolean {
    if (this.done) return false;
    try {
      if (this.handshake === undefined) {
        this.reader.push(buf, 0, n);
        return true;
      }
      const head = Buffer.concat([this.handshake, buf.subarray(0, n)]);
      const endOfHead = head.indexOf('\r\n\r\n');
      if (endOfHead < 0) {
        if (head.length > 16 * 1024)
          throw new WebSocketProtocolError('handshake response too long');
        this.handshake = head;
        return true;
      }
      const status = head.toString('latin1', 0, head.indexOf('\r\n'));
      if (!/^HTTP\/1\.1 101 /.test(status))
        throw new WebSocketProtocolError(`handshake refused: ${status}`);
      this.handshake = undefined;
      this.events.open();
      if (head.length > endOfHead + 4) this.reader.push(head, endOfHead + 4, head.length);
    } catch (err) {
      this.end(err instanceof Error ? err.message : String(err));
    }
    return true;
  }

  private end(reason: string): void {
    if (this.done) return;
    this.done = true;
    this.socket.destroy();
    this.events.closed(reason);
  }
}
