import { Injectable } from '@nestjs/common';
import {
  asyncScheduler,
  BehaviorSubject,
  type Observable,
  type SchedulerLike,
  Subject,
  type Subscription,
} from 'rxjs';
import type { FeedState, Instrument, MarketSession, Tick } from '../shared/market.js';
import type { MarketFeed } from './market-feed.js';
import { HaltMonitor, type HaltRules } from './halt-monitor.js';
import { PriceModel, type PriceModelOptions } from './price-model.js';
import { Prng } from './prng.js';

/** Construction options of {@link MarketSimulator}. */
export interface MarketSimulatorOptions {
  instruments: readonly Instrument[];
  /** uint32 seed: the same seed on the same (virtual) clock gives the same ticks. */
  seed: number;
  /** Aggregate Poisson rate of trades across all symbols, per second of wall time. */
  ticksPerSecond: number;
  /** Clock and timer; defaults to `asyncScheduler`, a `VirtualTimeScheduler` in tests. */
  scheduler?: SchedulerLike;
  /** Generation period in ms (default 10): ticks carry their exact arrival time regardless. */
  stepMs?: number;
  /**
   * Longest stretch of time one step will catch up on (default 1000 ms). After
   * a longer stall of the event loop the missed span is skipped (and added to
   * `skippedMs`) instead of being replayed as an avalanche of stale ticks.
   */
  maxCatchUpMs?: number;
  model?: PriceModelOptions;
  /**
   * The trading calendar (MARKET_CALENDAR): the session at a time and when it
   * next changes. Absent, the market trades around the clock (`always`).
   */
  calendar?: TradingCalendar;
  /** Simulated trading halts (HALT_BAND_PCT): off when absent. */
  halts?: HaltRules;
}

/** A market's sessions over time (see src/market/calendar/nyse-calendar.ts). */
export interface TradingCalendar {
  session(ms: number): MarketSession;
  /** The first time after `ms` at which the session differs. */
  nextChange(ms: number): number;
}

/**
 * Share of the regular-hours trade rate in each session: pre-market and after
 * hours trade thinly (about a tenth of the regular volume on a US stock).
 */
export const SESSION_ACTIVITY: Readonly<Record<MarketSession, number>> = {
  always: 1,
  regular: 1,
  pre: 0.1,
  post: 0.1,
  closed: 0,
};

/** Receives generated ticks (the simulator's own subject, or a benchmark's sink). */
export type TickSink = (tick: Tick) => void;

/** Independent PRNG streams of one seed: arrivals and prices never share draws. */
const ARRIVAL_STREAM = 1;
const PRICE_STREAM = 2;

/** Distinguishes runs started in the same millisecond of the same process. */
let runCounter = 0;

/**
 * The simulated market: a Poisson stream of trades over the instrument
 * universe, priced by {@link PriceModel}.
 *
 * Arrivals form one Poisson process of rate `ticksPerSecond`; each arrival
 * picks its symbol with probability ∝ `tradeIntensity` (Walker's alias table:
 * one uniform draw, O(1)), which is the same as independent per-symbol Poisson
 * processes. Every `stepMs` of the scheduler's clock, every arrival up to
 * `scheduler.now()` is generated with its own exact time, so ticks are spaced
 * realistically however coarse the timer is.
 */
@Injectable()
export class MarketSimulator implements MarketFeed {
  readonly instruments: readonly Instrument[];
  readonly ticks$: Observable<Tick>;
  /** The current {@link FeedState}, replayed to each subscriber. */
  readonly state$: Observable<FeedState>;
  /** The halted symbols (sorted) now, then on each change; always empty without halts. */
  readonly halted$: Observable<readonly string[]>;
  /** The market session now (`always` without a calendar), then each change. */
  readonly session$: Observable<MarketSession>;

