import { join, relative } from 'node:path';
import { firstValueFrom, filter, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { ReplaySpeed } from '../../config/app-config.js';
import type { FeedState, Tick } from '../../shared/market.js';
import { ReplayFeed } from './replay-feed.js';
import { ReplayFileError } from './replay-file.error.js';
import type { ReplayReaderSink } from './replay-reader.js';
import type { ReplayRow } from './replay-row.js';
import { replayInstruments, type ReplayScan, scanReplayFile } from './replay-scan.js';

const FIXTURES = relative(
  process.cwd(),
  join(import.meta.dirname, '../../../test/fixtures/replay'),
);

const T0 = 1_735_732_800_000;
function row(ms: number, symbol: string, price = 10, size = 1): ReplayRow {
  return { symbol, ms: T0 + ms, ns: 0, price, size, bid: price - 0.01, ask: price + 0.01 };
}

const ROWS = [
  row(0, 'AAPL', 10),
  row(0, 'MSFT', 20),
  row(100, 'AAPL', 11, 5),
  row(250, 'AAPL', 12),
];
const SCAN: ReplayScan = {
  file: 'rows.csv',
  format: 'tickstream',
  symbols: [
    { symbol: 'AAPL', firstPrice: 10, rows: 3, volume: 7 },
    { symbol: 'MSFT', firstPrice: 20, rows: 1, volume: 1 },
  ],
  rows: 4,
  spanMs: 250,
};

/** A feed over `rows`, delivered one scheduler turn after each pass starts. */
function setup(options: { speed?: ReplaySpeed; loop?: boolean; fail?: ReplayFileError } = {}) {
  const scheduler = new VirtualTimeScheduler();
  const logged: string[] = [];
  let opened = 0;
  const feed = new ReplayFeed({
    scan: SCAN,
    instruments: replayInstruments(SCAN, 'Replay'),
    feedSymbols: [],
    speed: options.speed ?? 1,
    loop: options.loop ?? false,
    scheduler,
    log: { log: (m) => logged.push(m), error: (m) => logged.push(`ERROR ${m}`) },
    openSource: (sink: ReplayReaderSink) => {
      opened++;
      return {
        start: () =>
          void scheduler.schedule(() => {
            sink.rows(ROWS.slice(0, 2));
            sink.rows(ROWS.slice(2));
            sink.end(options.fail);
          }, 1),
        pause: () => undefined,
        resume: () => undefined,
        close: () => undefined,
      };
    },
  });
  const ticks: Tick[] = [];
  feed.ticks$.subscribe((tick) => ticks.push(tick));
  const states: FeedState[] = [];
  feed.state$.subscribe((state) => states.push(state));
  const advance = (until: number) => {
    scheduler.schedule(() => undefined, until - scheduler.now());
    scheduler.maxFrames = until;
    scheduler.flush();
  };
  return { feed, ticks, states, logged, advance, opened: () => opened };
}

describe(ReplayFeed.name, () => {
  it('plays every row once, seq per symbol, rebased to the clock, then closes', () => {
    const { feed, ticks, states, logged, advance } = setup();
    expect(feed.state).toBe('idle');
    feed.start();
    expect(feed.state).toBe('live');
    advance(1000);
    expect(ticks).toEqual([
      { symbol: 'AAPL', seq: 1, ts: 1, price: 10, bid: 9.99, ask: 10.01, size: 1 },
      { symbol: 'MSFT', seq: 1, ts: 1, price: 20, bid: 19.99, ask: 20.01, size: 1 },
      { symbol: 'AAPL', seq: 2, ts: 101, price: 11, bid: 10.99, ask: 11.01, size: 5 },
      { symbol: 'AAPL', seq: 3, ts: 251, price: 12, bid: 11.99, ask: 12.01, size: 1 },
    ]);
    expect(states).toEqual(['idle', 'live', 'closed']);
    expect(feed.state).toBe('closed');
    expect(logged).toEqual(['replay of rows.csv: pass 1 played 4 rows']);
  });

  it('loops with a new epoch, every seq from 1 again', () => {
    const { feed, ticks, states, opened, advance } = setup({ speed: 10, loop: true });
    feed.start();
    const first = feed.epoch;
    advance(30); // pass 1: 1, 1, 11, 26; pass 2 opens at 26 and plays from 27
    expect(opened()).toBe(2);
    expect(feed.epoch).not.toBe(first);
    advance(80); // passes 3 and 4 open at 52 and 78
    expect(ticks.slice(0, 10).map((t) => `${t.symbol}#${t.seq}@${t.ts}`)).toEqual([
      'AAPL#1@1',
      'MSFT#1@1',
      'AAPL#2@11',
      'AAPL#3@26',
      'AAPL#1@27',
      'MSFT#1@27',
      'AAPL#2@37',
      'AAPL#3@52',
      'AAPL#1@53',
      'MSFT#1@53',
    ]);
    expect(ticks).toHaveLength(14);
    expect(feed.passes).toBe(4);
    expect(states).toEqual(['idle', 'live']);
    feed.stop();
    expect(feed.state).toBe('closed');
  });

  it('closes after a file that fails during playback, without looping', () => {
    const fail = new ReplayFileError('rows.csv', [{ line: 9, message: 'price: bad' }]);
    const { feed, ticks, logged, opened, advance } = setup({ loop: true, fail, speed: 'max' });
    feed.start();
    advance(10);
    expect(ticks).toHaveLength(4);
    expect(opened()).toBe(1);
    expect(feed.state).toBe('closed');
    expect(logged[0]).toBe(
      'ERROR Cannot replay REPLAY_FILE: rows.csv:9: price: bad (the file changed since the boot scan?)',
    );
  });

  it('starts again after a stop, in a new epoch', () => {
    const { feed, ticks, advance } = setup();
    feed.start();
    feed.start();
    const first = feed.epoch;
    feed.stop();
    expect(feed.state).toBe('closed');
    advance(10);
    expect(ticks).toEqual([]);
    feed.start();
    expect(feed.epoch).not.toBe(first);
    advance(1000);
    expect(ticks.map((t) => t.seq)).toEqual([1, 1, 2, 3]);
  });

  it.each(['tickstream.csv.gz', 'massive-trades.csv', 'BTCUSDT-trades-2025-01-01.csv.gz'])(
    'plays %s at max speed: every row, in order, sizes summed per symbol',
    async (name) => {
      const scan = await scanReplayFile({
        file: join(FIXTURES, name),
        format: 'auto',
        symbols: [],
      });
      const feed = new ReplayFeed({
        scan,
        instruments: replayInstruments(scan, 'Replay'),
        feedSymbols: [],
        speed: 'max',
        loop: false,
      });
      const ticks: Tick[] = [];
      feed.ticks$.subscribe((tick) => ticks.push(tick));
      const closed = firstValueFrom(feed.state$.pipe(filter((state) => state === 'closed')));
      const started = Date.now();
      feed.start();
      await closed;
      expect(ticks).toHaveLength(scan.rows);
      for (const summary of scan.symbols) {
        const own = ticks.filter((t) => t.symbol === summary.symbol);
        expect(own.map((t) => t.seq)).toEqual(own.map((_, i) => i + 1));
        expect(own.reduce((sum, t) => sum + t.size, 0)).toBeCloseTo(summary.volume, 9);
        expect(own[0].price).toBe(summary.firstPrice);
      }
      expect(ticks.every((t, i) => t.ts >= started && (i === 0 || t.ts >= ticks[i - 1].ts))).toBe(
        true,
      );
    },
  );
});
