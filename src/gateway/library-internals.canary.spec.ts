import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server as HttpServer, IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { type AddressInfo, connect as tcpConnect, Socket as TcpSocket } from 'node:net';
import { dirname, join, sep } from 'node:path';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Server, type ServerOptions, type Socket } from 'socket.io';
import { io as connectIo, Manager, type Socket as ClientSocket } from 'socket.io-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { resetWebSocket } from '../ws/tcp-reset.js';
import { dropUpgradeResponseListener, keepWsUpgradesFromEngine } from './market-io.adapter.js';
import {
  type ClientInternals,
  cutOffConnection,
  outboundBacklog,
  trimHandshake,
  withoutSelfRooms,
  writeEngineMessage,
} from './socket-internals.js';

/**
 * Canary for the engine.io / socket.io / ws internals that src/gateway/ reaches
 * into, run against the real installed libraries over 127.0.0.1. None of these
 * fields is public API: an upgrade may rename one, and the code would then
 * skip its fast path, mis-measure a backlog or keep memory alive without any
 * error. Every assertion names the library, its version and the file that
 * relies on it.
 */

/** The versions every assumption below was checked against: an upgrade starts by re-checking them. */
const VERIFIED = {
  'socket.io': '4.8.4',
  'engine.io': '6.6.12',
  'socket.io-parser': '4.2.7',
  ws: '8.23.0',
} as const;
type Library = keyof typeof VERIFIED;
const LIBRARIES = Object.keys(VERIFIED) as Library[];

const INTERNALS = 'src/gateway/socket-internals.ts';
const ADAPTER = 'src/gateway/market-io.adapter.ts';
const POLICY = 'src/gateway/client-policy.service.ts';
const GATEWAY = 'src/gateway/market.gateway.ts';
const RESET = 'src/ws/tcp-reset.ts (resetWebSocket)';
const CUT_OFF = `${RESET}, for ${INTERNALS} (cutOffConnection, resetTcp) and src/ws/ws.subscriber.ts`;

const SPEC_FILE = fileURLToPath(import.meta.url);
const ROOT_MANIFEST = join(dirname(SPEC_FILE), '..', '..', 'package.json');

/** Folder of the copy of `name` that code in `fromFile` loads. */
function packageDir(name: string, fromFile: string): string {
  const entry = createRequire(fromFile).resolve(name);
  const marker = `${sep}node_modules${sep}${name}${sep}`;
  const at = entry.lastIndexOf(marker);
  if (at < 0) throw new Error(`${name} resolved outside node_modules: ${entry}`);
  return entry.slice(0, at + marker.length - 1);
}

function versionAt(dir: string): string {
  const manifest: unknown = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const version = (manifest as { version?: unknown }).version;
  return typeof version === 'string' ? version : '(no version)';
}

/**
 * The copies that actually run: socket.io as Nest's IoAdapter loads it,
 * engine.io and socket.io-parser as socket.io loads them, ws as engine.io does.
 */
const NEST_SOCKET_IO = createRequire(SPEC_FILE).resolve('@nestjs/platform-socket.io');
const LOADED_DIRS: Record<Library, string> = (() => {
  const socketIo = packageDir('socket.io', NEST_SOCKET_IO);
  const socketIoEntry = join(socketIo, 'package.json');
  const engineIo = packageDir('engine.io', socketIoEntry);
  return {
    'socket.io': socketIo,
    'engine.io': engineIo,
    'socket.io-parser': packageDir('socket.io-parser', socketIoEntry),
    ws: packageDir('ws', join(engineIo, 'package.json')),
  };
})();
const INSTALLED = Object.fromEntries(
  LIBRARIES.map((lib) => [lib, versionAt(LOADED_DIRS[lib])]),
) as Record<Library, string>;

/** Failure message: which library (as installed), which assumption, which file depends on it. */
function relied(lib: Library, file: string, assumption: string): string {
  const version =
    INSTALLED[lib] === VERIFIED[lib]
      ? `${lib} ${INSTALLED[lib]}`
      : `${lib} ${INSTALLED[lib]} (verified on ${VERIFIED[lib]})`;
  return `${version}: ${assumption}. ${file} relies on this.`;
}

/** An Engine.IO socket as the gateway sees it, every field optional so absence is asserted. */
interface ProbedConn {
  readyState?: unknown;
  writeBuffer?: { data?: unknown }[];
  transport?: { name?: unknown; socket?: unknown };
  request?: unknown;
  close?: unknown;
  on?: unknown;
  write(data: string): void;
  once(event: 'close', fn: (reason: string) => void): void;
  once(event: 'upgrade', fn: () => void): void;
}

