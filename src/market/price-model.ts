import type { Instrument, Tick } from '../shared/market.js';
import type { Prng } from './prng.js';

/** Trading days per year and hours per trading day behind every annualised number. */
export const TRADING_DAYS_PER_YEAR = 252;
/** One trading day (09:30–16:00) in ms: the unit of `openingGapDays`. */
export const TRADING_DAY_MS = 6.5 * 3_600_000;
/** One year of trading time in ms: volatility and drift are per this much market time. */
export const TRADING_YEAR_MS = TRADING_DAYS_PER_YEAR * TRADING_DAY_MS;

/** Tunables of {@link PriceModel}; every field has a realistic default. */
export interface PriceModelOptions {
  /** Market time per wall time: 1 is real time; 23 400 makes one wall second a trading day. */
  timeScale?: number;
  /** Annualised drift μ of the price (arithmetic: E[S(t+Δ)/S(t)] = e^{μΔ}). */
  drift?: number;
  /** Loading β_m of every symbol on the one market factor. */
  marketBeta?: number;
  /** Loading β_s of every symbol on its sector's factor (β_m² + β_s² ≤ 1). */
  sectorBeta?: number;
  /** Merton jump intensity λ per symbol, jumps per trading year (252 ≈ one a day). */
  jumpIntensity?: number;
  /** Mean μ_J of a jump's log-size. */
  jumpMean?: number;
  /** Standard deviation σ_J of a jump's log-size. */
  jumpStdDev?: number;
  /**
   * Market time, in trading days, between the previous close and the opening
   * trade: the opening tick gaps by that much diffusion (overnight variance is
   * roughly a quarter of a day's). 0 opens exactly at the reference price.
   */
  openingGapDays?: number;
  /** σ of the log of a trade's size in lots (the median scales with price, see below). */
  lotSigma?: number;
}

const DEFAULTS: Required<PriceModelOptions> = {
  timeScale: 1,
  drift: 0.05,
  marketBeta: 0.5,
  sectorBeta: 0.45,
  jumpIntensity: TRADING_DAYS_PER_YEAR,
  jumpMean: -0.002,
  jumpStdDev: 0.01,
  openingGapDays: 0.25,
  lotSigma: 1,
};

/**
 * Ceiling of a quoted price: $10 bn. Only a walk run over centuries of market
 * time gets near it; it keeps prices finite and exactly on the cent grid.
 */
export const MAX_PRICE_CENTS = 1e12;

/** Largest trade, in round lots of 100 shares: keeps one freak draw from dwarfing a session's volume. */
const MAX_LOTS = 10_000;

/**
 * The per-trade price process: pure state plus a {@link Prng}, no timers, so
 * it can be stepped by the simulator in real time or by tests over years.
 *
 * Each trade of symbol i at time t, after its previous trade at tᵢ, applies
 * an exact GBM step over Δ = t − tᵢ (in trading years) with Merton jumps:
 *
 *   r = (μ − σ²/2 − λκ)Δ + σ(β_m ΔW_m + β_s ΔW_s + √(1−β_m²−β_s²) √Δ Z) + Σ jumps
 *
 * ΔW_m and ΔW_s are the increments of the market and sector factor Brownian
 * motions over exactly [tᵢ, t]: every factor keeps its cumulative value W(t),
 * advanced lazily to the current time with √dt·N(0,1), and every symbol keeps
 * the factor values at its own last trade. Symbols that trade at different
 * instants therefore still see one consistent factor path, at O(1) per trade.
 *
 * The state is the unrounded log price, so rounding to the cent never biases
 * the walk. Times passed to {@link advance}/{@link trade} must be
 * non-decreasing across all symbols (the simulator generates them in order).
 */
export class PriceModel {
  readonly options: Readonly<Required<PriceModelOptions>>;

  private readonly n: number;
  private readonly symbols: string[];
  private readonly yearsPerMs: number;
  private readonly sectorOf: Int32Array;
  /** Per symbol, per trading year: μ − σ²/2 − λκ. */
  private readonly driftRate: Float64Array;
  /** Per symbol: σβ_m, σβ_s and σ√(1−β_m²−β_s²). */
  private readonly marketLoad: Float64Array;
  private readonly sectorLoad: Float64Array;
  private readonly idioLoad: Float64Array;
  /** Per symbol: the quoted spread as a fraction of price, before rounding to whole cents. */
  private readonly spreadFrac: Float64Array;
  /** Per symbol: log of the median trade size in lots. */
  private readonly lnMedianLots: Float64Array;

