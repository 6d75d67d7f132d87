import { Observable, type SchedulerAction, type SchedulerLike, Subject } from 'rxjs';

/**
 * One timer per update-rate tier, ticking on the wall-clock grid (multiples of
 * `periodMs` since the epoch) and emitting the *nominal* grid time.
 *
 * Every (symbol, tier) pipeline of a tier closes its windows on this shared
 * clock, so all of a tier's trailing updates happen in the same turn of the
 * event loop: the gateway can then send each client one frame holding all
 * its symbols, instead of one frame per symbol at scattered times.
 *
 * Emitting nominal times (not `now()`) keeps window arithmetic exact even when
 * the timer fires a few ms late. The timer runs only while someone listens.
 */
export class TierClock {
  private readonly ticks = new Subject<number>();
  private listeners = 0;
  private action: { unsubscribe(): void } | undefined;
  /** Called after every tick has been delivered to all listeners (the flush hook). */
  onAfterTick: ((gridTime: number) => void) | undefined;
  /** True while a tick is being delivered: emissions now are trailing edges on the grid. */
  inTick = false;

  constructor(
    readonly periodMs: number,
    private readonly scheduler: SchedulerLike,
  ) {
    if (!(periodMs > 0) || !Number.isFinite(periodMs)) {
      throw new RangeError(`TierClock: periodMs must be a finite number > 0, got ${periodMs}`);
    }
  }

  /** Grid times; subscribing starts the timer, the last unsubscribe stops it. */
  readonly ticks$ = new Observable<number>((subscriber) => {
    const sub = this.ticks.subscribe(subscriber);
    if (this.listeners++ === 0) this.start();
    return () => {
      sub.unsubscribe();
      if (--this.listeners === 0) this.stop();
    };
  });

  /** The first grid time strictly after `t` plus nothing: ceil to the grid, or the next one. */
  nextGridAfter(t: number): number {
    return (Math.floor(t / this.periodMs) + 1) * this.periodMs;
  }

  private start(): void {
    const clock = this;
    let due = this.nextGridAfter(this.scheduler.now());
    function tick(this: SchedulerAction<undefined>): void {
      const gridTime = due;
      due = clock.nextGridAfter(Math.max(clock.scheduler.now(), gridTime));
      // Reschedule before emitting so a listener unsubscribing (stop) cancels the next one.
      this.schedule(undefined, Math.max(0, due - clock.scheduler.now()));
      clock.inTick = true;
      try {
        clock.ticks.next(gridTime);
      } finally {
        clock.inTick = false;
      }
      clock.onAfterTick?.(gridTime);
    }
    this.action = this.scheduler.schedule(tick, Math.max(0, due - this.scheduler.now()));
  }

  private stop(): void {
    this.action?.unsubscribe();
    this.action = undefined;
  }
}
