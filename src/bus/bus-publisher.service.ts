import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import type { SchedulerLike, Subscription } from 'rxjs';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { MARKET_FEED, MARKET_SCHEDULER, type MarketFeed } from '../market/market-feed.js';
import { MarketStateService } from '../market/market-state.service.js';
import { MarketStatusService } from '../market/market-status.service.js';
import {
  CANDLE_CAPACITY,
  CANDLE_RESOLUTIONS,
  type Candle,
  type CandleResolution,
} from '../shared/market.js';
import { ThrottledErrorLog } from '../streaming/throttled-error-log.js';
import {
  type BusBatch,
  type BusKeys,
  type BusMeta,
  SLOT_MS,
  type SlotUpdate,
  busKeys,
  encodeBatch,
  encodeCandle,
  encodeSnapshot,
} from './bus-batch.js';
import { createRedis, type ManagedRedis, redisAddress } from './redis-connection.js';
import { SlotBatcher } from './slot-batcher.js';

/**
 * MULTIs written but not yet answered. Past this (Redis stalled or slow) a
 * slot's batch is not written at all: it is counted as dropped, its symbols
 * stay dirty and the next write is a full one; gateways see the gap in the
 * batch numbers and resync. So a stalled Redis costs the feed a bounded
 * amount of memory (4 batches), never a growing queue.
 */
const MAX_IN_FLIGHT = 4;
/** Candles per RPUSH of a full write (arguments per command stay bounded). */
const RPUSH_CHUNK = 500;

/** The part of a node-redis MULTI the writes use. */
interface Multi {
  addCommand(args: string[]): unknown;
}

/**
 * ROLE=feed: cuts the feed's ticks into slots of {@link SLOT_MS} of feed time
 * and writes each slot to Redis as ONE stream entry (per changed symbol: the
 * latest tick, the slot's OHLCV and count, the session after it), in the
 * same MULTI as the snapshot hash and candle lists it changes. Redis
 * commands per second depend on the slot rate and the symbols, not on the
 * tick rate. Only this process assigns `seq` and `epoch`.
 *
 * A slot is cut on a timer at the slot grid, never by a tick's timestamp:
 * cutting on a tick would read the state with that tick (of the next slot)
 * already in it. A tick delivered late may so share a slot with the next
 * candle bucket's ticks; {@link SlotBatcher} splits a symbol's run there. An
 * empty batch still goes out, so gateways' windows keep closing and they can
 * tell a quiet feed from a gone one.
 *
 * After any batch not written (Redis down, stalled, or its MULTI failed) the
 * next write is a full one: meta, every symbol's snapshot and candle lists,
 * so what a gateway resyncs from is whole again, even after a Redis restart
 * that lost everything.
 */
