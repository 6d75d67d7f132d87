import { Observable, type OperatorFunction, type SchedulerLike, asyncScheduler } from 'rxjs';
import type { Tick } from '../shared/market.js';
import type { QuoteWindow } from '../shared/protocol.js';

/**
 * Which edge of the window an update is: `leading` = the first tick after a
 * quiet window, sent at once and alone; `trailing` = the aggregate of a
 * window, emitted while the tier clock ticks (or when the stream ends).
 */
export type Edge = 'leading' | 'trailing';

/** One conflated update: the latest tick plus the summary of every tick it stands for. */
export interface Conflated {
  last: Tick;
  win: QuoteWindow;
  edge: Edge;
}

/**
 * Throttles ticks to at most one emission per `windowMs`, with a leading and a
 * trailing edge, aggregating what it holds back instead of dropping it. The
 * trailing edges land on a shared clock (`TierClock`, tier-clock.ts), so every
 * pipeline of a tier emits in the same turn and can be batched per client.
 *
 * - A tick arriving at least `windowMs` after the previous emission, with
 *   nothing pending, goes out at once, alone (`win.n === 1`): the leading edge.
 * - Any other tick is folded into one aggregate (o = first price, h/l = max/min
 *   price, v = Σ size, n = count, last = latest tick).
 * - On each `clock$` value `g`, a non-empty aggregate is emitted if
 *   `g − lastEmitAt ≥ windowMs`: the trailing edge, on the grid.
 *
 * `lastEmitAt` is the scheduler's time for a leading edge and the clock's
 * nominal grid time for a trailing one, so a clock firing a few ms late does
 * not make a busy symbol skip a window. Consequences (no lateness):
 * consecutive emissions are at least `windowMs` apart; a busy symbol is
 * delivered once per grid window, each tick within `windowMs`; only the first
 * window after a leading edge is longer, so any tick waits less than
 * `2 × windowMs`; every tick is counted in exactly one emission.
 *
 * Completion of the source, or of the clock (no window can close any more),
 * flushes the pending aggregate and completes: the one case where two
 * emissions may be closer than `windowMs`. An error of either is propagated
 * and the pending aggregate discarded, as RxJS's buffering operators do.
 *
 * `clock$` must emit non-decreasing grid times in ms on the `scheduler`'s
 * time base, with a period equal to `windowMs` (or dividing it) for the
 * latency bounds above to hold. Cost: no timer of its own and no allocation
 * per tick (the aggregate lives in closure scalars); one call per clock tick.
 */
export function conflate(
  windowMs: number,
  clock$: Observable<number>,
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
      /** Time of the previous emission: actual for a leading edge, nominal for a clock one. */
      let lastEmitAt = Number.NEGATIVE_INFINITY;

      // State is reset before emitting, so a tick pushed re-entrantly from
      // downstream lands in the next window instead of being lost or doubled.
      const emitPending = (at: number): void => {
        const out: Conflated = { last: last!, win: { o, h, l, v, n }, edge: 'trailing' };
        n = 0;
        last = null;
        lastEmitAt = at;
        subscriber.next(out);
      };

      const flushAndComplete = (): void => {
        if (n > 0) emitPending(scheduler.now());
        subscriber.complete();
      };

      // Listening all along (not only while something is pending) costs one
      // call per window and spares a subscribe/unsubscribe per burst.
      subscriber.add(
        clock$.subscribe({
          next(gridTime) {
            if (n > 0 && gridTime - lastEmitAt >= windowMs) emitPending(gridTime);
          },
          error: (err: unknown) => subscriber.error(err),
          complete: flushAndComplete,
        }),
      );
      // The clock failed or ended while subscribing: do not start the source at all.
      if (subscriber.closed) return;

      subscriber.add(
        source.subscribe({
          next(tick) {
            if (subscriber.closed) return;
            const price = tick.price;
            if (n === 0) {
              const now = scheduler.now();
              if (now - lastEmitAt >= windowMs) {
                lastEmitAt = now;
                subscriber.next({
                  last: tick,
                  win: { o: price, h: price, l: price, v: tick.size, n: 1 },
                  edge: 'leading',
                });
                return;
              }
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
          error: (err: unknown) => subscriber.error(err),
          complete: flushAndComplete,
        }),
      );

      return () => {
        // Drop the held tick now rather than when the closure is collected.
        last = null;
        n = 0;
      };
    });
}
