import { BehaviorSubject, type Observable } from 'rxjs';

/**
 * When a symbol's trading halts, LULD-style (the US "limit up–limit down"
 * pauses): a symbol whose price moves more than `bandPct` within `windowMs`
 * halts for `durationMs`.
 */
export interface HaltRules {
  /** Largest move within the window, in percent of the window's low (up) or high (down). */
  bandPct: number;
  /** The window the move is measured over (LULD: 5 minutes). */
  windowMs: number;
  /** How long a halt lasts (LULD: 5 minutes). */
  durationMs: number;
}

/** Buckets per window: the window's low and high are known to 1/30 of it. */
const BUCKETS = 30;

/**
 * Watches each symbol's trades for moves beyond a band and halts it. The
 * window's low and high come from 30 buckets per symbol (each the low and
 * high of 1/30 of the window), so a trade costs O(30) and memory is fixed per
 * symbol whatever the trade rate. A halted symbol resumes `durationMs` later
 * with a fresh window, as a reopened symbol starts from its reopening price.
 *
 * The halted symbols are published as a sorted list on every change.
 */
export class HaltMonitor {
  private readonly band: number;
  private readonly bucketMs: number;
  private readonly start: Float64Array;
  private readonly low: Float64Array;
  private readonly high: Float64Array;
  /** Per symbol: the time its halt ends, 0 when trading. */
  private readonly until: Float64Array;
  private readonly subject = new BehaviorSubject<readonly string[]>([]);
  /** The earliest time a halt ends (Infinity when none is on). */
  nextResumeMs = Infinity;
  /** Halts started since construction. */
  haltsTotal = 0;

  /** The halted symbols, sorted; the current list first. */
  readonly halted$: Observable<readonly string[]> = this.subject.asObservable();

  constructor(
    private readonly symbols: readonly string[],
    private readonly rules: HaltRules,
  ) {
    if (!(rules.bandPct > 0) || !(rules.windowMs > 0) || !(rules.durationMs > 0)) {
      throw new RangeError('HaltMonitor: bandPct, windowMs and durationMs must be > 0');
    }
    this.band = rules.bandPct / 100;
    this.bucketMs = rules.windowMs / BUCKETS;
    const n = symbols.length * BUCKETS;
    this.start = new Float64Array(n).fill(-Infinity);
    this.low = new Float64Array(n);
    this.high = new Float64Array(n);
    this.until = new Float64Array(symbols.length);
  }

  /** The halted symbols now. */
  get halted(): readonly string[] {
    return this.subject.value;
  }

  /** Whether symbol `i` is halted at `ms` (call {@link resumeDue} first when `ms` ≥ nextResumeMs). */
  isHalted(i: number, ms: number): boolean {
    return this.until[i] > ms;
  }

  /**
   * Records a trade of symbol `i`; true when it moved the symbol beyond the
   * band, which halts it from now (the trade itself printed).
   */
  observe(i: number, ms: number, price: number): boolean {
    const bucket = Math.floor(ms / this.bucketMs);
    const base = i * BUCKETS;
    const at = base + (bucket % BUCKETS);
    if (this.start[at] !== bucket) {
      this.start[at] = bucket;
      this.low[at] = price;
      this.high[at] = price;
    } else if (price < this.low[at]) {
      this.low[at] = price;
    } else if (price > this.high[at]) {
      this.high[at] = price;
    }
    let low = Infinity;
    let high = -Infinity;
    for (let k = base; k < base + BUCKETS; k++) {
      if (this.start[k] <= bucket - BUCKETS) continue;
      if (this.low[k] < low) low = this.low[k];
      if (this.high[k] > high) high = this.high[k];
    }
    if (price <= low * (1 + this.band) && price >= high * (1 - this.band)) return false;
    this.halt(i, ms);
    return true;
  }

  /** Ends every halt due by `ms`. */
  resumeDue(ms: number): void {
    if (ms < this.nextResumeMs) return;
    let next = Infinity;
    let changed = false;
    for (let i = 0; i < this.until.length; i++) {
      const until = this.until[i];
      if (until === 0) continue;
      if (until <= ms) {
        this.until[i] = 0;
        changed = true;
      } else if (until < next) {
        next = until;
      }
    }
    this.nextResumeMs = next;
    if (changed) this.publish();
  }

  /** Ends every halt and forgets every window (a new trading session). */
  clear(): void {
    this.start.fill(-Infinity);
    const wasHalted = this.subject.value.length > 0;
    this.until.fill(0);
    this.nextResumeMs = Infinity;
    if (wasHalted) this.publish();
  }

  private halt(i: number, ms: number): void {
    const until = ms + this.rules.durationMs;
    this.until[i] = until;
    if (until < this.nextResumeMs) this.nextResumeMs = until;
    // It reopens with a fresh window: the move that halted it is not held against it again.
    this.start.fill(-Infinity, i * BUCKETS, (i + 1) * BUCKETS);
    this.haltsTotal++;
    this.publish();
  }

  private publish(): void {
    const halted: string[] = [];
    for (let i = 0; i < this.until.length; i++) if (this.until[i] > 0) halted.push(this.symbols[i]);
    halted.sort();
    this.subject.next(halted);
  }
}
