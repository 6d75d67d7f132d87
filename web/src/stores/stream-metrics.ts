import { Float64Ring } from './ring-buffer.js';

/**
 * Median of the latest latency samples (receive time − quote `ts`).
 *
 * `ts` is the time of the window's last trade, so the figure includes the
 * conflation wait as well as the network: at 1 s it is up to a second even on
 * localhost. 256 samples cover ~0.5 s of 50 symbols at 100 ms and ~13 s of
 * 10 symbols at 2 s — recent enough to react, large enough to be stable.
 */
export class LatencyTracker {
  private readonly samples: Float64Ring;
  private readonly scratch: Float64Array;

  constructor(capacity = 256) {
    this.samples = new Float64Ring(capacity);
    this.scratch = new Float64Array(capacity);
  }

  record(latencyMs: number): void {
    if (Number.isFinite(latencyMs)) this.samples.push(latencyMs);
  }

  /** Median of the samples held, or undefined when there are none. */
  median(): number | undefined {
    const n = this.samples.copyTo(this.scratch);
    if (n === 0) return undefined;
    const sorted = this.scratch.subarray(0, n).sort();
    const mid = n >> 1;
    return n % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  }

  clear(): void {
    this.samples.clear();
  }
}

/**
 * Events per second over a sliding window, counted in fixed time slots so
 * memory is constant however fast messages arrive.
 */
export class RateMeter {
  private readonly counts: Float64Array;
  private readonly slotStart: Float64Array;
  private readonly slotMs: number;

  /** `windowMs` split into `slots` slots: 2 s in 20 slots of 100 ms by default. */
  constructor(
    private readonly windowMs = 2000,
    slots = 20,
  ) {
    this.counts = new Float64Array(slots);
    this.slotStart = new Float64Array(slots).fill(-Infinity);
    this.slotMs = windowMs / slots;
  }

  add(count: number, now: number): void {
    const start = Math.floor(now / this.slotMs) * this.slotMs;
    const i = Math.floor(start / this.slotMs) % this.counts.length;
    if (this.slotStart[i] !== start) {
      this.slotStart[i] = start;
      this.counts[i] = 0;
    }
    this.counts[i] += count;
  }

  /** Events per second over the window that ends at `now`. */
  perSecond(now: number): number {
    const from = now - this.windowMs;
    let total = 0;
    for (let i = 0; i < this.counts.length; i++) {
      if (this.slotStart[i] > from) total += this.counts[i];
    }
    return (total * 1000) / this.windowMs;
  }

  clear(): void {
    this.counts.fill(0);
    this.slotStart.fill(-Infinity);
  }
}
