/**
 * A hand-rolled Engine.IO v4 / Socket.IO v5 client over a bare `ws` socket, for
 * tests that must put on the wire what socket.io-client never would: broken
 * packets, bad ack ids, stray binary frames, floods, or a peer that stops reading.
 * The framing itself (packet types, encoders, decoders) is `socket-io-codec.ts`;
 * what the server sends is decoded leniently, so a test can assert on garbage.
 */
import { connect as netConnect } from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import WebSocket from 'ws';
import { MARKET_NAMESPACE } from '../../src/shared/protocol.js';
import {
  decodeSioFrame,
  EIO,
  encodeEvent,
  encodeSioFrame,
  SIO,
  type SioPacket,
} from './socket-io-codec.js';

/** Payload of the Engine.IO `open` packet the server sends first. */
export interface EngineOpen {
  sid: string;
  upgrades: string[];
  pingInterval: number;
  pingTimeout: number;
  maxPayload: number;
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
    this.send(encodeSioFrame({ type: SIO.CONNECT, nsp, data: auth }));
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
    predicate: (packet: SioPacket) => boolean,
    timeoutMs = 5000,
    what = 'a packet',
    from = 0,
  ): Promise<SioPacket> {
    const frame = await this.waitForFrame(
      (f) => {
        const p = decodeSioFrame(f.data);
        return p !== undefined && predicate(p);
      },
      timeoutMs,
      what,
      from,
    );
    return decodeSioFrame(frame.data) as SioPacket;
  }

  /** Every Socket.IO packet received so far (from frame index `from`). */
  packets(from = 0): SioPacket[] {
    const out: SioPacket[] = [];
    for (let i = from; i < this.frames.length; i++) {
      const p = decodeSioFrame(this.frames[i].data);
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
      const packet = decodeSioFrame(data);
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