const conn = (socket: Socket): ProbedConn => socket.conn as unknown as ProbedConn;
const rawWs = (c: ProbedConn): WebSocket | undefined =>
  c.transport?.socket instanceof WebSocket ? c.transport.socket : undefined;

const NSP = '/canary';
/** One Engine.IO message carrying a Socket.IO `quotes` event, as the gateway builds it. */
const quotesFrame = (n: number): string => `42${NSP},["quotes",[${n}]]`;

type Cleanup = () => Promise<void> | void;
const cleanups: Cleanup[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Harness {
  io: Server;
  http: HttpServer;
  url: string;
  /** Every request `allowRequest` admitted, in order. */
  admitted: IncomingMessage[];
}

/**
 * A socket.io Server on 127.0.0.1 port 0 with the options MarketIoAdapter
 * sets that touch these internals (no per-message deflate, no HTTP
 * compression), a synchronous `allowRequest` and one pass-through Engine.IO
 * middleware, as in production.
 */
async function startServer(
  configure: (io: Server, http: HttpServer) => void = () => undefined,
  options: Partial<ServerOptions> = {},
): Promise<Harness> {
  const http = createServer();
  const admitted: IncomingMessage[] = [];
  const io = new Server(http, {
    ...options,
    perMessageDeflate: false,
    httpCompression: false,
    serveClient: false,
    allowRequest: (req, fn) => {
      admitted.push(req);
      fn(null, true);
    },
  });
  io.engine.use((_req: IncomingMessage, _res: unknown, next: () => void) => next());
  io.of(NSP);
  configure(io, http);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => io.close());
  return { io, http, url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, admitted };
}

type Transport = 'websocket' | 'polling';

function connectClient(url: string, transports: Transport[]): Promise<ClientSocket> {
  const client = connectIo(`${url}${NSP}`, {
    transports,
    upgrade: transports.length > 1,
    reconnection: false,
    forceNew: true,
  });
  cleanups.push(() => void client.disconnect());
  return connected(client);
}

function connected(client: ClientSocket): Promise<ClientSocket> {
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('connect_error', reject);
  });
}

/** The server side of the next connection to `nsp` (register before connecting). */
function nextConnection(io: Server, nsp = NSP): Promise<Socket> {
  return new Promise((resolve) => io.of(nsp).once('connection', resolve));
}

/** Resolves with the next `count` `quotes` batches the client receives, in order. */
function nextQuotes(client: ClientSocket, count: number): Promise<unknown[]> {
  const batches: unknown[] = [];
  return new Promise((resolve) => {
    const onQuotes = (batch: unknown): void => {
      batches.push(batch);
      if (batches.length < count) return;
      client.off('quotes', onQuotes);
      resolve(batches);
    };
    client.on('quotes', onQuotes);
  });
}

/** Writes one quotes frame with writeEngineMessage and waits until the client has it. */
async function expectQuotesDelivered(
  socket: Socket,
  client: ClientSocket,
  message: string,
): Promise<void> {
  const received = nextQuotes(client, 1);
  writeEngineMessage(socket, quotesFrame(1));
  expect(await received, message).toEqual([[1]]);
}

/** Node's `once` wrapper, as `rawListeners` returns it, exposes the original as `listener`. */
const isOnceWrapper = (fn: unknown): boolean =>
  typeof (fn as { listener?: unknown }).listener === 'function';

interface CloseListeners {
  /** `once('close')` listeners on the TCP socket. */
  once: number;
  /** `on('close')` listeners on it (ws's own among them). */
  on: number;
}

function closeListeners(socket: Duplex, except: ReadonlySet<unknown> = new Set()): CloseListeners {
  const listeners = socket.rawListeners('close').filter((fn) => !except.has(fn));
  const once = listeners.filter(isOnceWrapper).length;
  return { once, on: listeners.length - once };
}

interface UpgradeProbe {
  /** The upgraded TCP socket. */
  socket: Duplex;
  /** Its `close` listeners from before the upgrade (Node's own). */
  before: ReadonlySet<unknown>;
  /** `close` listeners the synchronous part of `engine.handleUpgrade` left on it. */
  added: CloseListeners;
}

/** Records every WebSocket upgrade's TCP socket and the `close` listeners `engine.handleUpgrade` leaves on it. */
function probeUpgrades(io: Server): UpgradeProbe[] {
  const engine = io.engine as unknown as {
    handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  };
  const inner = engine.handleUpgrade.bind(engine);
  const probes: UpgradeProbe[] = [];
  engine.handleUpgrade = (req, socket, head) => {
    const before = new Set<unknown>(socket.rawListeners('close'));
    inner(req, socket, head);
    probes.push({ socket, before, added: closeListeners(socket, before) });
  };
  return probes;
}

