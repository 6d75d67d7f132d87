import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import type { IntervalTierMs } from '../shared/protocol.js';
import {
  type FanOutPipeline,
  type QuoteSink,
  StreamRegistry,
  type TierHolding,
  type TierUpdate,
} from '../streaming/stream-registry.service.js';
import { ThrottledErrorLog } from '../streaming/throttled-error-log.js';
import type { Subscriber } from './subscriber.js';

/**
 * Subscribers served per event-loop turn by one fan-out (~25 µs each): a large
 * fan-out yields to I/O and timers every ~50 ms instead of blocking for all of it.
 */
const FAN_OUT_SLICE = 2000;
/** How often congested subscribers are re-checked: one timer for the whole server. */
const SWEEP_INTERVAL_MS = 250;

/**
 * One batch being fanned out: each updated pipeline's JSON by its slot, and
 * the tier holdings still to serve. `owners[slot]` is the pipeline the text
 * belongs to: a slot released and reused while the batch is being sent
 * carries nothing for the pipeline that took it.
 */
interface FanOutJob {
  readonly json: readonly (string | undefined)[];
  readonly owners: readonly (FanOutPipeline | undefined)[];
  readonly recipients: readonly TierHolding[];
  /** Index of the next recipient to serve. */
  next: number;
  /** `performance.now()` when the batch was published. */
  readonly publishedAt: number;
}

/** A connected subscriber and whether it is over the outbound cap right now. */
interface Entry {
  readonly subscriber: Subscriber;
  /** Since when it has been over the cap (undefined while it keeps up). */
  congestedSince: number | undefined;
}

/**
 * The one fan-out core of every transport. It owns who is connected (a
 * transport attaches a {@link Subscriber} per connection), forwards their
 * subscriptions to the {@link StreamRegistry} (which holds, in one place,
 * each client's symbols and each (symbol, tier)'s holders), and turns the
 * registry's updates into frames:
 *
 * - every update is serialised ONCE; each subscriber gets ONE frame per batch
 *   holding all of its symbols in it (JSON pieces joined, not re-encoded);
 * - updates arrive as one batch per tier clock tick (FRAMES_PER_WINDOW per
 *   window), so a client gets at most one frame per tick;
 * - a large fan-out is sliced (FAN_OUT_SLICE subscribers per turn);
 * - the slow-consumer policy: a subscriber whose backlog is over the cap is
 *   skipped (it gets the next window's latest values, nothing is queued for
 *   it), and cut off once it stays over it for SLOW_CLIENT_GRACE_MS;
 * - ONE error boundary around every deferred callback and every send: a
 *   throw is logged (rate-limited) and counted in
 *   `tickstream_fanout_errors_total`; the process and the other subscribers
 *   carry on.
 */
@Injectable()
export class SubscriptionHub implements QuoteSink, OnModuleDestroy {
  private readonly logger = new Logger(SubscriptionHub.name);
  private readonly entries = new Map<string, Entry>();
  /** Subscribers served per event-loop turn by a fan-out (public for tests; see FAN_OUT_SLICE). */
  fanOutSlice = FAN_OUT_SLICE;
  /** Batches whose frames are being sent, oldest first (at most two: see publishBatch). */
  private readonly fanOut: FanOutJob[] = [];
  private fanOutResume: NodeJS.Immediate | undefined;
  /** Scratch array for one frame's pieces, reused (frames are built one at a time). */
  private readonly pieces: string[] = [];
  /** Subscribers over the outbound cap: the only ones the sweep looks at. */
  private readonly congested = new Set<Entry>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly errorLog = new ThrottledErrorLog(this.logger);

  constructor(
    private readonly registry: StreamRegistry,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    registry.setSink(this);
  }

  /** Registers a connection; its id must be unique among open connections. */
  attach(subscriber: Subscriber): void {
    if (this.entries.has(subscriber.id)) throw new Error(`subscriber ${subscriber.id} exists`);
    this.entries.set(subscriber.id, { subscriber, congestedSince: undefined });
  }

  /** Forgets a connection and releases everything it held. Idempotent. */
  detach(id: string): void {
    const entry = this.entries.get(id);
    if (entry === undefined) return;
    this.entries.delete(id);
    this.congested.delete(entry);
    this.registry.releaseClient(id);
  }

