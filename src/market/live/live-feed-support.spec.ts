import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Tick } from '../../shared/market.js';
import { LiveTickQueue, MalformedFrames } from './live-feed-support.js';

function tick(symbol: string, price: number): Tick {
  return { symbol, seq: 0, ts: 0, price, bid: price, ask: price, size: 1 };
}

function logger() {
  const lines: string[] = [];
  const push = (level: string) => (m: string) => lines.push(`${level} ${m}`);
  return { lines, log: push('log'), warn: push('warn'), error: push('error') };
}

describe(LiveTickQueue.name, () => {
  it('hands ticks on in a turn of their own, numbered per symbol, dropping the oldest when full', () => {
    const scheduler = new VirtualTimeScheduler();
    const out: Tick[] = [];
    const log = logger();
    const queue = new LiveTickQueue({
      index: new Map([
        ['BTC-USD', 0],
        ['ETH-USD', 1],
      ]),
      capacity: 3,
      scheduler,
      emit: (t) => out.push(t),
      log,
    });
    for (const price of [1, 2, 3, 4, 5]) queue.push(tick('BTC-USD', price));
    queue.push(tick('ETH-USD', 10));
    expect(out).toEqual([]);
    expect(queue.size).toBe(3);
    scheduler.flush();
    expect(out.map((t) => [t.symbol, t.seq, t.price])).toEqual([
      ['BTC-USD', 1, 4],
      ['BTC-USD', 2, 5],
      ['ETH-USD', 1, 10],
    ]);
    expect(queue).toMatchObject({ dropped: 3, emitted: 3, size: 0 });
    expect(log.lines).toEqual([
      'warn tick buffer full (3): the downstream is slower than the feed, dropping the oldest ticks',
    ]);
    queue.push(tick('BTC-USD', 6));
    queue.close();
    scheduler.flush();
    expect(out).toHaveLength(3);
    expect(log.lines.at(-1)).toBe('warn 3 tick(s) dropped in all: the buffer was full');
  });

  it('survives a subscriber that throws, and goes on with the next tick', () => {
    const scheduler = new VirtualTimeScheduler();
    const out: number[] = [];
    const log = logger();
    const queue = new LiveTickQueue({
      index: new Map([['X', 0]]),
      capacity: 10,
      scheduler,
      emit: (t) => {
        if (t.price === 1) throw new Error('boom');
        out.push(t.price);
      },
      log,
    });
    queue.push(tick('X', 1));
    queue.push(tick('X', 2));
    scheduler.flush();
    expect(out).toEqual([2]);
    expect(log.lines).toEqual(['error a tick subscriber failed: Error: boom']);
  });
});

describe(MalformedFrames.name, () => {
  it('logs the first, then at most one line a minute with the count since', () => {
    const scheduler = new VirtualTimeScheduler();
    const log = logger();
    const frames = new MalformedFrames(scheduler, 'frame from X', log);
    frames.note('not JSON');
    frames.note('not JSON');
    frames.note('no type');
    scheduler.schedule(() => frames.note('not JSON'), 60_000);
    scheduler.flush();
    frames.note('late');
    frames.flush();
    expect(frames.count).toBe(5);
    expect(log.lines).toEqual([
      'warn malformed frame from X dropped: not JSON; 1 in all',
      'warn malformed frame from X dropped: not JSON (and 2 more since the last report); 4 in all',
      'warn malformed frame from X: 1 more dropped since the last report (5 in all)',
    ]);
  });
});