  private readonly logPrices: Float64Array;
  private readonly lastTimes: Float64Array;
  private readonly marketAtLast: Float64Array;
  private readonly sectorAtLast: Float64Array;

  private marketValue = 0;
  private marketTime = 0;
  private readonly sectorValues: Float64Array;
  private readonly sectorTimes: Float64Array;

  /** Names of the sector factors, in factor order. */
  readonly sectors: readonly string[];

  constructor(
    readonly instruments: readonly Instrument[],
    private readonly rng: Prng,
    options: PriceModelOptions = {},
  ) {
    const o = { ...DEFAULTS, ...stripUndefined(options) };
    const problems: string[] = [];
    if (!(o.timeScale > 0) || !Number.isFinite(o.timeScale)) problems.push('timeScale must be > 0');
    if (!Number.isFinite(o.drift)) problems.push('drift must be finite');
    if (!(o.marketBeta >= 0 && o.sectorBeta >= 0 && o.marketBeta ** 2 + o.sectorBeta ** 2 <= 1)) {
      problems.push('betas must be ≥ 0 with marketBeta² + sectorBeta² ≤ 1');
    }
    if (!(o.jumpIntensity >= 0) || !Number.isFinite(o.jumpIntensity)) {
      problems.push('jumpIntensity must be ≥ 0');
    }
    if (!Number.isFinite(o.jumpMean) || !(o.jumpStdDev >= 0)) {
      problems.push('jumpMean must be finite and jumpStdDev ≥ 0');
    }
    if (!(o.openingGapDays >= 0)) problems.push('openingGapDays must be ≥ 0');
    if (!(o.lotSigma >= 0)) problems.push('lotSigma must be ≥ 0');
    if (instruments.length === 0) problems.push('at least one instrument is needed');
    if (problems.length > 0) throw new RangeError(`PriceModel: ${problems.join('; ')}`);
    this.options = Object.freeze(o);

    const n = instruments.length;
    this.n = n;
    this.symbols = instruments.map((i) => i.symbol);
    this.yearsPerMs = o.timeScale / TRADING_YEAR_MS;

    const sectorIndex = new Map<string, number>();
    this.sectorOf = new Int32Array(n);
    instruments.forEach((inst, i) => {
      let s = sectorIndex.get(inst.sector);
      if (s === undefined) {
        s = sectorIndex.size;
        sectorIndex.set(inst.sector, s);
      }
      this.sectorOf[i] = s;
    });
    this.sectors = [...sectorIndex.keys()];
    this.sectorValues = new Float64Array(sectorIndex.size);
    this.sectorTimes = new Float64Array(sectorIndex.size);

    // Compensator: E[e^J] − 1, so jumps change the distribution but not the expected price.
    const kappa = Math.exp(o.jumpMean + (o.jumpStdDev * o.jumpStdDev) / 2) - 1;
    const idio = Math.sqrt(Math.max(0, 1 - o.marketBeta ** 2 - o.sectorBeta ** 2));
    this.driftRate = new Float64Array(n);
    this.marketLoad = new Float64Array(n);
    this.sectorLoad = new Float64Array(n);
    this.idioLoad = new Float64Array(n);
    this.spreadFrac = new Float64Array(n);
    this.lnMedianLots = new Float64Array(n);
    instruments.forEach((inst, i) => {
      const sigma = inst.volatility;
      this.driftRate[i] = o.drift - (sigma * sigma) / 2 - o.jumpIntensity * kappa;
      this.marketLoad[i] = sigma * o.marketBeta;
      this.sectorLoad[i] = sigma * o.sectorBeta;
      this.idioLoad[i] = sigma * idio;
      // 0.4 bp plus 1.2 bp per unit of volatility: a $200, 25 %-vol stock quotes
      // a cent or two wide, a $500 volatile one a few cents, penny-wide at the floor.
      this.spreadFrac[i] = (0.4 + 1.2 * sigma) * 1e-4;
      // Cheap stocks trade more shares: the median is 3 lots at $100, 6 at $25, 1 above $900.
      this.lnMedianLots[i] = Math.log(Math.max(1, 3 * Math.sqrt(100 / inst.refPrice)));
    });

    this.logPrices = new Float64Array(n);
    this.lastTimes = new Float64Array(n);
    this.marketAtLast = new Float64Array(n);
    this.sectorAtLast = new Float64Array(n);
    this.reset(0);
  }