  /**
   * Subscribes (or moves) a client to `symbol` at `tier`; see
   * {@link StreamRegistry.subscribe}. Only attached subscribers may hold symbols.
   */
  subscribe(
    id: string,
    symbol: string,
    tier: IntervalTierMs,
  ): { previousTier: IntervalTierMs | undefined } {
    if (!this.entries.has(id)) throw new Error(`subscriber ${id} is not attached`);
    return this.registry.subscribe(id, symbol, tier);
  }

  /** Drops one subscription; the tier it held, or undefined when there was none. */
  unsubscribe(id: string, symbol: string): IntervalTierMs | undefined {
    return this.registry.unsubscribe(id, symbol);
  }

  /** A copy of what a client holds: symbol → tier. */
  holdings(id: string): ReadonlyMap<string, IntervalTierMs> {
    return this.registry.clientSymbols(id);
  }

  /**
   * A batch of updates of one tier: each is serialised once, then every
   * holder gets ONE frame with all of its symbols in the batch. Frames per
   * second grow with clients × windows, not clients × symbols.
   *
   * Each recipient's frame is built and written at once, so the only garbage
   * is one string per recipient that dies before the next one's (building
   * every frame first kept them all alive across young-generation
   * collections, which promoted them: ~12 MB/s of old-space growth in S1).
   */
  publishBatch(tier: IntervalTierMs, updates: readonly TierUpdate[]): void {
    const now = Date.now();
    const fan = this.registry.tierFanOut(tier);
    // Sized up front so V8 keeps them as (holey) arrays, not dictionaries.
    const slots = fan?.slotLimit ?? 0;
    const json = new Array<string | undefined>(slots);
    const owners = new Array<FanOutPipeline | undefined>(slots);
    const updated: FanOutPipeline[] = [];
    /** Σ holders over the updated pipelines: how many (client, symbol) pieces the batch makes. */
    let reach = 0;
    for (const { symbol, quote } of updates) {
      this.metrics.staleness.observe(Math.max(0, now - quote.ts) / 1000);
      const pipeline = this.registry.pipelineOf(symbol, tier);
      if (pipeline === undefined || pipeline.holders.size === 0) continue;
      json[pipeline.slot] = JSON.stringify(quote);
      owners[pipeline.slot] = pipeline;
      updated.push(pipeline);
      reach += pipeline.holders.size;
    }
    this.metrics.encodedUpdates += updated.length;
    if (fan === undefined || updated.length === 0) return;
    // The recipients, fixed now (a client that subscribes meanwhile got a newer snapshot).
    // When the batch reaches at least as many pieces as the tier has clients (a busy
    // feed: most of them), every client of the tier is a candidate and one without an
    // update gets nothing; otherwise (a sparse batch) only the updated pipelines' holders.
    let recipients: TierHolding[];
    if (reach >= fan.holdings.size) {
      recipients = Array.from(fan.holdings.values());
    } else {
      const union = new Set<TierHolding>();
      for (const pipeline of updated) for (const holding of pipeline.holders) union.add(holding);
      recipients = Array.from(union);
    }
    // Bounded: a batch still being sent when the next one comes is finished first,
    // at once (older frames before newer ones, per client); so at most one job
    // waits between slices, and an overloaded server simply stops yielding.
    this.runFanOut(Number.POSITIVE_INFINITY);
    this.fanOut.push({ json, owners, recipients, next: 0, publishedAt: performance.now() });
    this.runFanOut(this.fanOutSlice);
  }

  onModuleDestroy(): void {
    this.cancelDeferred();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    this.congested.clear();
  }

  private cancelDeferred(): void {
    if (this.fanOutResume) clearImmediate(this.fanOutResume);
    this.fanOutResume = undefined;
    this.fanOut.length = 0;
  }

  /**
   * Sends frames for queued batches, oldest first, to at most `budget`
   * subscribers; what is left continues on the next event-loop turn, after
   * I/O: heartbeats, requests and the feed's timers are not held up for the
   * whole of a large fan-out (20,000 clients take ~0.5 s of CPU).
   */
  private runFanOut(budget: number): void {
    if (this.fanOutResume) {
      clearImmediate(this.fanOutResume);
      this.fanOutResume = undefined;
    }
    let left = budget;
    while (this.fanOut.length > 0 && left > 0) {
      const job = this.fanOut[0];
      left -= this.sendFrames(job, left);
      if (job.next < job.recipients.length) break;
      this.fanOut.shift();
      this.metrics.fanOutDuration.observe((performance.now() - job.publishedAt) / 1000);
    }
    if (this.fanOut.length > 0) {
      this.fanOutResume = setImmediate(() =>
        this.guard('fan-out slice', () => this.runFanOut(this.fanOutSlice)),
      );
    }
  }

