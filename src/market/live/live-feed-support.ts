import type { SchedulerLike, Subscription } from 'rxjs';
import type * as v from 'valibot';
import type WebSocket from 'ws';
import type { Tick } from '../../shared/market.js';

/** Where a live feed reports what happens to its upstream. */
export interface LiveFeedLog {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Ticks handed downstream per scheduler turn, so that socket reads interleave with a large backlog. */
const DRAIN_SLICE = 1000;

/** Construction options of {@link LiveTickQueue}. */
export interface LiveTickQueueOptions {
  /** Each symbol's index (the feed's universe order), for its `seq`. */
  index: ReadonlyMap<string, number>;
  /** Ticks held at most; beyond, the oldest is dropped. */
  capacity: number;
  scheduler: SchedulerLike;
  /** Hands one numbered tick downstream (a throw is caught and logged). */
  emit: (tick: Tick) => void;
  /** Called with each tick as it gets its `seq`, before it is emitted (e.g. a seq-1 prevClose). */
  numbered?: (tick: Tick, index: number) => void;
  log?: LiveFeedLog;
}

/**
 * The bounded buffer between a live source's socket and the subscribers: the
 * socket's reads never wait for the downstream. Ticks are handed on from a
 * scheduler turn of their own, {@link DRAIN_SLICE} at a time. When full, the
 * oldest waiting tick goes: the newest carries the current price and book,
 * which is what every quote shows, while an old one is superseded by the
 * time it would be sent. `seq` (per symbol, 1, 2, 3 … for the life of the
 * queue, so across reconnects) is given at the drain, so a drop leaves no
 * gap in it.
 */
export class LiveTickQueue {
  private readonly seqs: Float64Array;
  private buffer: Tick[] = [];
  private head = 0;
  private timer: Subscription | undefined;
  private closed = false;
  /** Ticks dropped because the buffer was full. */
  dropped = 0;
  /** Ticks handed downstream. */
  emitted = 0;

  constructor(private readonly options: LiveTickQueueOptions) {
    this.seqs = new Float64Array(options.index.size);
  }

  /** Ticks waiting. */
  get size(): number {
    return this.buffer.length - this.head;
  }

  push(tick: Tick): void {
    if (this.closed) return;
    if (this.size >= this.options.capacity) {
      this.head++;
      if (this.dropped++ === 0) {
        this.options.log?.warn(
          `tick buffer full (${this.options.capacity}): the downstream is slower than the feed, dropping the oldest ticks`,
        );
      }
    }
    this.buffer.push(tick);
    this.timer ??= this.options.scheduler.schedule(() => this.drain(), 0);
  }

  /** Drops what waits and hands on nothing more; logs the drops, if any. */
  close(): void {
    this.closed = true;
    this.timer?.unsubscribe();
    this.timer = undefined;
    this.buffer = [];
    this.head = 0;
    if (this.dropped > 0) {
      this.options.log?.warn(`${this.dropped} tick(s) dropped in all: the buffer was full`);
    }
  }

  private drain(): void {
    this.timer = undefined;
    const { index, emit, numbered, log } = this.options;
    const end = Math.min(this.buffer.length, this.head + DRAIN_SLICE);
    for (; this.head < end && !this.closed; this.head++) {
      const tick = this.buffer[this.head];
      const i = index.get(tick.symbol)!;
      tick.seq = ++this.seqs[i];
      numbered?.(tick, i);
      this.emitted++;
      try {
        emit(tick);
      } catch (err) {
        log?.error(`a tick subscriber failed: ${String(err)}`);
      }
    }
    if (this.closed) return;
    if (this.head >= this.buffer.length) {
      this.buffer = [];
      this.head = 0;
      return;
    }
    // Compact now and then, so a long backlog does not keep what was handed on.
    if (this.head > 4096) {
      this.buffer = this.buffer.slice(this.head);
      this.head = 0;
    }
    this.timer = this.options.scheduler.schedule(() => this.drain(), 0);
  }
}

/** Malformed frames are logged at most once per this period, with a count. */
const MALFORMED_LOG_PERIOD_MS = 60_000;

/**
 * Counts malformed frames from an upstream and logs them without flooding:
 * the first one, then at most one line a minute with how many came since.
 */
export class MalformedFrames {
  /** Frames dropped as malformed. */
  count = 0;
  private since = 0;
  private loggedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly scheduler: SchedulerLike,
    /** What is malformed, for the log: `frame from Coinbase`, `message from Alpaca`. */
    private readonly what: string,
    private readonly log?: LiveFeedLog,
  ) {}

  note(problem: string): void {
    this.count++;
    const now = this.scheduler.now();
    if (now - this.loggedAt < MALFORMED_LOG_PERIOD_MS) {
      this.since++;
      return;
    }
    const more = this.since > 0 ? ` (and ${this.since} more since the last report)` : '';
    this.loggedAt = now;
    this.since = 0;
    this.log?.warn(`malformed ${this.what} dropped: ${problem}${more}; ${this.count} in all`);
  }

  /** Logs the ones not reported yet (at stop). */
  flush(): void {
    if (this.since === 0) return;
    this.log?.warn(
      `malformed ${this.what}: ${this.since} more dropped since the last report (${this.count} in all)`,
    );
    this.since = 0;
  }
}

/** Schedules `work` on `scheduler` with an error boundary: a throw is logged, never thrown. */
export function guardedSchedule(
  scheduler: SchedulerLike,
  name: string,
  log: LiveFeedLog | undefined,
  delayMs: number,
  work: () => void,
): Subscription {
  return scheduler.schedule(() => {
    try {
      work();
    } catch (err) {
      log?.error(`${name} timer failed: ${err instanceof Error ? err.stack : String(err)}`);
    }
  }, delayMs);
}

/** The text of a `ws` message (a Buffer, or fragments). */
export function rawText(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

/**
 * An upstream message's first schema issue for the log: `path: message`
 * (the message alone when it already starts with its path, or has none).
 */
export function describeUpstreamIssue(issue: v.BaseIssue<unknown>): string {
  const path = issue.path?.map((item) => String(item.key)).join('.');
  return !path || issue.message.startsWith(`${path}:`)
    ? issue.message
    : `${path}: ${issue.message}`;
}
