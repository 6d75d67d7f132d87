import { describe, expect, it } from 'vitest';
import type { Tick } from '../shared/market.js';
import { TickSequence } from '../../test/support/ticks.js';
import { CandleSeries } from './candle-series.js';

const ticks = new TickSequence('AAPL');
const tick = (ts: number, price: number, size = 100): Tick => ticks.next({ ts, price, size });

describe(CandleSeries.name, () => {
  it('folds ticks of one bucket into OHLCV', () => {
    const series = new CandleSeries(1000, 10);
    [tick(5_000, 10), tick(5_200, 12, 300), tick(5_400, 9, 200), tick(5_999, 11)].forEach((t) =>
      series.apply(t),
    );
    expect(series.recent(10)).toEqual([{ t: 5_000, o: 10, h: 12, l: 9, c: 11, v: 700 }]);
  });

  it('starts a candle per bucket at floor(ts / width) * width and leaves gaps empty', () => {
    const series = new CandleSeries(60_000, 10);
    [tick(59_999, 1), tick(60_000, 2), tick(61_000, 3), tick(250_000, 4)].forEach((t) =>
      series.apply(t),
    );
    expect(series.recent(10).map((c) => [c.t, c.o, c.c])).toEqual([
      [0, 1, 1],
      [60_000, 2, 3],
      [240_000, 4, 4],
    ]);
  });

  it('keeps at most its capacity, newest last', () => {
    const series = new CandleSeries(1000, 5);
    for (let s = 0; s < 100; s++) series.apply(tick(s * 1000, s));
    expect(series.length).toBe(5);
    expect(series.recent(3).map((c) => c.t)).toEqual([97_000, 98_000, 99_000]);
  });

  it('hands out copies, so a caller cannot corrupt the forming candle', () => {
    const series = new CandleSeries(1000, 5);
    series.apply(tick(0, 10));
    series.recent(1)[0].h = 1e9;
    expect(series.recent(1)[0].h).toBe(10);
  });

  it('folds a stray out-of-order tick into the forming candle', () => {
    const series = new CandleSeries(1000, 5);
    series.apply(tick(3_000, 10));
    series.apply(tick(1_500, 8));
    expect(series.recent(5)).toEqual([{ t: 3_000, o: 10, h: 10, l: 8, c: 8, v: 200 }]);
  });
});
