import type { SessionStats, Tick } from '../shared/market.js';
import type { Quote, QuoteWindow } from '../shared/protocol.js';

/** Assembles the wire {@link Quote} of a symbol from its last tick, session and window summary. */
export function buildQuote(last: Tick, session: SessionStats, win: QuoteWindow): Quote {
  return {
    symbol: last.symbol,
    price: last.price,
    bid: last.bid,
    ask: last.ask,
    ts: last.ts,
    seq: last.seq,
    open: session.open,
    high: session.high,
    low: session.low,
    prevClose: session.prevClose,
    change: session.change,
    changePct: session.changePct,
    volume: session.volume,
    win,
  };
}

/** The window of a snapshot, before any conflated window exists: n = v = 0, o = h = l = price. */
export function snapshotWindow(price: number): QuoteWindow {
  return { o: price, h: price, l: price, v: 0, n: 0 };
}
