/**
 * A hand-rolled Engine.IO v4 / Socket.IO v5 client over a bare `ws` socket, for
 * tests that must put on the wire what socket.io-client never would: broken
 * packets, bad ack ids, stray binary frames, floods, or a peer that stops reading.
 *
 * Over the websocket transport every WebSocket frame is one Engine.IO packet:
 * a type digit then its data (`0` open, `2` ping, `3` pong, `4` message). A
 * Socket.IO packet travels inside a message as
 * `<type>[<attachments>-][<nsp>,][<ack id>][<json>]`, the namespace omitted when
 * it is `/`; binary attachments follow as separate binary frames.
 */
import { connect as netConnect } from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import WebSocket from 'ws';
import { MARKET_NAMESPACE } from '../../src/shared/protocol.js';

/** Engine.IO v4 packet types, as their wire character. */
export const EIO = {
  OPEN: '0',
  CLOSE: '1',
  PING: '2',
  PONG: '3',
  MESSAGE: '4',
  NOOP: '6',
} as const;

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

/** Payload of the Engine.IO `open` packet the server sends first. */
export interface EngineOpen {
  sid: string;
  upgrades: string[];
  pingInterval: number;
  pingTimeout: number;
  maxPayload: number;
}

/** A decoded Socket.IO text packet (as the server sends them: never binary). */
export interface SocketIoPacket {
  type: number;
  nsp: string;
  id?: number;
  data?: unknown;
  /** The text after the header when it is not JSON (e.g. an ack id the server wrote as `1e+23`). */
  unparsed?: string;
}

export interface RawFrame {
  data: string | Buffer;
  at: number;
}

export interface CloseInfo {
  code: number;
  reason: string;
  at: number;
}

export interface RawSocketOptions {
  /** Extra handshake headers, e.g. `{ Origin: 'http://evil.example' }`. */
  headers?: Record<string, string>;
  /** Extra query string appended to the Engine.IO URL (without a leading `&`). */
  query?: string;
  /** Answer the server's pings (`2`) with pongs (`3`). Default true. */
  answerPings?: boolean;
  /** Milliseconds to wait for the WebSocket upgrade and the `open` packet. Default 5000. */
  timeoutMs?: number;
}

/** The server refused a namespace CONNECT with a CONNECT_ERROR packet. */
export class NamespaceRefusedError extends Error {
  constructor(readonly data: unknown) {
    super(`namespace refused: ${JSON.stringify(data)}`);
    this.name = 'NamespaceRefusedError';
  }
}

/** Decodes a Socket.IO text packet inside an Engine.IO message frame; undefined for anything else. */
export function decodeSocketIoPacket(frame: string | Buffer): SocketIoPacket | undefined {
  if (typeof frame !== 'string' || frame.charAt(0) !== EIO.MESSAGE) return undefined;
  const type = Number(frame.charAt(1));
  if (!Number.isInteger(type)) return undefined;
  let i = 2;
  let nsp = '/';
  if (frame.charAt(i) === '/') {
    const comma = frame.indexOf(',', i);
    nsp = frame.slice(i, comma === -1 ? frame.length : comma);
    i = comma === -1 ? frame.length : comma + 1;
  }
  const idMatch = /^\d+/.exec(frame.slice(i));
  const afterId = idMatch ? i + idMatch[0].length : i;
  const rest = frame.slice(afterId);
  const id = idMatch ? Number(idMatch[0]) : undefined;
  if (rest === '') return { type, nsp, id };
  try {
    return { type, nsp, id, data: JSON.parse(rest) as unknown };
  } catch {
    // Not `<digits><json>`: keep the text whole rather than guess where an id ends.
    return { type, nsp, unparsed: frame.slice(i) };
  }
}

