import { BehaviorSubject, Subject } from 'rxjs';
import type { MarketFeed } from '../../src/market/market-feed.js';
import type { FeedState, Instrument, Tick } from '../../src/shared/market.js';

/** What a test says about a tick; the rest is filled in. */
export interface TickFields {
  symbol?: string;
  /** ms; defaults to the tick's seq, so ticks are spaced 1 ms apart. */
  ts?: number;
  price: number;
  size?: number;
  /** Overrides the per-symbol counter (e.g. a feed restarting at 1). */
  seq?: number;
}

/**
 * Builds ticks the way a feed numbers them: `seq` 1, 2, 3 … per symbol, the
 * bid a cent under the price and the ask at it. The one tick builder of the
 * unit and e2e specs.
 */
export class TickSequence {
  private readonly seqs = new Map<string, number>();

  constructor(private readonly defaultSymbol = 'AAPL') {}

  next(fields: TickFields): Tick {
    const symbol = fields.symbol ?? this.defaultSymbol;
    const seq = fields.seq ?? (this.seqs.get(symbol) ?? 0) + 1;
    this.seqs.set(symbol, seq);
    const { price } = fields;
    return {
      symbol,
      seq,
      ts: fields.ts ?? seq,
      price,
      bid: Math.round(price * 100 - 1) / 100,
      ask: price,
      size: fields.size ?? 100,
    };
  }
}

/**
 * A {@link MarketFeed} the test pushes ticks into by hand: nothing trades
 * unless the test says so, so counts on the wire and in metrics are exact.
 */
export class ManualFeed implements MarketFeed {
  private readonly source = new Subject<Tick>();
  readonly ticks$ = this.source.asObservable();
  private readonly stateSubject = new BehaviorSubject<FeedState>('live');
  /** The state the test sets ({@link setState}); `live` until then. */
  readonly state$ = this.stateSubject.asObservable();
  private readonly sequence = new TickSequence();
  started = false;

  constructor(
    readonly instruments: readonly Instrument[],
    public epoch = 'epoch-1',
  ) {}

  start(): void {
    this.started = true;
  }

  stop(): void {
    this.started = false;
  }

  get state(): FeedState {
    return this.stateSubject.value;
  }

  /** Moves the feed to `state`, as a live source does when its upstream goes quiet or away. */
  setState(state: FeedState): void {
    this.stateSubject.next(state);
  }

  /** Whether anything subscribes to the ticks (the feed's consumers let go on shutdown). */
  get observed(): boolean {
    return this.source.observed;
  }

  /** Emits a tick as given. */
  emit(tick: Tick): void {
    this.source.next(tick);
  }

  /** Emits the next tick of `fields.symbol` (seq per symbol, ts = now unless given). */
  trade(fields: TickFields): Tick {
    const tick = this.sequence.next({ ts: Date.now(), ...fields });
    this.source.next(tick);
    return tick;
  }
}
