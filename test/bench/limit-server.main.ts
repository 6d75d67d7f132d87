/**
 * Reference server **limit**: the floor for this work in Node. A bare `ws`
 * server that speaks just enough Engine.IO/Socket.IO for the same clients,
 * keeps one window aggregate per (symbol, tier), and at the end of every
 * window serialises each changed symbol once, then sends each client one
 * frame holding all its symbols.
 * Same env, feed and quote content as ours.
 */
import { randomBytes } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import { MARKET_NAMESPACE, toIntervalTier } from '../../src/shared/protocol.js';
import { encodeSocketIoQuotesFrame } from '../../src/shared/quote-frames.js';
import { decodeSioPacket, EIO, encodeSioFrame, SIO } from '../support/socket-io-codec.js';
import { ReferenceMarket } from './reference-market.js';

/** The same heartbeat as tickstream's defaults (PING_INTERVAL_MS / PING_TIMEOUT_MS), so both do the same work. */
const PING_INTERVAL_MS = 10_000;
const PING_TIMEOUT_MS = 10_000;

const market = new ReferenceMarket();
const { config } = market;
const nsp = MARKET_NAMESPACE;
const n = market.instruments.length;

interface Client {
  ws: WebSocket;
  slots: number[];
  tier: Tier | undefined;
}

/** One update tier: its clients and the open window of every symbol. */
class Tier {
  readonly clients = new Set<Client>();
  readonly o = new Float64Array(n);
  readonly h = new Float64Array(n);
  readonly l = new Float64Array(n);
  readonly v = new Float64Array(n);
  readonly count = new Float64Array(n);
  private readonly json: (string | undefined)[] = new Array<string | undefined>(n);
  private readonly timer: NodeJS.Timeout;

  constructor(readonly ms: number) {
    this.timer = setInterval(() => this.flush(), ms);
  }

  add(slot: number, price: number, size: number): void {
    if (this.count[slot] === 0) {
      this.o[slot] = this.h[slot] = this.l[slot] = price;
      this.v[slot] = size;
    } else {
      if (price > this.h[slot]) this.h[slot] = price;
      if (price < this.l[slot]) this.l[slot] = price;
      this.v[slot] += size;
    }
    this.count[slot]++;
  }

  private flush(): void {
    if (this.clients.size === 0) return;
    const json = this.json;
    for (let i = 0; i < n; i++) {
      if (this.count[i] === 0) {
        json[i] = undefined;
        continue;
      }
      const win = { o: this.o[i], h: this.h[i], l: this.l[i], v: this.v[i], n: this.count[i] };
      json[i] = JSON.stringify(market.quote(i, win));
      this.count[i] = 0;
    }
    // Each frame is built right before it is written and dropped right after: keeping a
    // window's frames (say, to share one between clients holding the same symbols) keeps
    // thousands of them alive across young-generation GCs, which promotes them and costs
    // more than it saves (random symbol sets are almost never identical).
    const parts: string[] = [];
    for (const client of this.clients) {
      parts.length = 0;
      for (const slot of client.slots) {
        const j = json[slot];
        if (j !== undefined) parts.push(j);
      }
      // The same encoder as ours: byte for byte the frame the real server writes.
      if (parts.length > 0) client.ws.send(encodeSocketIoQuotesFrame(parts));
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}

const tiers = new Map<number, Tier>();
const clients = new Set<Client>();

function tierOf(ms: number): Tier {
  let tier = tiers.get(ms);
  if (!tier) {
    tier = new Tier(ms);
    tiers.set(ms, tier);
  }
  return tier;
}

market.simulator.ticks$.subscribe((tick) => {
  const slot = market.apply(tick);
  for (const tier of tiers.values()) tier.add(slot, tick.price, tick.size);
});

const wss = new WebSocketServer({
  host: config.host,
  port: config.port,
  path: '/socket.io/',
  perMessageDeflate: false,
  clientTracking: false,
  maxPayload: config.maxPayloadBytes,
});

wss.on('connection', (ws) => {
  const client: Client = { ws, slots: [], tier: undefined };
  clients.add(client);
  const sid = randomBytes(12).toString('base64url');
  ws.send(
    EIO.OPEN +
      JSON.stringify({
        sid,
        upgrades: [],
        pingInterval: PING_INTERVAL_MS,
        pingTimeout: PING_TIMEOUT_MS,
        maxPayload: 1e6,
      }),
  );
  ws.on('message', (data: Buffer) => {
    const frame = data.toString();
    if (frame.charAt(0) !== EIO.MESSAGE) return; // pongs and the rest: nothing to do
    let packet;
    try {
      packet = decodeSioPacket(frame.slice(1));
    } catch {
      ws.terminate();
      return;
    }
    if (packet.nsp !== nsp) return;
    if (packet.type === SIO.CONNECT) {
      ws.send(
        encodeSioFrame({
          type: SIO.CONNECT,
          nsp,
          data: { sid: randomBytes(12).toString('base64url') },
        }),
      );
      return;
    }
    const args = packet.data;
    if (packet.type !== SIO.EVENT || !Array.isArray(args) || args[0] !== 'subscribe') return;
    const body: unknown = args[1];
    const resolved = market.resolve(body);
    let ack: unknown;
    if (!resolved) {
      ack = { ok: false, error: { code: 'BAD_REQUEST', message: 'bad subscribe' } };
    } else {
      const req = body as { intervalMs?: number };
      const ms = toIntervalTier(req.intervalMs ?? config.defaultIntervalMs);
      client.tier?.clients.delete(client);
      client.slots = [...new Set([...client.slots, ...resolved.slots])].sort((a, b) => a - b);
      client.tier = tierOf(ms);
      client.tier.clients.add(client);
      ack = { ok: true, intervalMs: ms, snapshot: resolved.snapshot, rejected: resolved.rejected };
    }
    if (packet.id !== undefined)
      ws.send(encodeSioFrame({ type: SIO.ACK, nsp, id: packet.id, data: [ack] }));
  });
  ws.on('close', () => {
    client.tier?.clients.delete(client);
    clients.delete(client);
  });
  ws.on('error', () => ws.terminate());
});

setInterval(() => {
  for (const client of clients) client.ws.send(EIO.PING);
}, PING_INTERVAL_MS);

wss.on('listening', () => {
  market.simulator.start();
  process.stdout.write(`limit listening on ${config.host}:${config.port}\n`);
});
