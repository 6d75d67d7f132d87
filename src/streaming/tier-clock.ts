import {
  Observable,
  type SchedulerLike,
  Subject,
  type Subscription,
  asyncScheduler,
  config,
} from 'rxjs';

/**
 * One timer per update-rate tier, ticking on the wall-clock grid (multiples of
 * `periodMs` since the epoch) and emitting the *nominal* grid time.
 *
 * Every (symbol, tier) pipeline of a tier closes its windows on this shared
 * clock, so all of a tier's trailing updates happen in the same turn of the
 * event loop: the gateway can then send each client one frame holding all
 * its symbols, instead of one frame per symbol at scattered times.
 *
 * Emitting nominal times (not `now()`) keeps window arithmetic exact when the
 * timer fires a few ms late. A timer late by a period or more (a blocked event
 * loop) emits the latest grid time it has reached, once: missed ticks are
 * skipped, not replayed in a burst, and never reported stale.
 *
 * The timer runs only while someone listens: one scheduled action however many
 * listeners, cancelled by the last unsubscribe (even from inside a tick).
 */
export class TierClock {
  private readonly ticks = new Subject<number>();
  private listeners = 0;
  private action: Subscription | undefined;
  /** Grid time of the next tick while running. */
  private due = 0;
  /**
   * Called after every tick has been delivered to all listeners (the flush
   * hook). A throw is reported like an error in an RxJS callback
   * (`config.onUnhandledError`, else rethrown asynchronously) and the clock
   * keeps ticking: one bad flush must not silence the tier for good.
   */
  onAfterTick: ((gridTime: number) => void) | undefined;

  constructor(
    readonly periodMs: number,
    private readonly scheduler: SchedulerLike = asyncScheduler,
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

  /** Whether the timer is scheduled (someone listens). */
  get running(): boolean {
    return this.action !== undefined;
  }

  /** The first grid time strictly after `t`. */
  nextGridAfter(t: number): number {
    return (Math.floor(t / this.periodMs) + 1) * this.periodMs;
  }

  private start(): void {
    const now = this.scheduler.now();
    this.due = this.nextGridAfter(now);
    this.action = this.scheduler.schedule(this.onTimer, this.due - now);
  }

  private readonly onTimer = (): void => {
    const now = this.scheduler.now();
    // On time (or early: the wall clock stepped back) it is the due grid time;
    // late, the latest grid time reached, so listeners never see a stale one.
    const gridTime = Math.max(this.due, Math.floor(now / this.periodMs) * this.periodMs);
    this.due = gridTime + this.periodMs;
    // Scheduled before delivering, so a listener stopping the clock cancels it.
    // A fresh action rather than `this.schedule()` recursion: on a
    // VirtualTimeScheduler recursion chains one child subscription per tick
    // (memory, and stack depth on unsubscribe, grow without bound); on
    // asyncScheduler it costs one setInterval per tick per tier, nothing.
    this.action = this.scheduler.schedule(this.onTimer, Math.max(0, this.due - now));
    this.deliver(gridTime);
  };

  private deliver(gridTime: number): void {
    try {
      this.ticks.next(gridTime);
    } catch (err) {
      // Listeners subscribed with plain observers cannot throw here (RxJS
      // reports their errors itself); a raw Subscriber could. Keep ticking.
      reportLater(err);
    }
    try {
      this.onAfterTick?.(gridTime);
    } catch (err) {
      reportLater(err);
    }
  }

  private stop(): void {
    this.action?.unsubscribe();
    this.action = undefined;
  }
}

/** What RxJS does with an error thrown by a subscriber's callback. */
function reportLater(err: unknown): void {
  setTimeout(() => {
    const { onUnhandledError } = config;
    if (onUnhandledError !== null) onUnhandledError(err);
    else throw err;
  });
}
