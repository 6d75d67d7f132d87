import { describe, expect, it } from 'vitest';
import { ChartFeed } from './chart-feed.js';
import { makeQuote } from './test-quotes.js';

const T0 = 1_700_000_000_000;

describe(ChartFeed.name, () => {
  it('only buffers quotes while the backfill is in flight', () => {
    const feed = new ChartFeed();
    feed.reset('AAPL');
    expect(feed.applyQuote(makeQuote({ ts: T0 + 100, seq: 1 }))).toBe(false);
    expect(feed.price.points.length).toBe(0);
  });

  it('skips quotes the history already includes and continues with the rest', () => {
    const feed = new ChartFeed();
    feed.reset('AAPL');
    feed.applyQuote(
      makeQuote({ ts: T0 + 900, seq: 9, price: 101, win: { o: 101, h: 101, l: 101, v: 50, n: 1 } }),
    );
    const history = [{ t: T0, o: 100, h: 101, l: 100, c: 101, v: 500 }];
    feed.load({ '1s': history, '1m': [] });
    expect(feed.loading).toBe(false);
    expect(feed.candles['1s'].volumes.items).toEqual([{ x: T0, y: 500 }]);
    feed.applyQuote(
      makeQuote({
        ts: T0 + 950,
        seq: 10,
        price: 102,
        win: { o: 102, h: 102, l: 102, v: 70, n: 1 },
      }),
    );
    expect(feed.candles['1s'].volumes.items).toEqual([{ x: T0, y: 570 }]);
    expect(feed.candles['1s'].candles.items[0]).toMatchObject({ h: 102, c: 102 });
    expect(feed.price.points.items.map((p) => p.y)).toEqual([101, 102]);
  });

  it('ignores other symbols', () => {
    const feed = new ChartFeed();
    feed.reset('AAPL');
    feed.load({ '1s': [], '1m': [] });
    expect(feed.applyQuote(makeQuote({ symbol: 'MSFT', ts: T0 }))).toBe(false);
  });

  it('bounds the price line by age', () => {
    const feed = new ChartFeed();
    feed.reset('AAPL');
    feed.load({ '1s': [], '1m': [] });
    for (let i = 0; i < 100; i++) feed.applyQuote(makeQuote({ ts: T0 + i * 60_000, seq: i + 1 }));
    const points = feed.price.points.items;
    expect(points[points.length - 1].x - points[0].x).toBeLessThanOrEqual(3_600_000);
  });
});
