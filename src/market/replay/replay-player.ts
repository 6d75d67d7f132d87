import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import type { ReplaySpeed } from '../../config/app-config.js';
import { offsetMs, type ReplayRow } from './replay-row.js';

/** Construction options of {@link ReplayPlayer}. */
export interface ReplayPlayerOptions {
  /** Clock and timer; a `VirtualTimeScheduler` in tests. */
  scheduler?: SchedulerLike;
  speed: ReplaySpeed;
  /** Plays one row, stamped `ts` on the scheduler's clock. */
  emit: (row: ReplayRow, ts: number) => void;
  /** The pass is over: {@link ReplayPlayer.end} was called and every row played. */
  drained: () => void;
  /** Back-pressure on the row source: hold it / let it go on. */
  pause: () => void;
  resume: () => void;
  /**
   * Rows queued (at a finite speed) at which the source is held; it goes on
   * below half of it. 20,000 rows are ~2 MB, minutes of a busy stock's tape.
   */
  highWaterRows?: number;
  /**
   * Most rows played per turn of the event loop before yielding to it (rows
   * that are overdue at a high speed): 5,000 rows take a few ms downstream.
   */
  sliceRows?: number;
}

/**
 * Plays rows on the scheduler's clock. A pass rebases the file's times: its
 * first row plays when it arrives, at clock time `t0`, and a row `d` ms of
 * file time later plays at `t0 + d / speed`, stamped with that time, so the
 * spacing is kept (divided by the speed) and ticks are never stamped in the
 * future. At speed `max` rows play as they arrive, stamped with the clock.
 *
 * Back-pressure: at a finite speed rows wait in a queue that holds the
 * source above {@link ReplayPlayerOptions.highWaterRows}; at `max` a batch
 * plays at once inside the source's callback, so the source reads no faster
 * than the ticks are taken, and a batch (one chunk of the file) bounds the
 * work of one event-loop turn.
 */
export class ReplayPlayer {
  private readonly scheduler: SchedulerLike;
  private readonly highWater: number;
  private readonly slice: number;
  /** Batches waiting; `head` is the first not finished, `pos` the next row in it. */
  private queue: (ReplayRow[] | undefined)[] = [];
  private head = 0;
  private pos = 0;
  private queued = 0;
  private paused = false;
  private ended = false;
  private action: Subscription | undefined;
  /** The pass's first row and the clock time it played at. */
  private origin: ReplayRow | undefined;
  private base = 0;
  private lastTs = -Infinity;

  constructor(private readonly options: ReplayPlayerOptions) {
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.highWater = options.highWaterRows ?? 20_000;
    this.slice = options.sliceRows ?? 5_000;
  }

  /** Rows waiting to play. */
  get pending(): number {
    return this.queued;
  }

  /** Starts a pass: the next row pushed is the new origin of the file's time. */
  begin(): void {
    this.reset();
    this.ended = false;
    this.origin = undefined;
  }

  /** Adds the next rows of the pass, in file order. */
  push(batch: readonly ReplayRow[]): void {
    if (batch.length === 0) return;
    if (this.options.speed === 'max') {
      const { emit } = this.options;
      const ts = Math.max(this.scheduler.now(), this.lastTs);
      this.lastTs = ts;
      for (let i = 0; i < batch.length; i++) emit(batch[i], ts);
      return;
    }
    this.queue.push(batch as ReplayRow[]);
    this.queued += batch.length;
    if (!this.paused && this.queued >= this.highWater) {
      this.paused = true;
      this.options.pause();
    }
    if (this.action === undefined) this.drain();
  }

  /** No more rows in this pass: `drained` follows once the queue has played. */
  end(): void {
    this.ended = true;
    if (this.action === undefined) this.drain();
  }

  /** Drops the queue and cancels the pending timer. */
  stop(): void {
    this.reset();
    this.ended = false;
  }

  private reset(): void {
    this.action?.unsubscribe();
    this.action = undefined;
    this.queue = [];
    this.head = 0;
    this.pos = 0;
    this.queued = 0;
    this.paused = false;
  }

  private drain(): void {
    this.action = undefined;
    const speed = this.options.speed;
    if (speed !== 'max') {
      const now = this.scheduler.now();
      const { emit } = this.options;
      let budget = this.slice;
      while (this.head < this.queue.length) {
        const batch = this.queue[this.head]!;
        while (this.pos < batch.length) {
          const row = batch[this.pos];
          if (this.origin === undefined) {
            this.origin = row;
            this.base = Math.max(now, this.lastTs);
          }
          const due = this.base + offsetMs(row, this.origin) / speed;
          if (due > now) {
            this.wait(Math.ceil(due - now));
            return;
          }
          if (budget-- === 0) {
            this.wait(0);
            return;
          }
          this.pos++;
          this.queued--;
          this.lastTs = due;
          emit(row, due);
        }
        this.queue[this.head++] = undefined;
        this.pos = 0;
      }
      this.queue = [];
      this.head = 0;
    }
    this.maybeResume();
    if (this.ended && this.queued === 0) {
      this.ended = false;
      this.options.drained();
    }
  }

  private wait(delay: number): void {
    this.maybeResume();
    this.action = this.scheduler.schedule(() => this.drain(), delay);
  }

  private maybeResume(): void {
    if (this.paused && this.queued <= this.highWater / 2) {
      this.paused = false;
      this.options.resume();
    }
  }
}