/** Resolves true if `emitter` emits `event` within `ms`, false otherwise (a bound, not a sleep). */
async function emitsWithin(emitter: WebSocket, event: string, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([once(emitter, event).then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('engine.io / socket.io / ws internals (canary)', () => {
  it('runs the exact library versions the internals were verified on', () => {
    const manifest = JSON.parse(readFileSync(ROOT_MANIFEST, 'utf8')) as {
      dependencies: Record<string, string>;
      overrides: Record<string, unknown>;
    };
    const pinned: Record<Library, unknown> = {
      'socket.io': manifest.dependencies['socket.io'],
      'engine.io': manifest.overrides['engine.io'],
      'socket.io-parser': manifest.overrides['socket.io-parser'],
      ws: manifest.dependencies.ws,
    };
    for (const lib of LIBRARIES) {
      expect(
        INSTALLED[lib],
        `${lib} ${INSTALLED[lib]} is installed at ${LOADED_DIRS[lib]}, but src/gateway/ was verified on ${VERIFIED[lib]}: re-check every assumption in this file, then update VERIFIED here and the pin in package.json together`,
      ).toBe(VERIFIED[lib]);
      expect(
        pinned[lib],
        `package.json pins ${lib} to ${String(pinned[lib])}, but src/gateway/ was verified on ${VERIFIED[lib]} (exact pins: dependencies for socket.io and ws, overrides for engine.io and socket.io-parser)`,
      ).toBe(VERIFIED[lib]);
    }
    expect(
      packageDir('socket.io', SPEC_FILE),
      'the app and @nestjs/platform-socket.io load different copies of socket.io; the internals are only checked on one',
    ).toBe(LOADED_DIRS['socket.io']);
  });

  it('exposes every field socket-internals.ts reads on a live WebSocket connection', async () => {
    const { io, url } = await startServer();
    const accepted = nextConnection(io);
    await connectClient(url, ['websocket']);
    const socket = await accepted;
    const c = conn(socket);

    expect(c.readyState, relied('engine.io', INTERNALS, 'Socket#readyState is "open"')).toBe(
      'open',
    );
    expect(
      Array.isArray(c.writeBuffer),
      relied('engine.io', INTERNALS, 'Socket#writeBuffer is the array of queued packets'),
    ).toBe(true);
    expect(
      c.transport?.name,
      relied('engine.io', INTERNALS, 'Socket#transport.name is "websocket"'),
    ).toBe('websocket');
    expect(
      c.transport?.socket,
      relied(
        'engine.io',
        INTERNALS,
        'transport.socket of the websocket transport is the ws WebSocket',
      ),
    ).toBeInstanceOf(WebSocket);
    const ws = rawWs(c);
    expect(
      ws?.readyState,
      relied('ws', INTERNALS, 'WebSocket#readyState of an open socket is 1 (WS_OPEN)'),
    ).toBe(1);
    expect(WebSocket.OPEN, relied('ws', INTERNALS, 'WebSocket.OPEN is 1')).toBe(1);
    expect(
      ws?.bufferedAmount,
      relied('ws', INTERNALS, 'WebSocket#bufferedAmount is a number, 0 on an idle socket'),
    ).toBe(0);
    expect(typeof ws?.send, relied('ws', INTERNALS, 'WebSocket#send exists')).toBe('function');
    expect(
      typeof (socket.client as unknown as Partial<ClientInternals>).writeToEngine,
      relied('socket.io', INTERNALS, 'Client#writeToEngine exists'),
    ).toBe('function');
    expect(typeof c.close, relied('engine.io', INTERNALS, 'Socket#close exists')).toBe('function');
    expect(
      (ws as unknown as { _socket?: unknown } | undefined)?._socket,
      relied('ws', CUT_OFF, 'WebSocket#_socket is its net.Socket'),
    ).toBeInstanceOf(TcpSocket);
  });

  it('delivers a writeEngineMessage frame written straight to the WebSocket as a quotes event', async () => {
    const { io, url } = await startServer();
    const accepted = nextConnection(io);
    const client = await connectClient(url, ['websocket']);
    const socket = await accepted;
    const ws = rawWs(conn(socket));
    expect(
      ws,
      relied('engine.io', INTERNALS, 'transport.socket is the ws WebSocket'),
    ).toBeDefined();
    const send = vi.spyOn(ws as WebSocket, 'send');
    const received = nextQuotes(client, 1);

    writeEngineMessage(socket, quotesFrame(1));

    expect(
      send,
      relied(
        'engine.io',
        INTERNALS,
        'an idle open connection has an empty writeBuffer (direct path)',
      ),
    ).toHaveBeenCalledWith(quotesFrame(1));
    expect(
      await received,
      relied(
        'socket.io',
        INTERNALS,
        'a raw "42<nsp>,[event,...]" text frame is one Socket.IO event',
      ),
    ).toEqual([[1]]);
  });

  it('queues packets in writeBuffer as { data } while the transport is busy, and keeps their order', async () => {
    const { io, url } = await startServer();
    const accepted = nextConnection(io);
    const client = await connectClient(url, ['websocket']);
    const socket = await accepted;
    const c = conn(socket);
    const engine = socket.client as unknown as ClientInternals;
    const received = nextQuotes(client, 3);

    // The first write starts a send and makes the transport busy until ws calls back,
    // so the second one (and anything after it, until then) waits in writeBuffer.
    engine.writeToEngine([quotesFrame(1).slice(1)], { preEncoded: true });
    engine.writeToEngine([quotesFrame(2).slice(1)], { preEncoded: true });
    writeEngineMessage(socket, quotesFrame(3));

    const queued = (c.writeBuffer ?? []).map((packet) => packet.data);
    expect(
      queued.slice(-2),
      relied(
        'engine.io',
        INTERNALS,
        'packets wait in writeBuffer as { data: <string> } while the WebSocket transport is busy',
      ),
    ).toEqual([quotesFrame(2).slice(1), quotesFrame(3).slice(1)]);
    expect(
      outboundBacklog(socket),
      relied('engine.io', INTERNALS, 'writeBuffer entries carry the encoded packet in data'),
    ).toEqual({
      packets: queued.length,
      bytes: queued.reduce((sum: number, data) => sum + String(data).length, 0),
    });
    expect(
      await received,
      relied('engine.io', INTERNALS, 'writeToEngine({ preEncoded: true }) sends the string as is'),
    ).toEqual([[1], [2], [3]]);
  });

  it('delivers writeEngineMessage frames through writeToEngine on the polling transport', async () => {
    const { io, url } = await startServer();
    const accepted = nextConnection(io);
    const client = await connectClient(url, ['polling']);
    const socket = await accepted;
    expect(
      conn(socket).transport?.name,
      relied('engine.io', INTERNALS, 'the polling transport is named "polling"'),
    ).toBe('polling');
    await expectQuotesDelivered(
      socket,
      client,
      relied(
        'socket.io',
        INTERNALS,
        'Client#writeToEngine([packet], { preEncoded: true }) delivers',
      ),
    );
  });

  it('moves a polling connection onto the ws WebSocket when it upgrades', async () => {
    let upgraded: Promise<void> | undefined;
    const { io, url } = await startServer((server) =>
      server.engine.on('connection', (engineConn: ProbedConn) => {
        upgraded = new Promise((resolve) => engineConn.once('upgrade', resolve));
      }),
    );
    const accepted = nextConnection(io);
    const client = await connectClient(url, ['polling', 'websocket']);
    const socket = await accepted;
    await upgraded;

    const c = conn(socket);
    expect(
      c.transport?.name,
      relied('engine.io', INTERNALS, 'after "upgrade" the socket transport is the websocket one'),
    ).toBe('websocket');
    expect(
      c.transport?.socket,
      relied('engine.io', INTERNALS, 'the upgraded transport.socket is the ws WebSocket'),
    ).toBeInstanceOf(WebSocket);
    await expectQuotesDelivered(socket, client, 'the upgraded connection takes the direct path');
  });

  it("leaves one once('close') listener per upgrade on the TCP socket, which dropUpgradeResponseListener removes", async () => {
    const stock = await startServer();
    const stockProbes = probeUpgrades(stock.io);
    await connectClient(stock.url, ['websocket']);

    const patched = await startServer((server) => dropUpgradeResponseListener(server));
    const patchedProbes = probeUpgrades(patched.io);
    const accepted = nextConnection(patched.io);
    const client = await connectClient(patched.url, ['websocket']);
    const socket = await accepted;

    expect(
      [stockProbes.length, patchedProbes.length],
      relied('engine.io', ADAPTER, 'upgrades go through the instance method engine.handleUpgrade'),
    ).toEqual([1, 1]);
    const [stockUpgrade] = stockProbes;
    const [patchedUpgrade] = patchedProbes;
    expect(
      stockUpgrade.added.once,
      relied(
        'engine.io',
        ADAPTER,
        "the synchronous part of handleUpgrade adds exactly one socket.once('close') (WebSocketResponse's)",
      ),
    ).toBe(1);
    // With a middleware, as in production, the rest of the upgrade (ws's own listeners) runs later.
    expect(
      closeListeners(stockUpgrade.socket, stockUpgrade.before).once,
      relied(
        'engine.io',
        ADAPTER,
        "that once('close') stays on the socket for the connection's life",
      ),
    ).toBe(1);
    expect(
      patchedUpgrade.added.once,
      relied('engine.io', ADAPTER, "dropUpgradeResponseListener removes that once('close')"),
    ).toBe(0);
    const established = closeListeners(patchedUpgrade.socket, patchedUpgrade.before);
    expect(
      established,
      relied(
        'ws',
        ADAPTER,
        "after the patched upgrade the socket has no once('close') and ws's own on('close') listener(s), as unpatched",
      ),
    ).toEqual({ once: 0, on: closeListeners(stockUpgrade.socket, stockUpgrade.before).on });
    expect(
      established.on,
      relied('ws', ADAPTER, "ws listens for the TCP socket's close"),
    ).toBeGreaterThan(0);

    await expectQuotesDelivered(
      socket,
      client,
      'the patched upgrade still yields a working connection',
    );
  });

  it('holds the handshake request in conn.request only, and copes with it being released', async () => {
    let atEngineConnection: unknown;
    const { io, url, admitted } = await startServer((server) =>
      server.engine.on('connection', (engineConn: ProbedConn) => {
        atEngineConnection = engineConn.request;
      }),
    );
    const manager = new Manager(url, { transports: ['websocket'], reconnection: false });
    const accepted = nextConnection(io);
    const client = manager.socket(NSP);
    cleanups.push(() => void client.disconnect());
    await connected(client);
    const socket = await accepted;
    const c = conn(socket);
    const request = c.request;

    expect(
      request,
      relied('engine.io', GATEWAY, 'Socket#request is the handshake IncomingMessage'),
    ).toBeInstanceOf(IncomingMessage);
    expect(
      (request as IncomingMessage).url,
      relied('engine.io', GATEWAY, 'Socket#request is the handshake request'),
    ).toMatch(/^\/socket\.io\/\?EIO=4&transport=websocket/);
    expect(
      atEngineConnection,
      relied('engine.io', POLICY, "conn.request is set when the engine emits 'connection'"),
    ).toBe(request);
    expect(
      admitted,
      relied(
        'engine.io',
        POLICY,
        'conn.request is the very IncomingMessage allowRequest admitted (its per-IP slot is keyed by it)',
      ),
    ).toEqual([request]);
    expect(socket.request, relied('socket.io', GATEWAY, 'Socket#request reads conn.request')).toBe(
      request,
    );
    expect(
      socket.handshake.headers.host,
      relied('socket.io', GATEWAY, 'the handshake headers are copied into socket.handshake'),
    ).toBe((request as IncomingMessage).headers.host);
    const holders = (owner: object): string[] =>
      Object.entries(owner)
        .filter(([, value]) => value === request)
        .map(([key]) => key);
    expect(
      [...holders(c), ...holders(c.transport ?? {}), ...holders(socket.client)],
      relied(
        'engine.io',
        GATEWAY,
        'conn.request is the only field of the connection, its transport or the socket.io Client holding the request',
      ),
    ).toEqual(['request']);

    c.request = null;
    const second = nextConnection(io, '/');
    const rootClient = manager.socket('/');
    cleanups.push(() => void rootClient.disconnect());
    await connected(rootClient);
    expect(
      (await second).handshake.headers,
      relied('socket.io', GATEWAY, 'a later namespace builds its handshake with conn.request null'),
    ).toEqual({});
    const sockets = (socket.client as unknown as { sockets?: unknown }).sockets;
    expect(
      sockets instanceof Map
        ? [...(sockets as Map<string, Socket>).values()].map((s) => s.nsp.name)
        : sockets,
      relied(
        'socket.io',
        INTERNALS,
        'Client#sockets is a Map of the Socket of each namespace open on the connection',
      ),
    ).toEqual([NSP, '/']);
    await expectQuotesDelivered(socket, client, 'the connection works after conn.request = null');
  });

  it('joins each socket to a room of its own id through adapter.addAll, which withoutSelfRooms skips', async () => {
    type RoomAdapter = { rooms: Map<string, Set<string>>; sids: Map<string, Set<string>> };
    const adapterOf = (socket: Socket): RoomAdapter => socket.nsp.adapter;
    // Stock adapter first: what the override relies on.
    const stock = await startServer();
    const stockAccepted = nextConnection(stock.io);
    await connectClient(stock.url, ['websocket']);
    const stockSocket = await stockAccepted;
    expect(
      [...(adapterOf(stockSocket).rooms.get(stockSocket.id) ?? [])],
      relied('socket.io', INTERNALS, 'a connecting socket joins the room named after its id'),
    ).toEqual([stockSocket.id]);
    expect(
      [...(adapterOf(stockSocket).sids.get(stockSocket.id) ?? [])],
      relied('socket.io', INTERNALS, "adapter.sids holds each socket's rooms as a Set"),
    ).toEqual([stockSocket.id]);

    const { io, url } = await startServer((server) => {
      type Base = Parameters<typeof withoutSelfRooms>[0];
      type AdapterClass = NonNullable<ServerOptions['adapter']>;
      server.adapter(
        withoutSelfRooms(server.adapter() as unknown as Base) as unknown as AdapterClass,
      );
      server.of('/lean');
    });
    const accepted = nextConnection(io, '/lean');
    const client = connectIo(`${url}/lean`, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
    });
    cleanups.push(() => void client.disconnect());
    await connected(client);
    const socket = await accepted;
    const adapter = adapterOf(socket);
    expect(adapter.rooms.has(socket.id)).toBe(false);
    expect(adapter.sids.get(socket.id)?.size).toBe(0);
    expect(socket.rooms.size).toBe(0);
    // A namespace broadcast walks sids: it still reaches the socket.
    const got = new Promise((resolve) => client.once('hello', resolve));
    io.of('/lean').emit('hello', 1);
    expect(await got).toBe(1);
    // Joining a real room works, and leaves the shared empty set empty.
    void socket.join('room-a');
    expect([...socket.rooms]).toEqual(['room-a']);
    expect([...(adapter.rooms.get('room-a') ?? [])]).toEqual([socket.id]);
    const roomMessage = new Promise((resolve) => client.once('in-room', resolve));
    io.of('/lean').to('room-a').emit('in-room', 2);
    expect(await roomMessage).toBe(2);
    socket.disconnect();
    await vi.waitFor(() => expect(adapter.sids.has(socket.id)).toBe(false));
    expect(adapter.rooms.has('room-a')).toBe(false);
  });

  it('keeps only the scalars of socket.handshake after trimHandshake, and the socket works', async () => {
    const { io, url } = await startServer();
    const accepted = nextConnection(io);
    const client = await connectClient(url, ['websocket']);
    const socket = await accepted;
    const { address, issued, secure, xdomain } = socket.handshake;
    expect(
      socket.handshake.headers.host,
      relied(
        'socket.io',
        GATEWAY,
        'socket.handshake is a plain, writable object holding the headers',
      ),
    ).toBeDefined();
    trimHandshake(socket);
    expect(socket.handshake).toEqual({
      headers: {},
      time: '',
      address,
      xdomain,
      secure,
      issued,
      url: '',
      query: {},
      auth: {},
    });
    expect(Object.isFrozen(socket.handshake.headers)).toBe(true);
    await expectQuotesDelivered(socket, client, 'the connection works after trimHandshake');
  });

  it('closes Engine.IO at once on conn.close(true), while ws waits for the stalled peer', async () => {
    const { conn: c, ws } = await stalledConnection();
    const engineClosed = closeReason(c);
    (c.close as (discard: boolean) => void)(true);
    await expectForcedClose(engineClosed);
    // Why cutOffConnection also resets the TCP socket: the close handshake needs the peer to read.
    expect(
      ws.readyState,
      relied(
        'ws',
        INTERNALS,
        "after close(true) ws waits (up to 30 s) for the stalled peer's close frame",
      ),
    ).toBe(WebSocket.CLOSING);
  });

  it('ends a stalled connection at once with cutOffConnection (close(true), then a reset of ws._socket)', async () => {
    const { socket, conn: c, ws } = await stalledConnection();
    const tcp = (ws as unknown as { _socket?: unknown })._socket;
    expect(tcp, relied('ws', CUT_OFF, 'WebSocket#_socket is its net.Socket')).toBeInstanceOf(
      TcpSocket,
    );
    expect(
      typeof (tcp as TcpSocket).resetAndDestroy,
      `Node ${process.version}: net.Socket#resetAndDestroy exists (${CUT_OFF} relies on this)`,
    ).toBe('function');
    const engineClosed = closeReason(c);
    const wsClosed = emitsWithin(ws, 'close', 2000);

    cutOffConnection(socket);

    await expectForcedClose(engineClosed);
    expect(
      await wsClosed,
      relied(
        'ws',
        CUT_OFF,
        'resetting WebSocket#_socket closes a stalled WebSocket at once, not after 30 s',
      ),
    ).toBe(true);
    expect(ws.readyState, relied('ws', CUT_OFF, 'the WebSocket is then CLOSED')).toBe(
      WebSocket.CLOSED,
    );
  });

  it('hands allowRequest the request handleUpgrade got, and reports neither connection nor connection_error when the handshake then dies', async () => {
    const upgraded: IncomingMessage[] = [];
    const events: string[] = [];
    const { url, admitted } = await startServer((io) => {
      const engine = io.engine as unknown as {
        handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
      };
      const inner = engine.handleUpgrade.bind(engine);
      engine.handleUpgrade = (req, socket, head) => {
        upgraded.push(req);
        inner(req, socket, head);
      };
      io.engine.on('connection', () => events.push('connection'));
      io.engine.on('connection_error', () => events.push('connection_error'));
    });
    const aborted = await rawUpgrade(url, '/socket.io/?EIO=4&transport=websocket', 'not-a-key');
    // A new handshake naming the polling transport: ws completes it, then Engine.IO closes it.
    const closed = await rawUpgrade(url, '/socket.io/?EIO=4&transport=polling', WS_KEY);

    expect(
      [aborted.status, closed.status],
      relied('ws', ADAPTER, 'a malformed Sec-WebSocket-Key is a 400; a valid one a 101'),
    ).toEqual([400, 101]);
    expect(
      admitted,
      relied(
        'engine.io',
        ADAPTER,
        'allowRequest runs for both upgrades and receives the very IncomingMessage handleUpgrade got (the key of its TCP socket)',
      ),
    ).toEqual(upgraded);
    expect(admitted).toHaveLength(2);
    expect(
      events,
      relied(
        'engine.io',
        ADAPTER,
        'neither a handshake ws aborts after allowRequest nor a polling one over a WebSocket emits connection or connection_error (so only the TCP socket closing can free its slot)',
      ),
    ).toEqual([]);
  });

  it("adds one 'upgrade' listener that ends other paths' upgrades after destroyUpgradeTimeout, which keepWsUpgradesFromEngine keeps /ws upgrades from", async () => {
    const DESTROY_MS = 50;
    /** What a stand-in for WsEndpoint (added after Engine.IO, never answering) saw per upgrade. */
    interface Seen {
      url: string | undefined;
      errorListeners: number;
    }
    async function server(
      patched: boolean,
    ): Promise<{ io: Server; url: string; seen: Seen[]; replaced?: number }> {
      const seen: Seen[] = [];
      let replaced: number | undefined;
      const { io, url } = await startServer(
        (_io, http) => {
          if (patched) replaced = keepWsUpgradesFromEngine(http, new Set());
          http.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
            seen.push({ url: req.url, errorListeners: socket.listenerCount('error') });
            // Nobody answers: the test ends it (the HTTP server keeps half-open sockets open).
            cleanups.push(() => void socket.destroy());
          });
        },
        { destroyUpgradeTimeout: DESTROY_MS },
      );
      return { io, url, seen, replaced };
    }
    const bound = DESTROY_MS * 4 + 200;

    const stock = await server(false);
    const stockWs = await rawUpgrade(stock.url, '/ws', WS_KEY, bound);
    const patched = await server(true);
    const patchedWs = await rawUpgrade(patched.url, '/ws?token=x', WS_KEY, bound);
    const patchedOther = await rawUpgrade(patched.url, '/elsewhere', WS_KEY, bound);

    expect(
      patched.replaced,
      relied('engine.io', ADAPTER, "attach adds exactly one 'upgrade' listener to the HTTP server"),
    ).toBe(1);
    expect(
      stockWs.endedByServer,
      relied(
        'engine.io',
        ADAPTER,
        'its listener ends an upgrade outside its path that nothing answered within destroyUpgradeTimeout',
      ),
    ).toBe(true);
    expect(
      stock.seen.map((s) => s.errorListeners),
      relied('engine.io', ADAPTER, "and adds an 'error' listener to that upgrade's socket"),
    ).toEqual([1]);
    expect(
      patchedWs.endedByServer,
      'keepWsUpgradesFromEngine: Engine.IO never ends a /ws upgrade',
    ).toBe(false);
    expect(
      patched.seen.map((s) => [s.url, s.errorListeners]),
      "keepWsUpgradesFromEngine: Engine.IO adds no listener to a /ws upgrade's socket",
    ).toEqual([
      ['/ws?token=x', 0],
      ['/elsewhere', 1],
    ]);
    expect(patchedOther.endedByServer, "other paths are still Engine.IO's to end").toBe(true);

    const accepted = nextConnection(patched.io);
    const client = await connectClient(patched.url, ['websocket']);
    await expectQuotesDelivered(await accepted, client, 'Socket.IO upgrades still reach Engine.IO');
  });

  it('resets a bare ws server WebSocket (as /ws holds it) with resetWebSocket: the peer sees an RST', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
    cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    await once(wss, 'listening');
    const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
    // A hand-made peer: a ws client would swallow its socket's ECONNRESET.
    const peer = tcpConnect({ host: '127.0.0.1', port: (wss.address() as AddressInfo).port });
    cleanups.push(() => void peer.destroy());
    const peerError = new Promise<string | undefined>((resolve) => {
      peer.once('error', (err: NodeJS.ErrnoException) => resolve(err.code));
      peer.once('close', () => resolve(undefined));
    });
    await once(peer, 'connect');
    peer.write(
      `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${WS_KEY}\r\n\r\n`,
    );
    const [ws] = await accepted;
    // Reset once the peer has read the 101, as in production (a reset within a millisecond of
    // it reaches a Node peer on loopback that has not read yet as a plain end of stream).
    await once(peer, 'data');
    expect(
      (ws as unknown as { _socket?: unknown })._socket,
      relied('ws', RESET, 'a WebSocketServer WebSocket#_socket is its net.Socket'),
    ).toBeInstanceOf(TcpSocket);
    const closed = emitsWithin(ws, 'close', 2000);

    resetWebSocket(ws);

    expect(await closed, relied('ws', RESET, 'the reset WebSocket closes at once')).toBe(true);
    expect(
      await peerError,
      relied('ws', RESET, 'the peer sees the connection reset, not a close handshake or a FIN'),
    ).toBe('ECONNRESET');
  });
});

