/**
 * Reference server **naive**: the classic Socket.IO tutorial grown to
 * subscriptions. Every tick is emitted, as it happens, to every client that
 * holds its symbol, one `socket.emit` per client: no conflation, no shared
 * encoding. Same env, feed and wire contract as ours.
 */
import { createServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import { MARKET_NAMESPACE, toIntervalTier } from '../../src/shared/protocol.js';
import { ReferenceMarket } from './reference-market.js';

const market = new ReferenceMarket();
const { config } = market;

const http = createServer();
const io = new Server(http, {
  path: '/socket.io',
  transports: ['websocket'],
  perMessageDeflate: false,
  serveClient: false,
  maxHttpBufferSize: config.maxPayloadBytes,
  // tickstream's heartbeat, so every server does the same work.
  pingInterval: config.pingIntervalMs,
  pingTimeout: config.pingTimeoutMs,
});

/** Per symbol slot: the sockets subscribed to it. */
const subscribers: Set<Socket>[] = market.instruments.map(() => new Set<Socket>());

io.of(MARKET_NAMESPACE).on('connection', (socket) => {
  const held = new Set<number>();
  socket.on('subscribe', (body: unknown, ack?: (res: unknown) => void) => {
    const resolved = market.resolve(body);
    if (!resolved) {
      ack?.({ ok: false, error: { code: 'BAD_REQUEST', message: 'bad subscribe' } });
      return;
    }
    for (const slot of resolved.slots) {
      held.add(slot);
      subscribers[slot].add(socket);
    }
    const req = body as { intervalMs?: number };
    ack?.({
      ok: true,
      intervalMs: toIntervalTier(req.intervalMs ?? config.defaultIntervalMs),
      snapshot: resolved.snapshot,
      rejected: resolved.rejected,
    });
  });
  socket.on('disconnect', () => {
    for (const slot of held) subscribers[slot].delete(socket);
  });
});

market.simulator.ticks$.subscribe((tick) => {
  const slot = market.apply(tick);
  const audience = subscribers[slot];
  if (audience.size === 0) return;
  const quote = market.quote(slot, {
    o: tick.price,
    h: tick.price,
    l: tick.price,
    v: tick.size,
    n: 1,
  });
  for (const socket of audience) socket.emit('quotes', [quote]);
});

http.listen(config.port, config.host, () => {
  market.simulator.start();
  process.stdout.write(`naive listening on ${config.host}:${config.port}\n`);
});