  /**
   * Writes one batch's frames to up to `budget` of its remaining recipients;
   * returns how many recipients it served (sent to or skipped).
   * A recipient's holding is read when its frame is built (it is live), so a
   * client that unsubscribed or left meanwhile gets nothing it no longer holds.
   */
  private sendFrames(job: FanOutJob, budget: number): number {
    const { json, owners, recipients } = job;
    const pieces = this.pieces;
    const end = Math.min(recipients.length, job.next + budget);
    let sent = 0;
    let quotes = 0;
    let skipped = 0;
    for (let i = job.next; i < end; i++) {
      const holding = recipients[i];
      pieces.length = 0;
      for (const pipeline of holding.pipelines) {
        const slot = pipeline.slot;
        if (owners[slot] === pipeline) pieces.push(json[slot] as string);
      }
      if (pieces.length === 0) continue;
      const entry = this.entries.get(holding.clientId);
      if (entry === undefined) continue;
      try {
        if (!this.admit(entry)) {
          skipped++;
          continue;
        }
        entry.subscriber.sendQuotes(pieces);
        sent++;
        quotes += pieces.length;
      } catch (err) {
        // One subscriber's broken send must not cost the others their frame.
        this.failed(`sending to ${holding.clientId}`, err);
      }
    }
    const served = end - job.next;
    job.next = end;
    pieces.length = 0;
    this.metrics.framesSent += sent;
    this.metrics.quotesSent += quotes;
    this.metrics.slowClientSkips += skipped;
    return served;
  }

  /**
   * Whether a frame may be written to this subscriber: false while its
   * backlog holds SLOW_CLIENT_MAX_QUEUE packets or SLOW_CLIENT_MAX_BYTES or
   * more. O(1) per recipient that keeps up; crossing the cap either way is
   * recorded for the sweep, which cuts off those that stay over it.
   */
  private admit(entry: Entry): boolean {
    const over = entry.subscriber.isOverBacklog(
      this.config.slowClientMaxQueue,
      this.config.slowClientMaxBytes,
    );
    if (over && entry.congestedSince === undefined) {
      entry.congestedSince = Date.now();
      this.congested.add(entry);
      this.sweepTimer ??= setInterval(
        () => this.guard('slow-consumer sweep', () => this.sweep()),
        SWEEP_INTERVAL_MS,
      ).unref();
    } else if (!over && entry.congestedSince !== undefined) {
      entry.congestedSince = undefined;
      this.congested.delete(entry);
    }
    return !over;
  }

  /** Cuts off subscribers that stayed over the cap for longer than the grace period. */
  sweep(now = Date.now()): void {
    for (const entry of this.congested) {
      const { subscriber } = entry;
      if (!this.entries.has(subscriber.id)) {
        this.congested.delete(entry);
      } else if (
        !subscriber.isOverBacklog(this.config.slowClientMaxQueue, this.config.slowClientMaxBytes)
      ) {
        entry.congestedSince = undefined;
        this.congested.delete(entry);
      } else if (now - (entry.congestedSince ?? now) > this.config.slowClientGraceMs) {
        this.congested.delete(entry);
        this.cutOff(subscriber);
      }
    }
    if (this.congested.size === 0 && this.sweepTimer) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = undefined;
    }
  }

  private cutOff(subscriber: Subscriber): void {
    const { packets, bytes } = subscriber.backlog();
    this.logger.warn(
      `disconnecting slow client ${subscriber.id}: ${packets} packets / ${bytes} bytes queued for over ${this.config.slowClientGraceMs} ms`,
    );
    this.guard(`closing ${subscriber.id}`, () =>
      subscriber.close('slow_client', 'not reading fast enough'),
    );
  }

  /** The error boundary: runs `fn`, and a throw is logged (rate-limited) and counted. */
  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.failed(what, err);
    }
  }

  private failed(what: string, err: unknown): void {
    this.metrics.fanOutErrors++;
    this.errorLog.report(`${what} failed`, err, Date.now());
  }
}
