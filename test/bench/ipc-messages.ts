/**
 * Messages between the bench runner and its child processes (load-generator
 * workers and the probe preloaded into every server), over Node's IPC channel.
 */

export type LoadgenTransport = 'socket.io' | 'ws';

/** What one load-generator process runs. */
export interface LoadgenConfig {
  worker: number;
  host: string;
  port: number;
  /**
   * What the clients speak: `socket.io` (Engine.IO v4 / Socket.IO v5 over a
   * WebSocket, namespace {@link nsp}) or `ws` (the plain JSON protocol of
   * `src/shared/ws-protocol.ts`).
   */
  transport: LoadgenTransport;
  /** Socket.IO namespace, e.g. `/market` (socket.io only). */
  nsp: string;
  /** The WebSocket request target, e.g. `/socket.io/?EIO=4&transport=websocket` or `/ws`. */
  path: string;
  /** Every symbol of the universe, in a stable order (indexes are per-symbol slots). */
  universe: string[];
  /** This process's share of the clients, each with its subscription. */
  clients: { id: number; symbols: string[] }[];
  intervalMs: number;
  /** Local addresses to connect from (127.0.0.x), round-robin by client id. */
  sourceAddresses: string[];
  /** New connections per second for this process. */
  rampPerSecond: number;
  /** Handshakes in progress at once, so a slow server is not flooded with SYNs. */
  maxInFlight: number;
  /** A client not subscribed this long after its connect attempt counts as failed. */
  connectTimeoutMs: number;
  /** The whole ramp ends by then: clients not yet subscribed count as failed. */
  rampTimeoutMs: number;
}

export type ToWorker =
  | { kind: 'start'; config: LoadgenConfig }
  | { kind: 'measure-start' }
  | { kind: 'measure-stop' }
  | { kind: 'shutdown' };

export interface RampReport {
  worker: number;
  attempted: number;
  subscribed: number;
  failed: number;
  /** From the first connect attempt to the last subscribe ack (or failure), ms. */
  rampMs: number;
  failureReasons: Record<string, number>;
}

/** Everything one process saw during the measurement window. */
export interface MeasureReport {
  worker: number;
  /** Measurement window as this process saw it (ms since epoch). */
  startMs: number;
  endMs: number;
  /** Clients subscribed when measuring began, and their accepted symbol subscriptions. */
  clientsAtStart: number;
  subscriptionsAtStart: number;
  /** Subscriptions per symbol slot (universe order). */
  subscriptionsPerSymbol: number[];
  quotes: number;
  frames: number;
  bytes: number;
  /** A quote whose seq is below the last one this client saw for that symbol. */
  seqRegressions: number;
  /** A quote whose seq equals the last one this client saw for that symbol. */
  seqDuplicates: number;
  /** Sum of seq jumps beyond +1: ticks a non-conflating server skipped. */
  seqSkipped: number;
  /** Update windows that passed with no quote for a subscribed symbol (inter-arrival > 1.5 windows). */
  missedWindows: number;
  /** Quotes for symbols the client never subscribed to. */
  unexpected: number;
  /** Connections lost while measuring. */
  drops: number;
  /** HDR histogram of receive time − quote ts, compressed base64, µs. */
  staleness: string;
  /** Per symbol slot: [first seq, its ts, last seq, its ts] seen while measuring (0 when none). */
  feedSpan: [number, number, number, number][];
  /** This process's own health: if it saturates, the numbers above are its limit, not the server's. */
  cpuPercent: number;
  loopDelayP99Ms: number;
  rssBytes: number;
}

export type FromWorker =
  | { kind: 'ramped'; report: RampReport }
  | { kind: 'measured'; report: MeasureReport }
  | { kind: 'fatal'; message: string };

/** Probe preloaded into every server (ours and the references). */
export type ToProbe = { probe: 'reset' } | { probe: 'read' } | { probe: 'gc' } | { probe: 'exit' };

export interface LoopDelayStats {
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

export type FromProbe =
  | { probe: 'ready'; pid: number }
  | { probe: 'reset-done' }
  | { probe: 'stats'; loop: LoopDelayStats }
  | {
      probe: 'gc-done';
      rssBytes: number;
      heapUsedBytes: number;
      heapTotalBytes: number;
      /** Memory of Buffers and other ArrayBuffers, outside the V8 heap. */
      externalBytes: number;
    };
