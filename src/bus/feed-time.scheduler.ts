import { type SchedulerAction, type SchedulerLike, Subscription } from 'rxjs';

interface Action {
  readonly due: number;
  readonly order: number;
  readonly work: (this: SchedulerAction<unknown>, state?: unknown) => void;
  readonly state: unknown;
  cancelled: boolean;
}

/**
 * A scheduler whose time is the feed's, not this process's: `now()` is the
 * end of the last slot received from the bus, and a scheduled action runs
 * when a slot at or past its due time arrives ({@link advanceTo}).
 *
 * A gateway's tier clocks, conflation and quote batching run on it, so every
 * gateway closes the same windows at the same feed times whatever its own
 * clock's phase or its distance from Redis: two clients on two gateways get
 * the same quotes, window for window. While no batch comes (the feed or
 * Redis gone) time stands still and no window closes; when batches arrive
 * late in a burst, time jumps to the last one and a tier clock fires once at
 * the latest grid time (TierClock skips what it missed), so only the latest
 * window per tier goes out, not a burst of stale ones.
 *
 * Actions due at the same time run in the order they were scheduled. Only
 * what the streaming layer uses is supported: `schedule(work, delay)`, with
 * the action not rescheduling itself through `this.schedule` (TierClock
 * schedules a fresh action each time).
 */
export class FeedTimeScheduler implements SchedulerLike {
  private time: number;
  private readonly queue: Action[] = [];
  private scheduled = 0;
  private running = false;

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  /** Actions waiting (tier clocks with listeners): for tests and metrics. */
  get pending(): number {
    return this.queue.length;
  }

  schedule<T>(
    work: (this: SchedulerAction<T>, state?: T) => void,
    delay = 0,
    state?: T,
  ): Subscription {
    const action: Action = {
      due: this.time + Math.max(0, delay),
      order: this.scheduled++,
      work: work as Action['work'],
      state,
      cancelled: false,
    };
    // Few actions (one per tier with listeners): a sorted insert is cheapest.
    let at = this.queue.length;
    while (at > 0 && this.queue[at - 1].due > action.due) at--;
    this.queue.splice(at, 0, action);
    return new Subscription(() => {
      action.cancelled = true;
      const index = this.queue.indexOf(action);
      if (index >= 0) this.queue.splice(index, 1);
    });
  }

  /**
   * Moves time forward to `t` (never back: an older `t` is ignored) and runs
   * every action due by then, in due order, each seeing `now() === t`. An
   * action scheduled meanwhile that is due by `t` runs too. A throwing action
   * does not stop the others; the first error is rethrown at the end.
   */
  advanceTo(t: number): void {
    if (t > this.time) this.time = t;
    if (this.running) return;
    this.running = true;
    let failure: { err: unknown } | undefined;
    try {
      while (this.queue.length > 0 && this.queue[0].due <= this.time) {
        const action = this.queue.shift()!;
        if (action.cancelled) continue;
        try {
          action.work.call(fakeAction, action.state);
        } catch (err) {
          failure ??= { err };
        }
      }
    } finally {
      this.running = false;
    }
    if (failure) throw failure.err;
  }
}

/** `this` of a work function: the streaming layer never reschedules through it. */
const fakeAction = {
  schedule(): never {
    throw new Error('FeedTimeScheduler: rescheduling through the action is not supported');
  },
} as unknown as SchedulerAction<unknown>;
