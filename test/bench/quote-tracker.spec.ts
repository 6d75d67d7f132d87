import { describe, expect, it } from 'vitest';
import { offeredPerSec } from './bench-report.js';
import { LatencyHistogram, mergeSummaries } from './latency-stats.js';
import { ClientTrack, QuoteTracker, feedRateFromSpans, mergeSpans } from './quote-tracker.js';

const universe = ['AAA', 'BBB', 'CCC'];

function setup(intervalMs = 250): { tracker: QuoteTracker; client: ClientTrack } {
  const tracker = new QuoteTracker(universe, intervalMs);
  const client = new ClientTrack(universe.length, [0, 2]);
  tracker.seed(client, [{ symbol: 'AAA', seq: 10, ts: 0 }], 1_000);
  tracker.startMeasuring();
  return { tracker, client };
}

describe(QuoteTracker.name, () => {
  it('counts seq regressions, duplicates and skips per client and symbol', () => {
    const { tracker, client } = setup();
    const frame = (symbol: string, seq: number, at: number): void =>
      tracker.frame(client, [{ symbol, seq, ts: at - 5 }], 1, 100, at);
    frame('AAA', 11, 1_100); // in order after the snapshot's 10
    frame('AAA', 11, 1_200); // duplicate
    frame('AAA', 9, 1_300); // regression
    frame('AAA', 15, 1_400); // skips 12, 13, 14
    frame('CCC', 1, 1_400);
    frame('BBB', 1, 1_400); // never subscribed
    expect(tracker).toMatchObject({
      quotes: 5,
      frames: 6,
      bytes: 600,
      seqRegressions: 1,
      seqDuplicates: 1,
      seqSkipped: 3,
      unexpected: 1,
    });
    const staleness = tracker.staleness.summary();
    expect(staleness.count).toBe(5);
    expect(staleness.p50).toBeCloseTo(5, 1); // HDR: 3 significant digits
  });

  it('counts windows that went by with no update', () => {
    const { tracker, client } = setup(250);
    tracker.frame(client, [{ symbol: 'AAA', seq: 11, ts: 1_240 }], 1, 1, 1_250); // on time
    tracker.frame(client, [{ symbol: 'AAA', seq: 12, ts: 1_990 }], 1, 1, 2_000); // 750 ms later: 2 windows missed
    expect(tracker.missedWindows).toBe(2);
  });

  it('ignores quotes that arrive outside the measurement but keeps their seq', () => {
    const { tracker, client } = setup();
    tracker.measuring = false;
    tracker.frame(client, [{ symbol: 'AAA', seq: 20, ts: 1 }], 1, 1, 2);
    tracker.measuring = true;
    tracker.frame(client, [{ symbol: 'AAA', seq: 20, ts: 3 }], 1, 1, 4);
    expect(tracker.quotes).toBe(1);
    expect(tracker.seqDuplicates).toBe(1);
  });
});

describe(feedRateFromSpans.name, () => {
  it('derives the feed rate from per-symbol seq spans and scales to the unseen symbols', () => {
    // 100 ticks in 2 s and 50 in 1 s; the third symbol unseen: 50 + 50 scaled by 3/2.
    const spans = mergeSpans([
      [
        [1, 0, 51, 1_000],
        [0, 0, 0, 0],
        [0, 0, 0, 0],
      ],
      [
        [0, 0, 101, 2_000],
        [10, 500, 60, 1_500],
        [0, 0, 0, 0],
      ],
    ]);
    expect(spans[0]).toEqual([1, 0, 101, 2_000]);
    expect(feedRateFromSpans(spans)).toBeCloseTo(150, 6);
  });
});

describe(LatencyHistogram.name, () => {
  it('summarises percentiles in ms and survives encoding and merging across processes', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    for (let ms = 1; ms <= 1000; ms++) (ms % 2 ? a : b).recordMs(ms);
    a.recordMs(-3); // clock skew below zero counts as 0
    const merged = mergeSummaries([a.encode(), b.encode()]);
    expect(merged.count).toBe(1001);
    expect(merged.p50).toBeCloseTo(500, -1);
    expect(merged.p99).toBeCloseTo(990, -1);
    expect(merged.p999).toBeCloseTo(999, -1);
    expect(merged.max).toBeCloseTo(1000, 0);
    expect(new LatencyHistogram().summary().count).toBe(0);
  });
});

describe(offeredPerSec.name, () => {
  it('owes conflated clients one update per symbol per non-empty window, and naive ones every tick', () => {
    // 5 000 ticks/s over 100 symbols: 50/s each; a 250 ms window is empty with p = e^-12.5.
    expect(offeredPerSec('ours-sio', 10, 250, 5_000, 100)).toBeCloseTo(
      40 * (1 - Math.exp(-12.5)),
      9,
    );
    expect(offeredPerSec('limit', 10, 1_000, 5_000, 100)).toBeCloseTo(10, 9);
    expect(offeredPerSec('naive', 10, 250, 5_000, 100)).toBe(500);
  });
});