  private readonly seed: number;
  private readonly scheduler: SchedulerLike;
  private readonly stepMs: number;
  private readonly maxCatchUpMs: number;
  private readonly ratePerMs: number;
  private readonly modelOptions: PriceModelOptions;
  private readonly subject = new Subject<Tick>();
  private readonly stateSubject = new BehaviorSubject<FeedState>('idle');
  private readonly sessionSubject = new BehaviorSubject<MarketSession>('always');
  private readonly aliasProb: Float64Array;
  private readonly aliasIndex: Int32Array;
  private readonly seqs: Float64Array;

  private arrivalRng: Prng;
  private model: PriceModel;
  private currentEpoch: string;
  private opened = false;
  private timer: Subscription | undefined;
  /** Time up to which every arrival has been generated. */
  private cursorMs = 0;
  private nextArrivalMs = 0;
  private emitted = 0;
  private skipped = 0;
  private readonly calendar: TradingCalendar | undefined;
  private readonly halts: HaltMonitor | undefined;
  /** The session of the arrivals being generated, and the time it ends. */
  private session: MarketSession = 'always';
  private sessionEndsMs = Infinity;
  /** Each symbol's last trade price: the next session's prevClose. */
  private readonly lastPrices: Float64Array;

  private readonly emit: TickSink = (tick) => this.subject.next(tick);

  constructor(options: MarketSimulatorOptions) {
    const { instruments, seed, ticksPerSecond } = options;
    const stepMs = options.stepMs ?? 10;
    const maxCatchUpMs = options.maxCatchUpMs ?? 1000;
    const problems: string[] = [];
    if (instruments.length === 0) problems.push('at least one instrument is needed');
    if (!(ticksPerSecond > 0) || !Number.isFinite(ticksPerSecond)) {
      problems.push(`ticksPerSecond must be > 0, got ${ticksPerSecond}`);
    }
    if (!(stepMs > 0)) problems.push(`stepMs must be > 0, got ${stepMs}`);
    if (!(maxCatchUpMs >= stepMs))
      problems.push(`maxCatchUpMs must be ≥ stepMs, got ${maxCatchUpMs}`);
    if (problems.length > 0) throw new RangeError(`MarketSimulator: ${problems.join('; ')}`);

    this.instruments = instruments;
    this.seed = seed >>> 0;
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.stepMs = stepMs;
    this.maxCatchUpMs = maxCatchUpMs;
    this.ratePerMs = ticksPerSecond / 1000;
    this.modelOptions = options.model ?? {};
    this.ticks$ = this.subject.asObservable();
    this.state$ = this.stateSubject.asObservable();
    this.session$ = this.sessionSubject.asObservable();
    this.seqs = new Float64Array(instruments.length);
    this.lastPrices = new Float64Array(instruments.length);
    this.calendar = options.calendar;
    this.halts = options.halts
      ? new HaltMonitor(
          instruments.map((instrument) => instrument.symbol),
          options.halts,
        )
      : undefined;
    this.halted$ = this.halts?.halted$ ?? new BehaviorSubject<readonly string[]>([]);
    [this.aliasProb, this.aliasIndex] = buildAliasTable(instruments.map((i) => i.tradeIntensity));
    this.arrivalRng = new Prng(this.seed, ARRIVAL_STREAM);
    this.model = new PriceModel(instruments, new Prng(this.seed, PRICE_STREAM), this.modelOptions);
    this.currentEpoch = this.newEpoch();
  }

  /** Identifies this run; a restart (stop, then start) gets a new one, and so does a new process. */
  get epoch(): string {
    return this.currentEpoch;
  }

  /** Ticks generated since construction, opening ticks included. */
  get ticksEmitted(): number {
    return this.emitted;
  }

  /** Total clock time skipped after event-loop stalls longer than `maxCatchUpMs`. */
  get skippedMs(): number {
    return this.skipped;
  }

  /** `idle` before the first start(), `live` while running, `closed` after stop(). */
  get state(): FeedState {
    if (this.timer) return 'live';
    return this.opened ? 'closed' : 'idle';
  }

