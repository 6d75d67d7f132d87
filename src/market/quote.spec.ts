import { describe, expect, it } from 'vitest';
import type { SessionStats, Tick } from '../shared/market.js';
import { buildQuote, snapshotWindow } from './quote.js';

describe(buildQuote.name, () => {
  it('combines the last tick, the session and the window into a wire quote', () => {
    const last: Tick = {
      symbol: 'MSFT',
      seq: 7,
      ts: 1_700_000_000_123,
      price: 101.5,
      bid: 101.49,
      ask: 101.5,
      size: 300,
    };
    const session: SessionStats = {
      open: 100,
      high: 102,
      low: 99.5,
      prevClose: 100.25,
      volume: 12_300,
      change: 1.25,
      changePct: 1.25,
    };
    expect(buildQuote(last, session, snapshotWindow(last.price))).toEqual({
      symbol: 'MSFT',
      price: 101.5,
      bid: 101.49,
      ask: 101.5,
      ts: 1_700_000_000_123,
      seq: 7,
      open: 100,
      high: 102,
      low: 99.5,
      prevClose: 100.25,
      change: 1.25,
      changePct: 1.25,
      volume: 12_300,
      win: { o: 101.5, h: 101.5, l: 101.5, v: 0, n: 0 },
    });
  });
});
