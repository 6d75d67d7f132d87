import hdr, { type Histogram } from 'hdr-histogram-js';

/**
 * Staleness is recorded in microseconds: a quote's `ts` has whole-millisecond
 * resolution, but the receive side has sub-millisecond clocks, and 3
 * significant digits keep a 250 ms p99 exact to 0.25 ms.
 */
const HIGHEST_US = 3_600_000_000; // one hour: anything staler is a dead server, clamped

/** Percentile summary of one histogram, in milliseconds. */
export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** An HDR histogram of durations in µs that crosses process boundaries as a compact string. */
export class LatencyHistogram {
  private readonly h: Histogram;

  constructor(from?: Histogram) {
    this.h =
      from ??
      hdr.build({
        lowestDiscernibleValue: 1,
        highestTrackableValue: HIGHEST_US,
        numberOfSignificantValueDigits: 3,
        bitBucketSize: 32,
        autoResize: false,
        useWebAssembly: false,
      });
  }

  /** Records one duration given in (fractional) milliseconds; negatives count as 0. */
  recordMs(ms: number): void {
    let us = Math.round(ms * 1000);
    if (!(us > 0)) us = 0;
    else if (us > HIGHEST_US) us = HIGHEST_US;
    this.h.recordValue(us);
  }

  get count(): number {
    return this.h.totalCount;
  }

  reset(): void {
    this.h.reset();
  }

  add(other: LatencyHistogram): void {
    this.h.add(other.h);
  }

  /** Compressed base64 (HdrHistogram's own interchange format), for IPC. */
  encode(): string {
    return hdr.encodeIntoCompressedBase64(this.h);
  }

  static decode(encoded: string): LatencyHistogram {
    return new LatencyHistogram(hdr.decodeFromCompressedBase64(encoded, 32, false));
  }

  summary(): LatencySummary {
    const h = this.h;
    if (h.totalCount === 0) return { count: 0, p50: NaN, p99: NaN, p999: NaN, max: NaN, mean: NaN };
    const ms = (us: number): number => Math.round(us) / 1000;
    return {
      count: h.totalCount,
      p50: ms(h.getValueAtPercentile(50)),
      p99: ms(h.getValueAtPercentile(99)),
      p999: ms(h.getValueAtPercentile(99.9)),
      max: ms(h.maxValue),
      mean: ms(h.mean),
    };
  }
}

/** Merges encoded histograms from several processes into one summary. */
export function mergeSummaries(encoded: readonly string[]): LatencySummary {
  const total = new LatencyHistogram();
  for (const e of encoded) total.add(LatencyHistogram.decode(e));
  return total.summary();
}