  /** True between start() and stop(): a step timer is pending. */
  get running(): boolean {
    return this.timer !== undefined;
  }

  /**
   * Opens a session at `scheduler.now()`: every symbol's sequence restarts at
   * 1 with one opening tick (so each has a last value from the first instant),
   * then ticks flow every `stepMs`. Idempotent while running.
   */
  start(): void {
    if (this.timer) return;
    if (this.opened) {
      // A restart is a new session: fresh state from the seed, new epoch, seq from 1.
      this.arrivalRng = new Prng(this.seed, ARRIVAL_STREAM);
      this.model = new PriceModel(
        this.instruments,
        new Prng(this.seed, PRICE_STREAM),
        this.modelOptions,
      );
      this.currentEpoch = this.newEpoch();
    }
    this.opened = true;
    const now = this.scheduler.now();
    this.model.reset(now);
    this.seqs.fill(0);
    this.cursorMs = now;
    this.nextArrivalMs = now + this.arrivalRng.exponential(this.ratePerMs);
    this.enterSession(now);
    this.schedule();
    this.stateSubject.next('live');
    for (let i = 0; i < this.instruments.length; i++) {
      this.emitted++;
      const tick = this.model.trade(i, now, ++this.seqs[i]);
      this.lastPrices[i] = tick.price;
      this.emit(tick);
    }
  }

  /** Stops the timer (idempotent); `ticks$` stays open for a later start. */
  stop(): void {
    if (!this.timer) return;
    this.timer.unsubscribe();
    this.timer = undefined;
    this.stateSubject.next('closed');
  }

  /**
   * Synchronously generates every arrival up to `timeMs` (inclusive) into
   * `sink` (default: `ticks$`) and returns how many. The timer uses it each
   * step; benchmarks call it directly to measure the generator alone. Needs a
   * session opened by {@link start}; a time already generated is a no-op.
   */
  generateUntil(timeMs: number, sink: TickSink = this.emit): number {
    if (!this.opened) throw new Error('MarketSimulator.generateUntil: call start() first');
    const rng = this.arrivalRng;
    const model = this.model;
    const seqs = this.seqs;
    const prob = this.aliasProb;
    const alias = this.aliasIndex;
    const n = prob.length;
    const rate = this.ratePerMs;
    const lastPrices = this.lastPrices;
    const halts = this.halts;
    let t = this.nextArrivalMs;
    let count = 0;
    let activity = SESSION_ACTIVITY[this.session];
    try {
      while (t <= timeMs) {
        if (t >= this.sessionEndsMs) {
          // The session changes (on a whole minute); at a regular open every symbol's session rolls.
          const opening = this.enterSession(this.sessionEndsMs);
          activity = SESSION_ACTIVITY[this.session];
          if (opening) count += this.openSessions(this.sessionStartMs, sink);
          continue;
        }
        if (activity === 0) {
          // Closed: no arrivals until the session changes (Poisson arrivals are memoryless).
          t = Math.min(this.sessionEndsMs, timeMs + 1);
          if (t > timeMs) break;
          t += rng.exponential(rate);
          continue;
        }
        // Alias draw: the integer part picks a column, the fraction decides column vs alias.
        const x = rng.next() * n;
        const column = x | 0;
        const i = x - column < prob[column] ? column : alias[column];
        const at = t;
        t += rng.exponential(rate);
        // Thinning a Poisson process keeps it Poisson, at `activity` times the rate.
        if (activity < 1 && rng.next() >= activity) continue;
        if (halts) {
          if (at >= halts.nextResumeMs) halts.resumeDue(at);
          // A halted symbol does not trade: its arrivals are dropped (thinning again).
          if (halts.isHalted(i, at)) continue;
        }
        const tick = model.trade(i, at, ++seqs[i]);
        lastPrices[i] = tick.price;
        count++;
        // The trade that breaks the band prints, then the symbol halts.
        if (halts) halts.observe(i, at, tick.price);
        sink(tick);
      }
    } finally {
      // Kept consistent even if the sink throws, so the next step resumes cleanly.
      this.nextArrivalMs = t;
      this.emitted += count;
      if (timeMs > this.cursorMs) this.cursorMs = Math.min(timeMs, t);
    }
    return count;
  }

