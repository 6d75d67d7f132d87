import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Instrument } from '../shared/market.js';
import {
  PriceModel,
  type PriceModelOptions,
  TRADING_DAY_MS,
  TRADING_DAYS_PER_YEAR,
  TRADING_YEAR_MS,
} from './price-model.js';
import { Prng } from './prng.js';

function instrument(symbol: string, overrides: Partial<Instrument> = {}): Instrument {
  return {
    symbol,
    name: `${symbol} Inc.`,
    sector: 'Technology',
    refPrice: 100,
    volatility: 0.3,
    tradeIntensity: 1,
    ...overrides,
  };
}

function model(
  instruments: Instrument[],
  seed: number,
  options: PriceModelOptions = {},
): PriceModel {
  const m = new PriceModel(instruments, new Prng(seed), options);
  m.reset(0);
  return m;
}

/** Log-returns of symbol 0 over `steps` consecutive trades `stepMs` apart. */
function logReturns(m: PriceModel, steps: number, stepMs: number): number[] {
  const out = new Array<number>(steps);
  let prev = m.advance(0, 0);
  for (let k = 1; k <= steps; k++) {
    const next = m.advance(0, k * stepMs);
    out[k - 1] = next - prev;
    prev = next;
  }
  return out;
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function variance(xs: readonly number[]): number {
  const m = mean(xs);
  return xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1);
}

