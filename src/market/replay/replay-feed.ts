import {
  asyncScheduler,
  BehaviorSubject,
  type Observable,
  type SchedulerLike,
  Subject,
} from 'rxjs';
import type { ReplaySpeed } from '../../config/app-config.js';
import type { FeedState, Instrument, Tick } from '../../shared/market.js';
import type { MarketFeed } from '../market-feed.js';
import type { ReplayFileError } from './replay-file.error.js';
import { ReplayPlayer } from './replay-player.js';
import { ReplayReader, type ReplayReaderSink, type ReplayRowSource } from './replay-reader.js';
import type { ReplayRow } from './replay-row.js';
import type { ReplayScan } from './replay-scan.js';

/** Construction options of {@link ReplayFeed}. */
export interface ReplayFeedOptions {
  /** The boot scan of the file: its format and universe. */
  scan: ReplayScan;
  /** The universe (see replayInstruments), one per scanned symbol. */
  instruments: readonly Instrument[];
  /** FEED_SYMBOLS as configured (a binance-trades file takes its symbol from it). */
  feedSymbols: readonly string[];
  speed: ReplaySpeed;
  /** Start again at the first row, with a new epoch, after the last. */
  loop: boolean;
  /** Clock and timer; defaults to `asyncScheduler`, a `VirtualTimeScheduler` in tests. */
  scheduler?: SchedulerLike;
  /** Where the feed reports the end of a pass or a file that went bad since the scan. */
  log?: { log(message: string): void; error(message: string): void };
  /** Opens one pass over the rows; the file by default (tests pass rows of their own). */
  openSource?: (sink: ReplayReaderSink) => ReplayRowSource;
  /** Player tuning (rows queued before the source is held, rows per event-loop turn). */
  highWaterRows?: number;
  sliceRows?: number;
}

/** Distinguishes replays started in the same millisecond of the same process. */
let runCounter = 0;

/**
 * A recorded file played as the market: the playback pass of FEED=replay
 * (the boot scan, {@link ReplayScan}, has already checked the file and
 * established the universe).
 *
 * Every row is one tick, in file order, `seq` 1, 2, 3 … per symbol within an
 * epoch; times are rebased and paced by {@link ReplayPlayer}. After the last
 * row the feed is `closed` and the last values stay where MarketStateService
 * keeps them, or with `loop` a new epoch plays the file again from its first
 * row (every `seq` from 1, so every session opens afresh). A file that fails
 * during playback (changed since the scan) is logged and closes the feed; the
 * tick stream itself never errors.
 */
export class ReplayFeed implements MarketFeed {
  readonly instruments: readonly Instrument[];
  readonly ticks$: Observable<Tick>;
  /** The current {@link FeedState}, replayed to each subscriber. */
  readonly state$: Observable<FeedState>;

  private readonly subject = new Subject<Tick>();
  private readonly stateSubject = new BehaviorSubject<FeedState>('idle');
  private readonly index = new Map<string, number>();
  private readonly seqs: Float64Array;
  private readonly player: ReplayPlayer;
  private readonly openSource: (sink: ReplayReaderSink) => ReplayRowSource;
  private source: ReplayRowSource | undefined;
  private currentEpoch: string;
  private started = false;
  private pass = 0;
  private passRows = 0;
  private emitted = 0;
  private failed = false;

  constructor(private readonly options: ReplayFeedOptions) {
    this.instruments = options.instruments;
    this.ticks$ = this.subject.asObservable();
    this.state$ = this.stateSubject.asObservable();
    options.instruments.forEach((instrument, i) => this.index.set(instrument.symbol, i));
    this.seqs = new Float64Array(options.instruments.length);
    const accept = new Set(this.index.keys());
    this.openSource =
      options.openSource ??
      ((sink) =>
        new ReplayReader(
          {
            file: options.scan.file,
            format: options.scan.format,
            symbols: options.feedSymbols,
            accept,
          },
          sink,
        ));
    this.player = new ReplayPlayer({
      scheduler: options.scheduler ?? asyncScheduler,
      speed: options.speed,
      emit: (row, ts) => this.emit(row, ts),
      drained: () => this.passOver(),
      pause: () => this.source?.pause(),
      resume: () => this.source?.resume(),
      highWaterRows: options.highWaterRows,
      sliceRows: options.sliceRows,
    });
    this.currentEpoch = this.newEpoch();
  }

  /** Identifies this run: a new one for each pass over the file and each restart. */
  get epoch(): string {
    return this.currentEpoch;
  }

  get state(): FeedState {
    return this.stateSubject.value;
  }

  /** Ticks emitted since construction, every pass included. */
  get ticksEmitted(): number {
    return this.emitted;
  }

  /** Passes over the file started (1 for a replay without loop). */
  get passes(): number {
    return this.pass;
  }

  /** Plays the file from its first row (idempotent while playing; after a stop, a new epoch). */
  start(): void {
    if (this.source) return;
    if (this.started) this.currentEpoch = this.newEpoch();
    this.started = true;
    this.failed = false;
    this.beginPass();
  }

  /** Stops reading and playing (idempotent); the feed is `closed` until started again. */
  stop(): void {
    const source = this.source;
    this.source = undefined;
    source?.close();
    this.player.stop();
    if (this.started) this.setState('closed');
  }

  private beginPass(): void {
    this.pass++;
    this.passRows = 0;
    this.seqs.fill(0);
    this.player.begin();
    const source = this.openSource({
      rows: (batch) => {
        if (this.source === source) this.player.push(batch);
      },
      end: (error) => {
        if (this.source !== source) return;
        if (error) this.fail(error);
        this.player.end();
      },
    });
    this.source = source;
    this.setState('live');
    source.start();
  }

  private emit(row: ReplayRow, ts: number): void {
    const i = this.index.get(row.symbol);
    if (i === undefined) return;
    this.passRows++;
    this.emitted++;
    this.subject.next({
      symbol: row.symbol,
      seq: ++this.seqs[i],
      ts,
      price: row.price,
      bid: row.bid,
      ask: row.ask,
      size: row.size,
    });
  }

  private passOver(): void {
    this.source = undefined;
    const { scan, loop, log } = this.options;
    log?.log(`replay of ${scan.file}: pass ${this.pass} played ${this.passRows} rows`);
    // A pass without rows would loop without end: the file changed since the scan.
    if (loop && !this.failed && this.passRows > 0) {
      this.currentEpoch = this.newEpoch();
      this.beginPass();
      return;
    }
    this.setState('closed');
  }

  private fail(error: ReplayFileError): void {
    this.failed = true;
    this.options.log?.error(`${error.message} (the file changed since the boot scan?)`);
  }

  private setState(state: FeedState): void {
    if (this.stateSubject.value !== state) this.stateSubject.next(state);
  }

  private newEpoch(): string {
    runCounter++;
    return `replay-${Date.now()}-${runCounter}`;
  }
}