  private step(): void {
    // Re-arm first so a throwing subscriber cannot stop the feed.
    this.schedule();
    const now = this.scheduler.now();
    const lag = now - this.cursorMs;
    if (lag > this.maxCatchUpMs) {
      // Poisson arrivals are memoryless: restarting the arrival clock at `now`
      // is exact. Prices jump over the gap on each symbol's next trade, as a
      // real market moves while a feed handler is stalled.
      this.skipped += lag;
      this.cursorMs = now;
      this.nextArrivalMs = now + this.arrivalRng.exponential(this.ratePerMs);
      return;
    }
    this.generateUntil(now);
  }

  /** Start of the session entered last. */
  private sessionStartMs = 0;

  /**
   * Enters the session in force at `ms`; true when it is a regular open that
   * follows another session (the moment a trading day's stats roll).
   */
  private enterSession(ms: number): boolean {
    const calendar = this.calendar;
    if (!calendar) return false;
    // Entered as arrivals are generated: the reported session lags the clock by a step at most.
    const before = this.session;
    this.session = calendar.session(ms);
    this.sessionStartMs = ms;
    this.sessionEndsMs = calendar.nextChange(ms);
    if (this.sessionSubject.value !== this.session) this.sessionSubject.next(this.session);
    return this.session === 'regular' && before !== 'regular' && before !== 'always';
  }

  /**
   * The regular open: one opening trade per symbol at `ms`, marked as opening
   * its session, its prevClose the symbol's last trade before the open (the
   * close of the day before, after hours included).
   */
  private openSessions(ms: number, sink: TickSink): number {
    // A new session: halts of the day before end, as LULD halts do not carry over.
    this.halts?.clear();
    for (let i = 0; i < this.instruments.length; i++) {
      const prevClose = this.lastPrices[i];
      const tick = this.model.trade(i, ms, ++this.seqs[i]);
      tick.opensSession = true;
      tick.prevClose = prevClose;
      this.lastPrices[i] = tick.price;
      sink(tick);
    }
    return this.instruments.length;
  }

  private schedule(): void {
    // A fresh action per step rather than `this.schedule()` recursion: on a
    // VirtualTimeScheduler recursion chains one subscription per step, which
    // grows without bound in long virtual runs. 100 timers/s cost nothing.
    this.timer = this.scheduler.schedule(() => this.step(), this.stepMs);
  }

  private newEpoch(): string {
    runCounter++;
    return `${this.seed}-${Date.now()}-${runCounter}`;
  }
}

/**
 * Walker/Vose alias table of the given positive weights: column i is taken
 * with probability prob[i], else its alias. Built in O(n), sampled in O(1).
 */
export function buildAliasTable(weights: readonly number[]): [Float64Array, Int32Array] {
  const n = weights.length;
  const total = weights.reduce((a, b) => a + b, 0);
  const prob = new Float64Array(n);
  const alias = new Int32Array(n);
  const scaled = weights.map((w) => (w * n) / total);
  const small: number[] = [];
  const large: number[] = [];
  scaled.forEach((p, i) => (p < 1 ? small : large).push(i));
  while (small.length > 0 && large.length > 0) {
    const s = small.pop()!;
    const l = large.pop()!;
    prob[s] = scaled[s];
    alias[s] = l;
    scaled[l] = scaled[l] + scaled[s] - 1;
    (scaled[l] < 1 ? small : large).push(l);
  }
  // Leftovers are 1 up to rounding error.
  for (const i of [...small, ...large]) {
    prob[i] = 1;
    alias[i] = i;
  }
  return [prob, alias];
}
