import { Observable, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import type { Tick } from '../shared/market.js';
import type { Conflated } from './conflate.operator.js';

/**
 * Conflation whose windows close on a shared clock (see {@link TierClock}).
 *
 * Same guarantees as {@link conflate}: at most one emission per `windowMs`
 * (consecutive emissions are at least `windowMs` apart), the first tick after
 * a quiet period goes out at once (leading edge), the latest tick of a window
 * is always delivered (trailing edge, on the first clock tick at least
 * `windowMs` after the previous emission), and every tick is counted in
 * exactly one emission with its window's open/high/low/volume/count.
 *
 * The difference: trailing edges land on the clock's grid, shared by every
 * pipeline of the tier, so they can be batched per client. A busy symbol is
 * therefore delivered exactly once per grid window; only the first window
 * after a leading edge can be up to twice as long.
 *
 * `clock$` must emit nominal grid times in ms (non-decreasing); `scheduler`
 * gives the current time for the leading-edge check.
 */
export function conflateOnClock(
  windowMs: number,
  clock$: Observable<number>,
  scheduler: SchedulerLike,
): OperatorFunction<Tick, Conflated> {
  if (!(windowMs > 0) || !Number.isFinite(windowMs)) {
    throw new RangeError(`conflateOnClock: windowMs must be a finite number > 0, got ${windowMs}`);
  }
  return (source) =>
    new Observable<Conflated>((subscriber) => {
      let n = 0;
      let o = 0;
      let h = 0;
      let l = 0;
      let v = 0;
      let last: Tick | null = null;
      /** Time of the previous emission: actual for leading edges, nominal for clock ones. */
      let lastEmitAt = Number.NEGATIVE_INFINITY;

      const emitPending = (at: number): void => {
        const out: Conflated = { last: last!, win: { o, h, l, v, n } };
        n = 0;
        last = null;
        lastEmitAt = at;
        subscriber.next(out);
      };

      // Always listening while subscribed: one call per pipeline per window, no timer of its own.
      const clockSub: Subscription = clock$.subscribe({
        next(gridTime) {
          if (n > 0 && gridTime - lastEmitAt >= windowMs) emitPending(gridTime);
        },
        error: (err: unknown) => subscriber.error(err),
      });
      subscriber.add(clockSub);

      const sourceSub = source.subscribe({
        next(tick) {
          if (subscriber.closed) return;
          const price = tick.price;
          if (n === 0) {
            const now = scheduler.now();
            if (now - lastEmitAt >= windowMs) {
              // Leading edge: quiet for at least a window, send at once.
              lastEmitAt = now;
              subscriber.next({
                last: tick,
                win: { o: price, h: price, l: price, v: tick.size, n: 1 },
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
        complete() {
          if (n > 0) emitPending(scheduler.now());
          subscriber.complete();
        },
      });
      subscriber.add(sourceSub);
    });
}
