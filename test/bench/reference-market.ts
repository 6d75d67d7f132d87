/**
 * What both reference servers share with ours: the same config parser, the
 * same instrument loader, the same simulator (so all three servers get the
 * same feed from the same seed) and the same quote shape. Session statistics
 * are kept here in flat arrays, without ours' candles: the references are
 * meant to do the least work that still produces identical quotes.
 */
import { type AppConfig, parseConfig } from '../../src/config/app-config.js';
import { loadInstruments } from '../../src/market/instrument-loader.js';
import { MarketSimulator } from '../../src/market/market-simulator.js';
import { buildQuote, snapshotWindow } from '../../src/market/quote.js';
import type { Instrument, SessionStats, Tick } from '../../src/shared/market.js';
import type { Quote, QuoteWindow, RejectedSymbol } from '../../src/shared/protocol.js';
import { normalizeSymbol } from '../../src/shared/symbols.js';

export class ReferenceMarket {
  readonly config: AppConfig;
  readonly instruments: Instrument[];
  readonly simulator: MarketSimulator;
  readonly slotOf = new Map<string, number>();
  readonly last: (Tick | undefined)[];
  private readonly prevCloseCents: Float64Array;
  private readonly open: Float64Array;
  private readonly high: Float64Array;
  private readonly low: Float64Array;
  private readonly volume: Float64Array;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.config = parseConfig(env);
    this.instruments = loadInstruments(this.config.symbolsFile);
    this.instruments.forEach((inst, i) => this.slotOf.set(inst.symbol, i));
    const n = this.instruments.length;
    this.last = new Array<Tick | undefined>(n);
    this.prevCloseCents = Float64Array.from(this.instruments, (i) =>
      Math.max(1, Math.round(i.refPrice * 100)),
    );
    this.open = new Float64Array(n);
    this.high = new Float64Array(n);
    this.low = new Float64Array(n);
    this.volume = new Float64Array(n);
    this.simulator = new MarketSimulator({
      instruments: this.instruments,
      seed: this.config.seed,
      ticksPerSecond: this.config.feedTicksPerSecond,
    });
  }

  /** Applies a tick to the session state and returns its symbol's slot. */
  apply(tick: Tick): number {
    const i = this.slotOf.get(tick.symbol)!;
    const { price, size } = tick;
    if (tick.seq === 1 || this.last[i] === undefined) {
      this.open[i] = this.high[i] = this.low[i] = price;
      this.volume[i] = size;
    } else {
      if (price > this.high[i]) this.high[i] = price;
      if (price < this.low[i]) this.low[i] = price;
      this.volume[i] += size;
    }
    this.last[i] = tick;
    return i;
  }

  session(i: number, price: number): SessionStats {
    const prev = this.prevCloseCents[i];
    const changeCents = Math.round(price * 100) - prev;
    return {
      open: this.open[i],
      high: this.high[i],
      low: this.low[i],
      prevClose: prev / 100,
      volume: this.volume[i],
      change: changeCents / 100,
      changePct: Math.round((changeCents * 10_000) / prev) / 100,
    };
  }

  quote(i: number, win: QuoteWindow): Quote {
    const last = this.last[i]!;
    return buildQuote(last, this.session(i, last.price), win);
  }

  snapshot(i: number): Quote | undefined {
    const last = this.last[i];
    return last
      ? buildQuote(last, this.session(i, last.price), snapshotWindow(last.price))
      : undefined;
  }

  /**
   * Minimal validation of a subscribe payload: enough to refuse garbage, not
   * the gateway's full rules. Returns the accepted slots, snapshot and rejections.
   */
  resolve(
    body: unknown,
  ): { slots: number[]; snapshot: Quote[]; rejected: RejectedSymbol[] } | undefined {
    const req = body as { symbols?: unknown };
    if (typeof body !== 'object' || body === null || !Array.isArray(req.symbols)) return undefined;
    const slots: number[] = [];
    const snapshot: Quote[] = [];
    const rejected: RejectedSymbol[] = [];
    for (const raw of req.symbols.slice(0, this.config.maxSymbolsPerClient)) {
      const symbol = (typeof raw === 'string' ? normalizeSymbol(raw) : undefined) ?? '';
      const slot = this.slotOf.get(symbol);
      if (slot === undefined) {
        rejected.push({ symbol, code: 'UNKNOWN_SYMBOL', message: 'unknown symbol' });
        continue;
      }
      if (slots.includes(slot)) continue;
      slots.push(slot);
      const q = this.snapshot(slot);
      if (q) snapshot.push(q);
    }
    return { slots, snapshot, rejected };
  }
}