  /**
   * Starts a new session whose opening trade is at `openMs`: every price back
   * at its reference, every factor at 0, and every clock set to the previous
   * close (`openingGapDays` of market time before `openMs`).
   */
  reset(openMs: number): void {
    const closeMs =
      openMs - (this.options.openingGapDays * TRADING_DAY_MS) / this.options.timeScale;
    for (let i = 0; i < this.n; i++) {
      this.logPrices[i] = Math.log(this.instruments[i].refPrice);
      this.lastTimes[i] = closeMs;
      this.marketAtLast[i] = 0;
      this.sectorAtLast[i] = 0;
    }
    this.marketValue = 0;
    this.marketTime = closeMs;
    this.sectorValues.fill(0);
    this.sectorTimes.fill(closeMs);
  }

  /**
   * Moves symbol `index` to `timeMs` (one trade's worth of price process) and
   * returns its new unrounded log price. A time earlier than the latest one
   * seen is treated as that latest time, so the factor paths never rewind.
   */
  advance(index: number, timeMs: number): number {
    const t = timeMs > this.marketTime ? timeMs : this.marketTime;
    const dt = (t - this.lastTimes[index]) * this.yearsPerMs;
    if (!(dt > 0)) return this.logPrices[index];
    const rng = this.rng;

    if (t > this.marketTime) {
      this.marketValue += Math.sqrt((t - this.marketTime) * this.yearsPerMs) * rng.normal();
      this.marketTime = t;
    }
    const s = this.sectorOf[index];
    if (t > this.sectorTimes[s]) {
      this.sectorValues[s] += Math.sqrt((t - this.sectorTimes[s]) * this.yearsPerMs) * rng.normal();
      this.sectorTimes[s] = t;
    }
    const market = this.marketValue;
    const sector = this.sectorValues[s];

    let r =
      this.driftRate[index] * dt +
      this.marketLoad[index] * (market - this.marketAtLast[index]) +
      this.sectorLoad[index] * (sector - this.sectorAtLast[index]) +
      this.idioLoad[index] * Math.sqrt(dt) * rng.normal();

    const o = this.options;
    if (o.jumpIntensity > 0) {
      const jumps = rng.poisson(o.jumpIntensity * dt);
      if (jumps > 0) r += jumps * o.jumpMean + o.jumpStdDev * Math.sqrt(jumps) * rng.normal();
    }

    this.lastTimes[index] = t;
    this.marketAtLast[index] = market;
    this.sectorAtLast[index] = sector;
    return (this.logPrices[index] += r);
  }

  /** The unrounded log price of symbol `index`. */
  logPrice(index: number): number {
    return this.logPrices[index];
  }

  /** The last price of symbol `index` in whole cents, within [1, {@link MAX_PRICE_CENTS}]. */
  priceCents(index: number): number {
    const cents = Math.round(Math.exp(this.logPrices[index]) * 100);
    if (cents > MAX_PRICE_CENTS) return MAX_PRICE_CENTS;
    // Written so that NaN would also land on the floor.
    return cents >= 1 ? cents : 1;
  }

  /**
   * One trade of symbol `index` at `timeMs`: advances the price, then quotes
   * around it. The trade is on the ask (a buy) or on the bid (a sell) with
   * equal odds, so bid < price = ask or bid = price < ask, always on the cent
   * grid and bid ≥ $0.01. Size is log-normal in whole round lots.
   */
  trade(index: number, timeMs: number, seq: number): Tick {
    const t = timeMs > this.marketTime ? timeMs : this.marketTime;
    this.advance(index, t);
    const rng = this.rng;
    const cents = this.priceCents(index);
    let spread = Math.round(cents * this.spreadFrac[index]);
    if (spread < 1) spread = 1;
    // A quarter of quotes are a tick wider: real books flicker, and it keeps bid/ask visibly alive.
    if (rng.next() < 0.25) spread += 1;
    let bid: number;
    let ask: number;
    if (rng.next() < 0.5 && cents - spread >= 1) {
      bid = cents - spread;
      ask = cents;
    } else {
      bid = cents;
      ask = cents + spread;
    }
    let lots = Math.round(
      Math.exp(this.lnMedianLots[index] + this.options.lotSigma * rng.normal()),
    );
    if (lots < 1) lots = 1;
    else if (lots > MAX_LOTS) lots = MAX_LOTS;
    return {
      symbol: this.symbols[index],
      seq,
      ts: Math.floor(t),
      price: cents / 100,
      bid: bid / 100,
      ask: ask / 100,
      size: lots * 100,
    };
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