/** `42/market,<id>["event",...args]`: an EVENT frame, with an ack id if given. */
export function encodeEvent(
  event: string,
  args: readonly unknown[],
  ackId?: number,
  nsp: string = MARKET_NAMESPACE,
): string {
  const prefix = nsp === '/' ? '' : `${nsp},`;
  return `${EIO.MESSAGE}${SIO.EVENT}${prefix}${ackId ?? ''}${JSON.stringify([event, ...args])}`;
}

const openSockets = new Set<RawSocket>();

/**
 * One raw Engine.IO connection. Every received frame is kept (unless
 * `recording` is turned off), pings are answered, and waits are event-driven.
 */
export class RawSocket {
  /** The Engine.IO `open` packet; set once {@link RawSocket.connect} resolves. */
  engine: EngineOpen | undefined;
  readonly frames: RawFrame[] = [];
  /** Keep every received frame in {@link RawSocket.frames}; turn off for floods (counters still run). */
  recording = true;
  textFrames = 0;
  binaryFrames = 0;
  bytesReceived = 0;
  closeInfo: CloseInfo | undefined;
  /** Namespaces the server sent a DISCONNECT packet for (tracked even when not recording). */
  readonly disconnectedFrom = new Set<string>();
  /** Resolves when the WebSocket closes, for whatever reason. */
  readonly closed: Promise<CloseInfo>;
  /** Waiters, called with each arriving frame, and with `undefined` when the socket closes. */
  private readonly listeners = new Set<(frame: RawFrame | undefined) => void>();
  /** Ack ids of {@link RawSocket.request}; far from the small ids tests write by hand. */
  private nextAckId = 1000;

