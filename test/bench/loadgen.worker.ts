/**
 * One load-generator process: opens its share of the clients as raw
 * WebSockets speaking Engine.IO v4 / Socket.IO v5 or the plain `/ws` JSON
 * protocol, subscribes each, and counts what arrives. Driven by the runner over IPC (see ipc-messages.ts);
 * exits by itself when the runner goes away.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { WsServerMessage, WsSubscribeMessage } from '../../src/shared/ws-protocol.js';
import { decodeSioPacket, EIO, encodeSioFrame, SIO } from '../support/socket-io-codec.js';
import type {
  FromWorker,
  LoadgenConfig,
  MeasureReport,
  RampReport,
  ToWorker,
} from './ipc-messages.js';
import { LeanWebSocket } from './lean-websocket.js';
import {
  type QuotesFrameFormat,
  scanQuotesFrame,
  SOCKET_IO_QUOTES_FRAME,
  WS_QUOTES_FRAME,
} from './quote-scanner.js';
import { ClientTrack, QuoteTracker, type TrackedQuote } from './quote-tracker.js';

const SUBSCRIBE_ACK_ID = 1;

function send(msg: FromWorker): void {
  process.send?.(msg);
}

/** Wall clock with sub-millisecond resolution (quote `ts` is whole ms of the same clock). */
const nowMs = (): number => performance.timeOrigin + performance.now();

type ClientState = 'connecting' | 'subscribed' | 'failed' | 'closed';

/** The subscribe ack as both transports carry it (the fields the load generator reads). */
interface AckBody {
  ok?: boolean;
  snapshot?: TrackedQuote[];
  rejected?: { symbol: string }[];
}

class LoadGenerator {
  private readonly tracker: QuoteTracker;
  /** Reused by every frame: the scanner fills it in place. */
  private readonly scratch: TrackedQuote[] = [];
  /** How quotes frames look on this transport. */
  private readonly format: QuotesFrameFormat;
  private readonly sockets: (LeanWebSocket | undefined)[] = [];
  private readonly states: ClientState[] = [];
  private readonly tracks: (ClientTrack | undefined)[] = [];
  private readonly subscriptions: number[] = [];
  private readonly failureReasons: Record<string, number> = {};
  private readonly loop = monitorEventLoopDelay({ resolution: 10 });
  private attempted = 0;
  private settled = 0;
  private subscribed = 0;
  private failed = 0;
  private drops = 0;
  private rampStart = 0;
  private rampTimer: NodeJS.Timeout | undefined;
  private measuredSince = 0;
  private cpuAtStart = process.cpuUsage();
  private clientsAtStart = 0;
  private subscriptionsAtStart = 0;
  private subscriptionsPerSymbol: number[] = [];
  private rampDeadline: NodeJS.Timeout | undefined;
  private progressTimer: NodeJS.Timeout | undefined;
  /** Set when the ramp deadline passed: no new connection is opened after it. */
  private rampClosed = false;
  private shuttingDown = false;

  constructor(private readonly config: LoadgenConfig) {
    this.tracker = new QuoteTracker(config.universe, config.intervalMs);
    this.format = config.transport === 'ws' ? WS_QUOTES_FRAME : SOCKET_IO_QUOTES_FRAME;
  }

  start(): void {
    this.loop.enable();
    this.rampStart = Date.now();
    const tickMs = 10;
    this.rampTimer = setInterval(() => this.rampStep(), tickMs);
    this.progressTimer = setInterval(() => this.progress(), 5000);
    // However the server behaves, the ramp ends: clients still pending then have failed.
    this.rampDeadline = setTimeout(() => this.abandonRamp(), this.config.rampTimeoutMs);
    this.rampStep();
  }

  private abandonRamp(): void {
    this.rampClosed = true;
    if (this.rampTimer) clearInterval(this.rampTimer);
    this.rampTimer = undefined;
    const total = this.config.clients.length;
    for (let i = 0; i < total; i++) {
      if (i >= this.attempted) {
        this.states[i] = 'connecting';
        this.attempted++;
      }
      this.fail(i, 'ramp timeout');
    }
  }

  private progress(): void {
    const total = this.config.clients.length;
    process.stderr.write(
      `[loadgen ${this.config.worker}] ${this.attempted}/${total} attempted, ${this.subscribed} subscribed, ${this.failed} failed\n`,
    );
  }

  private rampStep(): void {
    if (this.rampClosed) return;
    const { clients, rampPerSecond, maxInFlight } = this.config;
    const due = Math.min(
      clients.length,
      Math.ceil(((Date.now() - this.rampStart) * rampPerSecond) / 1000),
    );
    while (this.attempted < due && this.attempted - this.settled < maxInFlight) {
      this.open(this.attempted++);
    }
    if (this.attempted >= clients.length && this.rampTimer) {
      clearInterval(this.rampTimer);
      this.rampTimer = undefined;
    }
  }

