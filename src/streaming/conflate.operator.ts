import { Observable, type OperatorFunction, type SchedulerLike, asyncScheduler } from 'rxjs';
import type { SlotTick } from '../market/market-feed.js';
import type { Tick } from '../shared/market.js';
import type { QuoteWindow } from '../shared/protocol.js';

/** One conflated update: the latest tick plus the summary of every tick it stands for. */
export interface Conflated {
  last: Tick;
  win: QuoteWindow;
}

/**
 * Throttles ticks to at most one emission per `windowMs`, aggregating what it
 * holds back instead of dropping it, and emitting only while a shared clock
 * ticks (`TierClock`, tier-clock.ts) so every pipeline of a tier emits in the
 * same turn and can be batched per client.
 *
 * - Every tick is folded into one aggregate (o = first price, h/l = max/min
 *   price, v = Σ size, n = count, last = latest tick). A {@link SlotTick}
 *   (a gateway's bus slot) is folded as the run of trades it stands for.
 * - On each `clock$` value `g`, a non-empty aggregate is emitted if
 *   `g − lastEmitAt ≥ windowMs`; `lastEmitAt` becomes `g`.
 *
 * With a clock ticking every `windowMs / k` (k = FRAMES_PER_WINDOW, 1 by
 * default: see StreamRegistry), a busy symbol is emitted once per window on the
 * grid, and the first tick after a quiet spell leaves at the next grid tick,
 * at most `windowMs / k` later, instead of waiting for a whole window: no
 * emission is ever immediate, so a client's frames are at most k per window
 * however its symbols trade (what a per-tick leading edge could not promise:
 * on a sparse feed it gave each client a frame per trade). Consequences:
 * consecutive emissions are at least `windowMs` apart; every tick waits less
 * than `windowMs` (a quiet symbol's at most one clock period); every tick is
 * counted in exactly one emission.
 *
 * Emission times are the clock's nominal grid times, so a clock firing a few
 * ms late does not make a busy symbol skip a window.
 *
 * Completion of the source, or of the clock (no window can close any more),
 * flushes the pending aggregate and completes: the one case where two
 * emissions may be closer than `windowMs`. An error of either is propagated
 * and the pending aggregate discarded, as RxJS's buffering operators do.
 *
 * `clock$` must emit non-decreasing grid times in ms on the `scheduler`'s
 * time base, with a period dividing `windowMs`. Cost: no timer of its own and
 * no allocation per tick (the aggregate lives in closure scalars); one call
 * per clock tick.
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
      /** Grid time of the previous emission (the flush on completion: the scheduler's time). */
      let lastEmitAt = Number.NEGATIVE_INFINITY;

      // State is reset before emitting, so a tick pushed re-entrantly from
      // downstream lands in the next window instead of being lost or doubled.
      const emitPending = (at: number): void => {
        const out: Conflated = { last: last!, win: { o, h, l, v, n } };
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
            const run = (tick as Partial<SlotTick>).win;
            if (run !== undefined) {
              // A gateway's bus slot: fold its summary, which stands for run.n trades.
              if (n === 0) {
                o = run.o;
                h = run.h;
                l = run.l;
                v = run.v;
              } else {
                if (run.h > h) h = run.h;
                if (run.l < l) l = run.l;
                v += run.v;
              }
              n += run.n;
              last = tick;
              return;
            }
            const price = tick.price;
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