  private constructor(
    readonly ws: WebSocket,
    private readonly options: RawSocketOptions,
  ) {
    this.closed = new Promise<CloseInfo>((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString(), at: Date.now() };
        openSockets.delete(this);
        this.notify(undefined);
        resolve(this.closeInfo);
      });
    });
    // A refused upgrade or a reset is an outcome the tests assert on, not a crash.
    ws.on('error', () => undefined);
    ws.on('message', (data, isBinary) => this.onFrame(data, isBinary));
  }

  /** Opens `/socket.io/?EIO=4&transport=websocket` and waits for the `open` packet. */
  static async connect(baseUrl: string, options: RawSocketOptions = {}): Promise<RawSocket> {
    const socket = RawSocket.open(baseUrl, options);
    const timeoutMs = options.timeoutMs ?? 5000;
    const open = await socket.waitForFrame(
      (f) => typeof f.data === 'string' && f.data.startsWith(EIO.OPEN),
      timeoutMs,
      'the Engine.IO open packet',
    );
    socket.engine = JSON.parse((open.data as string).slice(1)) as EngineOpen;
    return socket;
  }

  /** Starts the WebSocket handshake without waiting for anything. */
  static open(baseUrl: string, options: RawSocketOptions = {}): RawSocket {
    const wsUrl = baseUrl.replace(/^http/, 'ws');
    const query = options.query ? `&${options.query}` : '';
    const ws = new WebSocket(`${wsUrl}/socket.io/?EIO=4&transport=websocket${query}`, {
      headers: options.headers,
      perMessageDeflate: false,
      handshakeTimeout: options.timeoutMs ?? 5000,
    });
    const socket = new RawSocket(ws, options);
    openSockets.add(socket);
    return socket;
  }

  get isClosed(): boolean {
    return this.closeInfo !== undefined;
  }

  /** Sends `40<nsp>,[auth]` and resolves with the socket id, or rejects with {@link NamespaceRefusedError}. */
  async joinNamespace(
    nsp: string = MARKET_NAMESPACE,
    auth?: Record<string, unknown>,
    timeoutMs = 5000,
  ): Promise<string> {
    const from = this.frames.length;
    const prefix = nsp === '/' ? '' : `${nsp},`;
    this.send(
      `${EIO.MESSAGE}${SIO.CONNECT}${prefix}${auth === undefined ? '' : JSON.stringify(auth)}`,
    );
    const reply = await this.waitForPacket(
      (p) => p.nsp === nsp && (p.type === SIO.CONNECT || p.type === SIO.CONNECT_ERROR),
      timeoutMs,
      `CONNECT reply for ${nsp}`,
      from,
    );
    if (reply.type === SIO.CONNECT_ERROR) throw new NamespaceRefusedError(reply.data);
    return (reply.data as { sid: string }).sid;
  }

  /** Sends one raw frame: a string as a text frame, a Buffer as a binary frame. */
  send(data: string | Buffer): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(data);
  }

  /** Sends an EVENT to `nsp` (default `/market`) without an ack id. */
  emit(event: string, ...args: unknown[]): void {
    this.send(encodeEvent(event, args));
  }

  /** Sends an EVENT with a fresh ack id and resolves with the ack's first argument. */
  async request(event: string, payload: unknown, timeoutMs = 5000): Promise<unknown> {
    const id = this.nextAckId++;
    const from = this.frames.length;
    this.send(encodeEvent(event, [payload], id));
    const ack = await this.waitForPacket(
      (p) => p.type === SIO.ACK && p.id === id,
      timeoutMs,
      `ack ${id} of ${event}`,
      from,
    );
    return (ack.data as unknown[])[0];
  }

  /**
   * Resolves with the first frame matching `predicate`: among those recorded
   * from index `from` on, else the next to arrive (seen even when not recording).
   */
  async waitForFrame(
    predicate: (frame: RawFrame) => boolean,
    timeoutMs = 5000,
    what = 'a frame',
    from = 0,
  ): Promise<RawFrame> {
    for (let i = from; i < this.frames.length; i++) {
      if (predicate(this.frames[i])) return this.frames[i];
    }
    return this.until(
      (frame) => (frame !== undefined && predicate(frame) ? frame : undefined),
      timeoutMs,
      what,
    );
  }

  /** Resolves with the first Socket.IO packet (from frame index `from`) matching `predicate`. */
  async waitForPacket(
    predicate: (packet: SocketIoPacket) => boolean,
    timeoutMs = 5000,
    what = 'a packet',
    from = 0,
  ): Promise<SocketIoPacket> {
    const frame = await this.waitForFrame(
      (f) => {
        const p = decodeSocketIoPacket(f.data);
        return p !== undefined && predicate(p);
      },
      timeoutMs,
      what,
      from,
    );
    return decodeSocketIoPacket(frame.data) as SocketIoPacket;
  }

  /** Every Socket.IO packet received so far (from frame index `from`). */
  packets(from = 0): SocketIoPacket[] {
    const out: SocketIoPacket[] = [];
    for (let i = from; i < this.frames.length; i++) {
      const p = decodeSocketIoPacket(this.frames[i].data);
      if (p) out.push(p);
    }
    return out;
  }

  /**
   * Resolves with how the server got rid of this peer: `'closed'` (the
   * WebSocket closed) or `'disconnected'` (a DISCONNECT packet for `nsp`).
   */
  async waitForKick(
    timeoutMs = 5000,
    nsp: string = MARKET_NAMESPACE,
  ): Promise<'closed' | 'disconnected'> {
    return this.until(
      () => {
        if (this.isClosed) return 'closed' as const;
        if (this.disconnectedFrom.has(nsp)) return 'disconnected' as const;
        return undefined;
      },
      timeoutMs,
      'the server to drop the connection',
    );
  }

  /** Resolves when the WebSocket is closed. */
  async waitForClose(timeoutMs = 5000): Promise<CloseInfo> {
    return this.until(() => this.closeInfo, timeoutMs, 'the WebSocket to close');
  }

  /** Stops reading from the TCP socket, so the kernel buffers (then the server's) fill up. */
  pauseReading(): void {
    this.ws.pause();
  }

  resumeReading(): void {
    this.ws.resume();
  }

  /** Destroys the TCP connection at once (no close handshake). */
  terminate(): void {
    this.ws.terminate();
  }

  private onFrame(raw: WebSocket.RawData, isBinary: boolean): void {
    const buffer = Array.isArray(raw)
      ? Buffer.concat(raw)
      : Buffer.isBuffer(raw)
        ? raw
        : Buffer.from(raw);
    const data: string | Buffer = isBinary ? buffer : buffer.toString('utf8');
    if (typeof data === 'string' && data.startsWith(`${EIO.MESSAGE}${SIO.DISCONNECT}`)) {
      const packet = decodeSocketIoPacket(data);
      if (packet) this.disconnectedFrom.add(packet.nsp);
    }
    this.bytesReceived += buffer.length;
    if (isBinary) this.binaryFrames++;
    else this.textFrames++;
    if (data === EIO.PING && this.options.answerPings !== false) this.send(EIO.PONG);
    const frame: RawFrame = { data, at: Date.now() };
    if (this.recording) this.frames.push(frame);
    this.notify(frame);
  }

  private notify(frame: RawFrame | undefined): void {
    for (const listener of [...this.listeners]) listener(frame);
  }

  /**
   * Resolves with the first defined value of `probe`, evaluated now (without a
   * frame), then on every arriving frame and on close; rejects on close or timeout.
   */
  private until<T>(
    probe: (frame: RawFrame | undefined) => T | undefined,
    timeoutMs: number,
    what: string,
  ): Promise<T> {
    const immediate = probe(undefined);
    if (immediate !== undefined) return Promise.resolve(immediate);
    return new Promise<T>((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      const check = (frame: RawFrame | undefined): void => {
        const value = probe(frame);
        if (value !== undefined) {
          finish();
          resolve(value);
        } else if (this.isClosed) {
          finish();
          reject(
            new Error(`connection closed (${this.closeInfo?.code}) while waiting for ${what}`),
          );
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.listeners.add(check);
    });
  }
}

/** Terminates every {@link RawSocket} still open. */
export function closeAllRawSockets(): void {
  for (const socket of openSockets) socket.terminate();
  openSockets.clear();
}

export interface RawHttpResult {
  /** The status code of the first response line, if any arrived. */
  status: number | undefined;
  /** Everything the server sent before closing (or before the timeout). */
  response: string;
  /** Whether the server closed the connection (vs. the timeout running out). */
  closedByServer: boolean;
}

/**
 * Writes `request` verbatim on a fresh TCP connection to `baseUrl`'s host and
 * port and collects the answer until the server closes or `timeoutMs` passes.
 */
export function rawHttpExchange(
  baseUrl: string,
  request: string,
  timeoutMs = 5000,
): Promise<RawHttpResult> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = netConnect({ host: hostname, port: Number(port) });
    let settled = false;
    const settle = (closedByServer: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const response = Buffer.concat(chunks).toString('latin1');
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(response)?.[1];
      resolve({
        status: status === undefined ? undefined : Number(status),
        response,
        closedByServer,
      });
    };
    const timer = setTimeout(() => settle(false), timeoutMs);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('close', () => settle(true));
    // EPIPE/ECONNRESET while we are still writing: the server hung up, which is an answer.
    socket.on('error', () => settle(true));
    socket.on('connect', () => socket.write(request, 'latin1'));
  });
}

/** Memory of this process, which hosts the in-process server under test. */
export interface MemorySample {
  rssMb: number;
  heapUsedMb: number;
}

let collectGarbage: (() => void) | undefined;

/**
 * RSS and heap used after a full GC. The vitest worker is not started with
 * `--expose-gc`, so the flag is set at run time and `gc` fetched from a fresh
 * context (V8 installs it on contexts created after the flag is set).
 */
export function sampleMemory(): MemorySample {
  if (collectGarbage === undefined) {
    v8.setFlagsFromString('--expose-gc');
    collectGarbage = vm.runInNewContext('gc') as () => void;
  }
  collectGarbage();
  collectGarbage();
  const { rss, heapUsed } = process.memoryUsage();
  return { rssMb: rss / 2 ** 20, heapUsedMb: heapUsed / 2 ** 20 };
}