  private open(index: number): void {
    const { clients, sourceAddresses, connectTimeoutMs, host, port, path } = this.config;
    const spec = clients[index];
    this.states[index] = 'connecting';
    const timeout = setTimeout(() => this.fail(index, 'timeout'), connectTimeoutMs);
    const ws = new LeanWebSocket(
      {
        host,
        port,
        path,
        localAddress: sourceAddresses[spec.id % sourceAddresses.length],
      },
      {
        open: () => {},
        message: (buf, start, end) => {
          // latin1: no UTF-8 decoding or validation; every field read is ASCII.
          const frame = buf.toString('latin1', start, end);
          if (this.states[index] === 'subscribed') {
            let count: number;
            try {
              count = scanQuotesFrame(frame, this.format, this.scratch);
            } catch {
              this.reason('malformed quotes frame');
              return;
            }
            if (count >= 0) {
              this.tracker.frame(this.tracks[index]!, this.scratch, count, end - start, nowMs());
              return;
            }
          }
          const text = buf.toString('utf8', start, end);
          if (this.config.transport === 'ws') this.controlWs(index, ws, text, timeout);
          else this.controlSio(index, ws, text, timeout);
        },
        closed: (reason) => {
          clearTimeout(timeout);
          const state = this.states[index];
          if (state === 'connecting') this.fail(index, reason);
          else if (state === 'subscribed') {
            this.states[index] = 'closed';
            if (!this.shuttingDown) this.drops++;
          }
        },
      },
    );
    this.sockets[index] = ws;
  }

  /** A Socket.IO control frame: heartbeat, namespace connect, the subscribe ack. */
  private controlSio(
    index: number,
    ws: LeanWebSocket,
    frame: string,
    timeout: NodeJS.Timeout,
  ): void {
    const type = frame.charAt(0);
    if (type === EIO.PING) {
      ws.send(EIO.PONG);
      return;
    }
    if (type === EIO.OPEN) {
      ws.send(encodeSioFrame({ type: SIO.CONNECT, nsp: this.config.nsp }));
      return;
    }
    if (type === EIO.CLOSE) {
      ws.terminate();
      return;
    }
    if (type !== EIO.MESSAGE) return;
    let packet;
    try {
      packet = decodeSioPacket(frame.slice(1));
    } catch {
      this.fail(index, 'bad frame');
      return;
    }
    if (packet.nsp !== this.config.nsp) return;
    if (packet.type === SIO.CONNECT) {
      const symbols = this.config.clients[index].symbols;
      ws.send(
        encodeSioFrame({
          type: SIO.EVENT,
          nsp: this.config.nsp,
          id: SUBSCRIBE_ACK_ID,
          data: ['subscribe', { symbols, intervalMs: this.config.intervalMs }],
        }),
      );
    } else if (packet.type === SIO.CONNECT_ERROR) {
      this.fail(index, 'connect_error');
    } else if (packet.type === SIO.ACK && packet.id === SUBSCRIBE_ACK_ID) {
      clearTimeout(timeout);
      this.onAck(index, (Array.isArray(packet.data) ? packet.data[0] : undefined) as AckBody);
    } else if (packet.type === SIO.EVENT && this.states[index] === 'subscribed') {
      // An event other than `quotes` (e.g. `exception`): not expected under load.
      this.tracker.unexpected++;
    }
  }

  /**
   * A `/ws` control message: `welcome` (then subscribe), the subscribe `ack`,
   * `exception`. Heartbeats are WebSocket pings, answered by the socket.
   */
  private controlWs(
    index: number,
    ws: LeanWebSocket,
    frame: string,
    timeout: NodeJS.Timeout,
  ): void {
    let message: WsServerMessage;
    try {
      message = JSON.parse(frame) as WsServerMessage;
    } catch {
      this.fail(index, 'bad frame');
      return;
    }
    const state = this.states[index];
    switch (message?.type) {
      case 'welcome':
        if (state !== 'connecting') return;
        ws.send(
          JSON.stringify({
            type: 'subscribe',
            id: SUBSCRIBE_ACK_ID,
            symbols: this.config.clients[index].symbols,
            intervalMs: this.config.intervalMs,
          } satisfies WsSubscribeMessage),
        );
        return;
      case 'ack':
        if (message.id !== SUBSCRIBE_ACK_ID || state !== 'connecting') return;
        clearTimeout(timeout);
        this.onAck(index, message);
        return;
      case 'exception':
        // Refused before the ack (the ack follows with ok: false): name the code.
        if (state === 'connecting') this.fail(index, `exception ${message.error?.code}`);
        else if (state === 'subscribed') this.tracker.unexpected++;
        return;
      case 'pong':
      case 'shutdown':
        return;
      default:
        if (state === 'subscribed') this.tracker.unexpected++;
    }
  }

