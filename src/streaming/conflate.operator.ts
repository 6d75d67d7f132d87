import {
  Observable,
  type OperatorFunction,
  type SchedulerAction,
  type SchedulerLike,
  type Subscription,
  asyncScheduler,
} from 'rxjs';
import type { Tick } from '../shared/market.js';
import type { QuoteWindow } from '../shared/protocol.js';

/** One conflated update: the latest tick plus the summary of every tick it stands for. */
export interface Conflated {
  last: Tick;
  win: QuoteWindow;
}

/**
 * Throttles ticks to at most one emission per `windowMs`, with a leading and a
 * trailing edge, aggregating what it holds back instead of dropping it.
 *
 * - After a quiet period the first tick goes out at once (`win.n === 1`) and a
 *   window opens.
 * - Ticks inside an open window are folded into one aggregate (o = first price,
 *   h/l = max/min price, v = Σ size, n = count, last = latest tick).
 * - When the window ends, a non-empty aggregate is emitted and the next window
 *   opens at once; an empty window closes and the stream is quiet again.
 *
 * So the last tick of a burst is always delivered, no later than `windowMs`
 * after it arrived, and every tick is counted in exactly one emission. On
 * completion the pending aggregate is flushed first (the one case where two
 * emissions may be closer than `windowMs`); on error it is discarded, as
 * RxJS's buffering operators do.
 *
 * Cost: no allocation per tick (the aggregate lives in closure scalars) and one
 * scheduler action per run of consecutive windows, rescheduled recursively so
 * `asyncScheduler` keeps a single `setInterval` instead of one timer per tick.
 */
export function conflate(
  windowMs: number,
  scheduler: SchedulerLike = asyncScheduler,
): OperatorFunction<Tick, Conflated> {
  if (!(windowMs > 0) || !Number.isFinite(windowMs)) {
    throw new RangeError(`conflate: windowMs must be a finite number > 0, got ${windowMs}`);
  }

  return (source) =>
    new Observable<Conflated>((subscriber) => {
      // Aggregate of the ticks seen since the last emission; n === 0 means empty.
      let n = 0;
      let o = 0;
      let h = 0;
      let l = 0;
      let v = 0;
      let last: Tick | null = null;
      // Non-null exactly while a window is open.
      let timer: Subscription | null = null;

      const takeAggregate = (): Conflated => {
        const out: Conflated = { last: last!, win: { o, h, l, v, n } };
        n = 0;
        last = null;
        return out;
      };

      function onWindowEnd(this: SchedulerAction<undefined>): void {
        if (n === 0) {
          timer = null;
          return;
        }
        // State is reset and the next window scheduled before emitting, so a
        // tick pushed re-entrantly from downstream lands in the new window.
        const out = takeAggregate();
        this.schedule(undefined, windowMs);
        subscriber.next(out);
      }

      subscriber.add(() => {
        timer?.unsubscribe();
        timer = null;
        last = null;
      });

      return source.subscribe({
        next(tick) {
          if (subscriber.closed) return;
          const price = tick.price;
          if (timer === null) {
            // Leading edge: open the window first (see onWindowEnd for why).
            timer = scheduler.schedule(onWindowEnd, windowMs);
            subscriber.next({
              last: tick,
              win: { o: price, h: price, l: price, v: tick.size, n: 1 },
            });
            return;
          }
          if (n === 0) {
            o = h = l = price;
            v = tick.size;
          } else {
            if (price > h) h = price;
            if (price < l) l = price;
            v += tick.size;
          }
          n++;
          last = tick;
        },
        error(err: unknown) {
          subscriber.error(err);
        },
        complete() {
          if (n > 0) subscriber.next(takeAggregate());
          subscriber.complete();
        },
      });
    });
}
