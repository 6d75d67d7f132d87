import type { Instrument } from '../../src/shared/market.js';

/** Small seeded generator (mulberry32): the bench's own choices, independent of the feed's PRNG. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const SECTORS = [
  'Technology',
  'Financials',
  'Health Care',
  'Energy',
  'Industrials',
  'Consumer Discretionary',
  'Consumer Staples',
  'Utilities',
  'Materials',
  'Communication Services',
];

/**
 * The benchmark universe: `size` synthetic instruments `BX000`, `BX001`, …
 *
 * Every instrument gets the same `tradeIntensity`, so each symbol carries
 * 1/size of the feed. That makes the offered update count exact: at S1's
 * 5 000 ticks/s a symbol trades 50 times a second, so a 250 ms window is
 * empty with probability e^-12.5 ≈ 4·10⁻⁶ and a conflating server owes the
 * client one update per subscribed symbol per window.
 */
export function benchUniverse(size: number, seed: number): Instrument[] {
  const rnd = mulberry32(seed ^ 0x5eed);
  return Array.from({ length: size }, (_, i) => ({
    symbol: `BX${String(i).padStart(3, '0')}`,
    name: `Bench Instrument ${i}`,
    sector: SECTORS[i % SECTORS.length],
    refPrice: Math.round((10 + rnd() * 490) * 100) / 100,
    volatility: Math.round((0.15 + rnd() * 0.45) * 100) / 100,
    tradeIntensity: 1,
  }));
}

/**
 * The `count` distinct symbols client number `client` subscribes to: a
 * partial Fisher–Yates shuffle seeded by (seed, client), so a client's choice
 * does not depend on how clients are split across load-generator processes.
 */
export function clientSymbols(
  universe: readonly string[],
  count: number,
  seed: number,
  client: number,
): string[] {
  const rnd = mulberry32((seed * 0x9e3779b1 + client * 0x85ebca6b) >>> 0);
  const pool = [...universe];
  const k = Math.min(count, pool.length);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rnd() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, k);
}