/**
 * A Socket.IO connection over a bare ws client that joins the namespace and
 * then stops reading, like a stalled browser tab, with a packet waiting in
 * the server's queue.
 */
async function stalledConnection(): Promise<{ socket: Socket; conn: ProbedConn; ws: WebSocket }> {
  const { io, url } = await startServer();
  const accepted = nextConnection(io);
  const peer = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`, {
    perMessageDeflate: false,
  });
  cleanups.push(() => peer.terminate());
  await once(peer, 'message'); // Engine.IO open
  peer.send(`40${NSP},`);
  const socket = await accepted;
  await once(peer, 'message'); // Socket.IO CONNECT ack
  peer.pause();
  const c = conn(socket);
  c.write('first');
  c.write('second');
  expect(
    c.writeBuffer?.length,
    relied('engine.io', INTERNALS, 'a second write waits in writeBuffer while the first is sent'),
  ).toBeGreaterThanOrEqual(1);
  return { socket, conn: c, ws: rawWs(c) as WebSocket };
}

/** The reason Engine.IO gives when it closes `c` (register before closing). */
function closeReason(c: ProbedConn): Promise<string> {
  return new Promise((resolve) => c.once('close', resolve));
}

/** Engine.IO closed the session itself, at once, with packets still in its queue. */
async function expectForcedClose(reason: Promise<string>): Promise<void> {
  expect(
    await reason,
    relied(
      'engine.io',
      INTERNALS,
      'close(true) closes now, without waiting for writeBuffer to drain',
    ),
  ).toBe('forced close');
}

/** A valid Sec-WebSocket-Key. */
const WS_KEY = Buffer.alloc(16, 7).toString('base64');

interface RawUpgradeResult {
  /** HTTP status of the server's answer, if any came. */
  status: number | undefined;
  /** The server ended or closed the connection within the bound. */
  endedByServer: boolean;
}

/**
 * One hand-written upgrade request on a fresh TCP connection; waits up to
 * `ms` for the server to end it (a 101 is not waited on further).
 */
async function rawUpgrade(
  url: string,
  target: string,
  key: string,
  ms = 2000,
): Promise<RawUpgradeResult> {
  const { hostname, port } = new URL(url);
  const socket = tcpConnect({ host: hostname, port: Number(port) });
  cleanups.push(() => void socket.destroy());
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  let response = '';
  let timer: NodeJS.Timeout | undefined;
  const ended = new Promise<boolean>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      response += chunk.toString('latin1');
      if (response.startsWith('HTTP/1.1 101')) resolve(false);
    });
    socket.once('end', () => resolve(true));
    socket.once('close', () => resolve(true));
    timer = setTimeout(() => resolve(false), ms);
  });
  socket.write(
    `GET ${target} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: Upgrade\r\n` +
      `Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n\r\n`,
  );
  const endedByServer = await ended;
  clearTimeout(timer);
  socket.destroy();
  const status = /^HTTP\/1\.1 (\d{3})/.exec(response)?.[1];
  return { status: status === undefined ? undefined : Number(status), endedByServer };
}
