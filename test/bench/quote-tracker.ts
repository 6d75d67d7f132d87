import { LatencyHistogram } from './latency-stats.js';

/** The fields of a quote the load generator checks; the rest is only parsed. */
export interface TrackedQuote {
  symbol: string;
  seq: number;
  ts: number;
}

/** Per-connection view: which universe slots it holds, and the last seq and arrival of each. */
export class ClientTrack {
  /** Universe slot → position in this client's list, or -1. */
  readonly positionOf: Int16Array;
  readonly lastSeq: Float64Array;
  readonly lastArrival: Float64Array;

  constructor(
    universeSize: number,
    readonly slots: readonly number[],
  ) {
    this.positionOf = new Int16Array(universeSize).fill(-1);
    slots.forEach((slot, i) => (this.positionOf[slot] = i));
    this.lastSeq = new Float64Array(slots.length);
    this.lastArrival = new Float64Array(slots.length);
  }
}

/**
 * Counts and checks every quote one load-generator process receives: totals,
 * staleness histogram, seq order per (client, symbol), missed windows, and
 * the per-symbol seq span that reveals the server's real feed rate.
 *
 * Only quotes that arrive while {@link measuring} count; seq order is tracked
 * all the time so the first measured quote is compared with the one before.
 */
export class QuoteTracker {
  measuring = false;
  quotes = 0;
  frames = 0;
  bytes = 0;
  seqRegressions = 0;
  seqDuplicates = 0;
  seqSkipped = 0;
  missedWindows = 0;
  unexpected = 0;
  readonly staleness = new LatencyHistogram();
  /** Per slot: first seq and ts, last seq and ts seen while measuring. */
  readonly firstSeq: Float64Array;
  readonly firstTs: Float64Array;
  readonly lastSeq: Float64Array;
  readonly lastTs: Float64Array;
  private readonly slotOf = new Map<string, number>();
  /** An inter-arrival longer than this means at least one window went by empty. */
  private readonly missedAfterMs: number;

  constructor(
    readonly universe: readonly string[],
    readonly intervalMs: number,
  ) {
    universe.forEach((symbol, i) => this.slotOf.set(symbol, i));
    this.firstSeq = new Float64Array(universe.length);
    this.firstTs = new Float64Array(universe.length);
    this.lastSeq = new Float64Array(universe.length);
    this.lastTs = new Float64Array(universe.length);
    this.missedAfterMs = 1.5 * intervalMs;
  }

  slot(symbol: string): number | undefined {
    return this.slotOf.get(symbol);
  }

  /** Zeroes the counters and starts counting. */
  startMeasuring(): void {
    this.quotes = this.frames = this.bytes = 0;
    this.seqRegressions = this.seqDuplicates = this.seqSkipped = 0;
    this.missedWindows = this.unexpected = 0;
    this.staleness.reset();
    this.firstSeq.fill(0);
    this.firstTs.fill(0);
    this.lastSeq.fill(0);
    this.lastTs.fill(0);
    this.measuring = true;
  }

  /** Seeds a client's seq state from its subscribe snapshot (not counted as delivered). */
  seed(client: ClientTrack, snapshot: readonly TrackedQuote[], nowMs: number): void {
    for (const q of snapshot) {
      const slot = this.slotOf.get(q.symbol);
      if (slot === undefined) continue;
      const pos = client.positionOf[slot];
      if (pos < 0) continue;
      if (q.seq > client.lastSeq[pos]) client.lastSeq[pos] = q.seq;
    }
    client.lastArrival.fill(nowMs);
  }

  /**
   * Accounts one `quotes` frame of `byteLength` bytes received at `nowMs` (ms
   * since epoch, fractional) holding the first `count` entries of `batch`.
   */
  frame(
    client: ClientTrack,
    batch: readonly TrackedQuote[],
    count: number,
    byteLength: number,
    nowMs: number,
  ): void {
    const measuring = this.measuring;
    if (measuring) {
      this.frames++;
      this.bytes += byteLength;
    }
    for (let i = 0; i < count; i++) {
      const q = batch[i];
      const slot = this.slotOf.get(q.symbol);
      const pos = slot === undefined ? -1 : client.positionOf[slot];
      if (pos < 0) {
        if (measuring) this.unexpected++;
        continue;
      }
      const seq = q.seq;
      const prev = client.lastSeq[pos];
      const prevArrival = client.lastArrival[pos];
      client.lastArrival[pos] = nowMs;
      if (seq > prev) client.lastSeq[pos] = seq;
      if (!measuring) continue;

      this.quotes++;
      this.staleness.recordMs(nowMs - q.ts);
      if (seq < prev) this.seqRegressions++;
      else if (seq === prev) this.seqDuplicates++;
      else if (prev > 0 && seq > prev + 1) this.seqSkipped += seq - prev - 1;
      const gap = nowMs - prevArrival;
      if (prevArrival > 0 && gap > this.missedAfterMs) {
        this.missedWindows += Math.round(gap / this.intervalMs) - 1;
      }
      const s = slot!;
      if (this.firstSeq[s] === 0 || seq < this.firstSeq[s]) {
        this.firstSeq[s] = seq;
        this.firstTs[s] = q.ts;
      }
      if (seq > this.lastSeq[s]) {
        this.lastSeq[s] = seq;
        this.lastTs[s] = q.ts;
      }
    }
  }
}

/**
 * Feed rate, ticks/s, from per-symbol seq spans: seq counts every tick of a
 * symbol, so (last − first) / (ts_last − ts_first) is that symbol's real rate
 * whether or not the server conflated. Symbols seen for under a second are
 * left out; the sum is scaled to the whole universe by the share observed.
 */
export function feedRateFromSpans(spans: readonly [number, number, number, number][]): number {
  let rate = 0;
  let seen = 0;
  for (const [firstSeq, firstTs, lastSeq, lastTs] of spans) {
    if (firstSeq > 0 && lastTs - firstTs >= 1000) {
      rate += ((lastSeq - firstSeq) * 1000) / (lastTs - firstTs);
      seen++;
    }
  }
  return seen === 0 ? 0 : (rate * spans.length) / seen;
}

/** Merges per-process spans: earliest first, latest last, per symbol. */
export function mergeSpans(
  all: readonly (readonly [number, number, number, number][])[],
): [number, number, number, number][] {
  const size = all.length === 0 ? 0 : all[0].length;
  const out: [number, number, number, number][] = Array.from({ length: size }, () => [0, 0, 0, 0]);
  for (const spans of all) {
    spans.forEach(([fs, ft, ls, lt], i) => {
      const o = out[i];
      if (fs > 0 && (o[0] === 0 || fs < o[0])) {
        o[0] = fs;
        o[1] = ft;
      }
      if (ls > o[2]) {
        o[2] = ls;
        o[3] = lt;
      }
    });
  }
  return out;
}