function correlation(xs: readonly number[], ys: readonly number[]): number {
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let k = 0; k < xs.length; k++) {
    sxy += (xs[k] - mx) * (ys[k] - my);
    sxx += (xs[k] - mx) ** 2;
    syy += (ys[k] - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

function onCentGrid(x: number): boolean {
  return Math.round(x * 100) / 100 === x;
}

/** timeScale at which one wall second is one trading year: Δ = 1 per 1000 ms step. */
const YEAR_PER_SECOND = TRADING_YEAR_MS / 1000;
/** timeScale at which one wall second is one trading day. */
const DAY_PER_SECOND = TRADING_DAY_MS / 1000;

describe(PriceModel.name, () => {
  it('defaults to real time with realistic parameters', () => {
    const m = new PriceModel([instrument('AAA')], new Prng(1));
    expect(m.options).toMatchObject({
      timeScale: 1,
      marketBeta: 0.5,
      sectorBeta: 0.45,
      jumpIntensity: TRADING_DAYS_PER_YEAR,
      jumpMean: -0.002,
      jumpStdDev: 0.01,
    });
  });

  it('rejects impossible options', () => {
    const make = (options: PriceModelOptions) => () =>
      new PriceModel([instrument('AAA')], new Prng(1), options);
    expect(make({ timeScale: 0 })).toThrow(RangeError);
    expect(make({ marketBeta: 0.8, sectorBeta: 0.8 })).toThrow(/marketBeta² \+ sectorBeta² ≤ 1/);
    expect(make({ jumpIntensity: -1 })).toThrow(RangeError);
    expect(() => new PriceModel([], new Prng(1))).toThrow(/at least one instrument/);
  });

  it('moves log prices by (μ − σ²/2)Δ on average with variance σ²Δ (pure GBM)', () => {
    const mu = 0.3;
    const sigma = 0.4;
    const n = 20_000;
    const m = model([instrument('AAA', { volatility: sigma })], 101, {
      drift: mu,
      jumpIntensity: 0,
      timeScale: YEAR_PER_SECOND,
    });
    const r = logReturns(m, n, 1000);
    // Standard errors: 0.0028 for the mean, 0.0016 for the variance.
    expect(Math.abs(mean(r) - (mu - sigma ** 2 / 2))).toBeLessThan(0.012);
    expect(Math.abs(variance(r) - sigma ** 2)).toBeLessThan(0.0065);
  });

  it('moves realistically little per second in real time', () => {
    const sigma = 0.25;
    const m = model([instrument('AAA', { volatility: sigma })], 102, { jumpIntensity: 0 });
    const r = logReturns(m, 20_000, 1000);
    const expectedSd = sigma * Math.sqrt(1000 / TRADING_YEAR_MS);
    // ≈ 1 bp per second: a cent or two on a $100–200 stock.
    expect(expectedSd).toBeCloseTo(1.03e-4, 6);
    expect(Math.sqrt(variance(r)) / expectedSd).toBeGreaterThan(0.97);
    expect(Math.sqrt(variance(r)) / expectedSd).toBeLessThan(1.03);
  });

  it('compensates jump drift: mean log-return and expected price match the Merton model', () => {
    const mu = 0.1;
    const sigma = 0.2;
    const lambda = 5;
    const muJ = -0.05;
    const sigmaJ = 0.1;
    const n = 40_000;
    const m = model([instrument('AAA', { volatility: sigma })], 103, {
      drift: mu,
      jumpIntensity: lambda,
      jumpMean: muJ,
      jumpStdDev: sigmaJ,
      timeScale: YEAR_PER_SECOND,
    });
    const r = logReturns(m, n, 1000);
    const kappa = Math.exp(muJ + sigmaJ ** 2 / 2) - 1;
    const expectedMean = mu - sigma ** 2 / 2 - lambda * kappa + lambda * muJ;
    const expectedVar = sigma ** 2 + lambda * (muJ ** 2 + sigmaJ ** 2);
    // SE of the mean ≈ 0.0016; of the gross return ≈ 0.002.
    expect(Math.abs(mean(r) - expectedMean)).toBeLessThan(0.007);
    expect(Math.abs(variance(r) / expectedVar - 1)).toBeLessThan(0.05);
    // Compensation makes the price a martingale up to the drift: E[S₁/S₀] = e^μ.
    expect(Math.abs(mean(r.map(Math.exp)) - Math.exp(mu))).toBeLessThan(0.01);
    // Jumps fatten the tails: excess kurtosis λE[J⁴]/Var² ≈ 0.22 here (a Gaussian's is 0; SE ≈ 0.025).
    const rMean = mean(r);
    const m4 = mean(r.map((x) => (x - rMean) ** 4));
    const jumpM4 = muJ ** 4 + 6 * muJ ** 2 * sigmaJ ** 2 + 3 * sigmaJ ** 4;
    expect(Math.abs(m4 / variance(r) ** 2 - 3 - (lambda * jumpM4) / expectedVar ** 2)).toBeLessThan(
      0.1,
    );
  });

  it('correlates returns clearly more within a sector than across sectors', () => {
    const sectors = ['Energy', 'Utilities', 'Technology'];
    const instruments = sectors.flatMap((sector, s) =>
      [0, 1, 2].map((k) => instrument(`S${s}K${k}`, { sector, volatility: 0.2 + 0.1 * k })),
    );
    const m = model(instruments, 104, { jumpIntensity: 0, timeScale: DAY_PER_SECOND });
    const rng = new Prng(999);
    const days = 5000;
    const returns = instruments.map(() => new Array<number>(days));
    const prev = instruments.map((_, i) => m.advance(i, 0));
    for (let d = 1; d <= days; d++) {
      // Random trades inside the day exercise the lazy factors; the returns are
      // then measured over the same [d−1, d] interval for every symbol.
      let t = (d - 1) * 1000;
      for (let j = 0; j < 6; j++) {
        t += rng.next() * 150;
        m.advance(Math.floor(rng.next() * instruments.length), t);
      }
      instruments.forEach((_, i) => {
        const next = m.advance(i, d * 1000);
        returns[i][d - 1] = next - prev[i];
        prev[i] = next;
      });
    }
    const within: number[] = [];
    const across: number[] = [];
    for (let i = 0; i < instruments.length; i++) {
      for (let j = i + 1; j < instruments.length; j++) {
        const rho = correlation(returns[i], returns[j]);
        (instruments[i].sector === instruments[j].sector ? within : across).push(rho);
      }
    }
    // Theory: β_m² + β_s² = 0.4525 within, β_m² = 0.25 across; SE ≈ 0.013.
    expect(Math.abs(mean(within) - 0.4525)).toBeLessThan(0.03);
    expect(Math.abs(mean(across) - 0.25)).toBeLessThan(0.03);
    expect(Math.min(...within)).toBeGreaterThan(Math.max(...across));
  });

  it('keeps factor increments exact across other symbols’ trades', () => {
    // With all variance on the market factor, two symbols with the same σ must
    // move identically over the same interval, whatever traded in between.
    const m = model(
      [instrument('AAA'), instrument('BBB', { sector: 'Energy' }), instrument('CCC')],
      105,
      {
        marketBeta: 1,
        sectorBeta: 0,
        jumpIntensity: 0,
        timeScale: DAY_PER_SECOND,
      },
    );
    const rng = new Prng(7);
    let a = m.advance(0, 0);
    let b = m.advance(1, 0);
    for (let d = 1; d <= 200; d++) {
      let t = (d - 1) * 1000;
      for (let j = 0; j < 5; j++) {
        t += rng.next() * 190;
        m.advance(2, t);
        if (rng.next() < 0.5) m.advance(rng.next() < 0.5 ? 0 : 1, t + 1);
      }
      const a2 = m.advance(0, d * 1000);
      const b2 = m.advance(1, d * 1000);
      expect(a2 - a).toBeCloseTo(b2 - b, 10);
      a = a2;
      b = b2;
    }
  });

  it('opens at the reference price without a gap, and near it with the default gap', () => {
    const ref = instrument('AAA', { refPrice: 123.45 });
    expect(model([ref], 1, { openingGapDays: 0 }).trade(0, 0, 1).price).toBe(123.45);
    const opens = Array.from({ length: 200 }, (_, seed) => model([ref], seed).trade(0, 0, 1).price);
    // σ√(¼ day) ≈ 0.95 %: openings scatter around the reference by about a dollar.
    expect(Math.abs(mean(opens) / 123.45 - 1)).toBeLessThan(0.003);
    expect(Math.min(...opens)).toBeGreaterThan(123.45 * 0.95);
    expect(Math.max(...opens)).toBeLessThan(123.45 * 1.05);
    expect(new Set(opens).size).toBeGreaterThan(50);
  });

  it('produces the same ticks for the same seed', () => {
    const run = (seed: number) => {
      const m = model([instrument('AAA'), instrument('BBB')], seed);
      return Array.from({ length: 500 }, (_, k) => m.trade(k % 2, k * 37, k + 1));
    };
    expect(run(5)).toEqual(run(5));
    expect(run(5)).not.toEqual(run(6));
  });

  it('quotes on the cent grid, never at or below zero, with bid ≤ price ≤ ask and round-lot sizes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff_ffff }),
        fc.double({ min: 0.01, max: 5000, noNaN: true }),
        fc.double({ min: 0.01, max: 5, noNaN: true }),
        fc.constantFrom(1, 1000, DAY_PER_SECOND, YEAR_PER_SECOND),
        (seed, refPrice, volatility, timeScale) => {
          const m = model([instrument('AAA', { refPrice, volatility })], seed, { timeScale });
          const rng = new Prng(seed);
          let t = 0;
          let prevTs = -Infinity;
          for (let k = 1; k <= 300; k++) {
            t += rng.exponential(0.01);
            const tick = m.trade(0, t, k);
            const onAsk = tick.bid < tick.price && tick.price === tick.ask;
            const onBid = tick.bid === tick.price && tick.price < tick.ask;
            const ok =
              tick.price >= 0.01 &&
              tick.bid >= 0.01 &&
              onCentGrid(tick.price) &&
              onCentGrid(tick.bid) &&
              onCentGrid(tick.ask) &&
              (onAsk || onBid) &&
              tick.size >= 100 &&
              tick.size % 100 === 0 &&
              Number.isInteger(tick.ts) &&
              tick.ts >= prevTs;
            // Plain checks in the loop, one expect on failure: keeps 60k trades fast.
            if (!ok) expect(tick).toBe('a valid tick');
            prevTs = tick.ts;
          }
        },
      ),
      { seed: 20240601, numRuns: 200 },
    );
  });

  it('floors a collapsing price at one cent', () => {
    const m = model([instrument('PENNY', { refPrice: 0.02, volatility: 5 })], 3, {
      drift: -50,
      jumpIntensity: 0,
      timeScale: YEAR_PER_SECOND,
    });
    const ticks = Array.from({ length: 50 }, (_, k) => m.trade(0, k * 1000, k + 1));
    expect(ticks.at(-1)).toMatchObject({ price: 0.01, bid: 0.01 });
    expect(ticks.at(-1)!.ask).toBeGreaterThan(0.01);
  });

  it('widens the spread with price and volatility, never below a cent', () => {
    const meanSpreadCents = (refPrice: number, volatility: number) => {
      const m = model([instrument('AAA', { refPrice, volatility })], 8, { openingGapDays: 0 });
      const spreads = Array.from({ length: 2000 }, (_, k) => {
        const tick = m.trade(0, k * 10, k + 1);
        return Math.round((tick.ask - tick.bid) * 100);
      });
      expect(Math.min(...spreads)).toBeGreaterThanOrEqual(1);
      return mean(spreads);
    };
    const cheapCalm = meanSpreadCents(20, 0.15);
    const megaCap = meanSpreadCents(200, 0.25);
    const dearWild = meanSpreadCents(900, 0.6);
    expect(cheapCalm).toBeLessThan(1.5);
    expect(megaCap).toBeLessThan(3);
    expect(dearWild).toBeGreaterThan(megaCap + 2);
  });

  it('sizes trades log-normally in round lots, larger for cheaper stocks', () => {
    const medianSize = (refPrice: number) => {
      const m = model([instrument('AAA', { refPrice })], 9);
      const sizes = Array.from({ length: 5001 }, (_, k) => m.trade(0, k, k + 1).size).sort(
        (a, b) => a - b,
      );
      return sizes[2500];
    };
    expect(medianSize(25)).toBe(600);
    expect(medianSize(100)).toBe(300);
    expect(medianSize(2000)).toBe(100);
  });
});