@Injectable()
export class BusPublisher implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(BusPublisher.name);
  private readonly keys: BusKeys = busKeys();
  private readonly redis: ManagedRedis;
  private readonly batcher = new SlotBatcher();
  private readonly errorLog = new ThrottledErrorLog(this.logger);
  private readonly tickSubscription: Subscription;
  private timer: Subscription | undefined;
  /** Feed time at which the current slot ends. */
  private slotEnd = 0;
  private epoch: string;
  private batchNumber = 0;
  private inFlight = 0;
  private needFull = true;
  private stopped = false;
  /** symbol → resolution → `t` of the forming candle as last written (it lives in the snapshot hash). */
  private readonly writtenForming = new Map<string, Partial<Record<CandleResolution, number>>>();

  /** Batches written (the MULTI answered OK). */
  batchesPublished = 0;
  /** Batches not written: Redis down or too many MULTIs in flight. */
  batchesDropped = 0;
  /** MULTIs that failed (sent, then refused or cut off). */
  writeFailures = 0;
  /** Full rewrites of the snapshot (at start and after any batch not written). */
  fullWrites = 0;

  constructor(
    @Inject(MARKET_FEED) private readonly feed: MarketFeed,
    private readonly state: MarketStateService,
    private readonly status: MarketStatusService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(MARKET_SCHEDULER) private readonly scheduler: SchedulerLike,
  ) {
    if (config.redisUrl === undefined) throw new Error('ROLE=feed needs REDIS_URL');
    this.redis = createRedis(config.redisUrl, 'tickstream-feed', this.logger);
    this.epoch = feed.epoch;
    this.slotEnd = this.nextSlotEnd(scheduler.now());
    // Subscribed after MarketStateService (constructed first: it is injected here), so when
    // a slot is cut the state it reads (session, forming candles) holds exactly the ticks
    // the batcher holds: no more, no fewer.
    this.tickSubscription = feed.ticks$.subscribe((tick) => this.batcher.add(tick));
  }

  /** Whether the Redis connection is up. */
  get redisUp(): boolean {
    return this.redis.up;
  }

  onApplicationBootstrap(): void {
    this.logger.log(
      `publishing the feed to redis ${redisAddress(this.config.redisUrl!)} every ${SLOT_MS} ms`,
    );
    // Not awaited: the feed runs (and /health answers) while Redis is away; batches are
    // counted as dropped until it comes, then a full write makes the snapshot whole.
    this.redis.connect().catch((err: unknown) => {
      if (!this.stopped) this.errorLog.report('connecting to redis failed', err, Date.now());
    });
    this.scheduleTimer();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    this.tickSubscription.unsubscribe();
    this.timer?.unsubscribe();
    await this.redis.close();
  }

  private nextSlotEnd(t: number): number {
    return (Math.floor(t / SLOT_MS) + 1) * SLOT_MS;
  }

  /** One action per slot on the grid (a fresh one each time, as TierClock does). */
  private scheduleTimer(): void {
    if (this.stopped) return;
    const now = this.scheduler.now();
    this.timer = this.scheduler.schedule(
      () => {
        try {
          if (this.scheduler.now() >= this.slotEnd) this.cut();
        } catch (err) {
          this.errorLog.report('cutting a slot failed', err, Date.now());
        }
        this.scheduleTimer();
      },
      this.nextSlotEnd(now) - now,
    );
  }

  /** Closes the current slot: its batch goes to Redis (or is counted as dropped). */
  private cut(): void {
    const end = this.slotEnd;
    this.slotEnd = this.nextSlotEnd(Math.max(end, this.scheduler.now()));
    if (this.feed.epoch !== this.epoch) {
      // The feed restarted in this process (a looping replay): numbers start again, and
      // the snapshot in Redis (candles cleared by seq 1) must be written whole.
      this.epoch = this.feed.epoch;
      this.batchNumber = 0;
      this.needFull = true;
    }
    const updates: SlotUpdate[] = this.batcher.take((symbol) => this.state.sessionState(symbol));
    const { feed, session, halted } = this.status.current;
    const batch: BusBatch = {
      epoch: this.epoch,
      n: ++this.batchNumber,
      t: end,
      sentAt: Date.now(),
      status: { state: feed, session, halted },
      updates,
    };
    this.write(batch);
  }

  private write(batch: BusBatch): void {
    if (!this.redis.up || this.inFlight >= MAX_IN_FLIGHT) {
      this.batchesDropped++;
      this.needFull = true;
      return;
    }
    const multi = this.redis.client.multi();
    const full = this.needFull;
    if (full) this.addFull(multi);
    else this.addChanges(multi, batch.updates);
    multi.addCommand([
      'XADD',
      this.keys.stream,
      'MAXLEN',
      '~',
      String(this.config.busStreamMaxlen),
      '*',
      'd',
      encodeBatch(batch),
    ]);
    this.needFull = false;
    this.inFlight++;
    multi.exec().then(
      () => {
        this.inFlight--;
        this.batchesPublished++;
        if (full) this.fullWrites++;
      },
      (err: unknown) => {
        this.inFlight--;
        this.writeFailures++;
        this.needFull = true;
        if (!this.stopped) this.errorLog.report('writing a batch to redis failed', err, Date.now());
      },
    );
  }

  /** The snapshot and candle changes of one slot's updates. */
  private addChanges(multi: Multi, updates: readonly SlotUpdate[]): void {
    if (updates.length === 0) return;
    // A symbol whose trades changed candle bucket within the slot has several runs: the
    // state after its last one is what is written.
    const lastRun = new Map<string, SlotUpdate>();
    for (const update of updates) lastRun.set(update.tick.symbol, update);
    const hset = ['HSET', this.keys.snap];
    for (const { tick, session } of lastRun.values()) {
      const symbol = tick.symbol;
      const forming: Partial<Record<CandleResolution, Candle>> = {};
      let written = this.writtenForming.get(symbol);
      if (written === undefined) {
        written = {};
        this.writtenForming.set(symbol, written);
      }
      for (const r of CANDLE_RESOLUTIONS) {
        const recent = this.state.candles(symbol, r, 2);
        const current = recent[recent.length - 1];
        if (current === undefined) continue;
        forming[r] = current;
        const before = written[r];
        // The forming candle as last written has closed: it joins the list.
        if (before !== undefined && current.t > before && recent.length === 2) {
          const key = this.keys.candles(r, symbol);
          multi.addCommand(['RPUSH', key, encodeCandle(recent[0])]);
          multi.addCommand(['LTRIM', key, String(-CANDLE_CAPACITY[r]), '-1']);
        }
        written[r] = current.t;
      }
      hset.push(symbol, encodeSnapshot({ tick, session, forming }));
    }
    multi.addCommand(hset);
  }

  /** Everything a gateway resyncs from, replacing what Redis held. */
  private addFull(multi: Multi): void {
    const meta: BusMeta = {
      epoch: this.feed.epoch,
      source: this.status.current.source,
      instruments: [...this.feed.instruments],
    };
    multi.addCommand(['SET', this.keys.meta, JSON.stringify(meta)]);
    multi.addCommand(['DEL', this.keys.snap]);
    const hset = ['HSET', this.keys.snap];
    this.writtenForming.clear();
    for (const { symbol } of this.feed.instruments) {
      const written: Partial<Record<CandleResolution, number>> = {};
      this.writtenForming.set(symbol, written);
      const forming: Partial<Record<CandleResolution, Candle>> = {};
      for (const r of CANDLE_RESOLUTIONS) {
        const key = this.keys.candles(r, symbol);
        multi.addCommand(['DEL', key]);
        const candles = this.state.candles(symbol, r, CANDLE_CAPACITY[r]);
        const current = candles.pop();
        if (current === undefined) continue;
        forming[r] = current;
        written[r] = current.t;
        for (let i = 0; i < candles.length; i += RPUSH_CHUNK) {
          multi.addCommand(['RPUSH', key, ...candles.slice(i, i + RPUSH_CHUNK).map(encodeCandle)]);
        }
      }
      const tick = this.state.lastTick(symbol);
      const session = this.state.sessionState(symbol);
      if (tick !== undefined && session !== undefined) {
        hset.push(symbol, encodeSnapshot({ tick, session, forming }));
      }
    }
    if (hset.length > 2) multi.addCommand(hset);
  }
}
