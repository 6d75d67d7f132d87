/**
 * How much of the server's heap growth is its candle history filling up.
 *
 * The server keeps, per symbol, up to 3,600 one-second candles and 1,440
 * one-minute candles (CANDLE_CAPACITY in src/shared/market.ts).
 * During the first hour the 1 s buffers fill at about one candle per symbol
 * per second: bounded growth by design, but on a 20-minute soak it is a
 * straight line that looks exactly like a leak. The soak counts the candles
 * held (through the REST API) at the start and end of its fit window, and
 * measures what one candle costs on this V8, to subtract that line.
 */
import { getJson } from './soak-server.js';

/** Candles held per resolution, summed over every symbol. */
export interface CandleCount {
  s1: number;
  m1: number;
}

/** Counts candles through `GET /api/history/:symbol` (one request per symbol and resolution). */
export async function countCandles(url: string, symbols: readonly string[]): Promise<CandleCount> {
  let s1 = 0;
  let m1 = 0;
  for (const symbol of symbols) {
    const sec = await getJson<{ candles: unknown[] }>(
      `${url}/api/history/${encodeURIComponent(symbol)}?resolution=1s&limit=3600`,
    );
    const min = await getJson<{ candles: unknown[] }>(
      `${url}/api/history/${encodeURIComponent(symbol)}?resolution=1m&limit=1440`,
    );
    s1 += sec.body.candles.length;
    m1 += min.body.candles.length;
  }
  return { s1, m1 };
}

/**
 * Heap bytes of one candle as the server builds it (a six-field object
 * literal, prices and times as doubles, then updated in place), measured
 * here with a forced GC on either side. Needs `--expose-gc`; NaN without it.
 */
export function measureCandleBytes(count = 200_000): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return NaN;
  // The ring buffer's slots are preallocated by the server, so they are not part of the cost.
  const slots = new Array<{ t: number; o: number; h: number; l: number; c: number; v: number }>(
    count,
  );
  gc();
  const before = process.memoryUsage().heapUsed;
  const t0 = Date.now();
  for (let i = 0; i < count; i++) {
    const price = 100 + Math.random() * 50;
    slots[i] = {
      t: Math.floor((t0 + i * 1000) / 1000) * 1000,
      o: price,
      h: price,
      l: price,
      c: price,
      v: 100,
    };
    const next = price + Math.random() - 0.5;
    const candle = slots[i];
    if (next > candle.h) candle.h = next;
    if (next < candle.l) candle.l = next;
    candle.c = next;
    candle.v += 200;
  }
  gc();
  const bytes = (process.memoryUsage().heapUsed - before) / count;
  // Keep the objects alive until after the measurement.
  return slots.length === count ? bytes : NaN;
}