  private onAck(index: number, ack: AckBody | undefined): void {
    if (!ack || ack.ok !== true) {
      this.fail(index, 'subscribe refused');
      return;
    }
    const rejected = new Set((ack.rejected ?? []).map((r) => r.symbol));
    const slots: number[] = [];
    for (const symbol of this.config.clients[index].symbols) {
      const slot = this.tracker.slot(symbol);
      if (slot !== undefined && !rejected.has(symbol)) slots.push(slot);
    }
    if (rejected.size > 0) this.reason(`rejected ${rejected.size} symbol(s)`);
    const track = new ClientTrack(this.config.universe.length, slots);
    this.tracks[index] = track;
    this.tracker.seed(track, ack.snapshot ?? [], nowMs());
    this.subscriptions[index] = slots.length;
    this.states[index] = 'subscribed';
    this.subscribed++;
    this.settle();
  }

  private reason(reason: string): void {
    this.failureReasons[reason] = (this.failureReasons[reason] ?? 0) + 1;
  }

  private fail(index: number, reason: string): void {
    if (this.states[index] !== 'connecting') return;
    this.states[index] = 'failed';
    this.failed++;
    this.reason(reason);
    this.sockets[index]?.terminate();
    this.sockets[index] = undefined;
    this.settle();
  }

  private settle(): void {
    this.settled++;
    this.rampStep();
    if (this.settled === this.config.clients.length) {
      clearInterval(this.progressTimer);
      clearTimeout(this.rampDeadline);
      const report: RampReport = {
        worker: this.config.worker,
        attempted: this.attempted,
        subscribed: this.subscribed,
        failed: this.failed,
        rampMs: Date.now() - this.rampStart,
        failureReasons: this.failureReasons,
      };
      send({ kind: 'ramped', report });
    }
  }

  measureStart(): void {
    this.tracker.startMeasuring();
    this.drops = 0;
    this.loop.reset();
    this.cpuAtStart = process.cpuUsage();
    this.measuredSince = Date.now();
    this.clientsAtStart = 0;
    this.subscriptionsAtStart = 0;
    this.subscriptionsPerSymbol = new Array<number>(this.config.universe.length).fill(0);
    this.states.forEach((state, i) => {
      if (state !== 'subscribed') return;
      this.clientsAtStart++;
      this.subscriptionsAtStart += this.subscriptions[i];
      for (const slot of this.tracks[i]!.slots) this.subscriptionsPerSymbol[slot]++;
    });
  }

  measureStop(): void {
    const t = this.tracker;
    t.measuring = false;
    const end = Date.now();
    const cpu = process.cpuUsage(this.cpuAtStart);
    const spans: [number, number, number, number][] = this.config.universe.map((_, i) => [
      t.firstSeq[i],
      t.firstTs[i],
      t.lastSeq[i],
      t.lastTs[i],
    ]);
    const report: MeasureReport = {
      worker: this.config.worker,
      startMs: this.measuredSince,
      endMs: end,
      clientsAtStart: this.clientsAtStart,
      subscriptionsAtStart: this.subscriptionsAtStart,
      subscriptionsPerSymbol: this.subscriptionsPerSymbol,
      quotes: t.quotes,
      frames: t.frames,
      bytes: t.bytes,
      seqRegressions: t.seqRegressions,
      seqDuplicates: t.seqDuplicates,
      seqSkipped: t.seqSkipped,
      missedWindows: t.missedWindows,
      unexpected: t.unexpected,
      drops: this.drops,
      staleness: t.staleness.encode(),
      feedSpan: spans,
      cpuPercent: (cpu.user + cpu.system) / 10 / Math.max(1, end - this.measuredSince),
      loopDelayP99Ms: Math.round(this.loop.percentile(99) / 1e4) / 100,
      rssBytes: process.memoryUsage.rss(),
    };
    send({ kind: 'measured', report });
  }

  shutdown(): void {
    this.shuttingDown = true;
    if (this.rampTimer) clearInterval(this.rampTimer);
    for (const ws of this.sockets) ws?.terminate();
    setTimeout(() => process.exit(0), 200).unref();
  }
}

let generator: LoadGenerator | undefined;

process.on('message', (raw: unknown) => {
  const msg = raw as ToWorker;
  try {
    switch (msg.kind) {
      case 'start':
        generator = new LoadGenerator(msg.config);
        generator.start();
        break;
      case 'measure-start':
        generator?.measureStart();
        break;
      case 'measure-stop':
        generator?.measureStop();
        break;
      case 'shutdown':
        if (generator) generator.shutdown();
        else process.exit(0);
        break;
    }
  } catch (err) {
    send({
      kind: 'fatal',
      message: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
  }
});

// The runner owns this process: when it goes, so do we.
process.on('disconnect', () => process.exit(0));
