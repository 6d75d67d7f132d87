import type { Logger } from '@nestjs/common';
import { BehaviorSubject, type Observable, Subject } from 'rxjs';
import type { FeedSnapshot, MarketFeed, SlotTick, SymbolRestore } from '../market/market-feed.js';
import {
  CANDLE_RESOLUTIONS,
  type Candle,
  type CandleResolution,
  type FeedSourceName,
  type FeedState,
  type Instrument,
  type MarketSession,
  type Tick,
} from '../shared/market.js';
import { ThrottledErrorLog } from '../streaming/throttled-error-log.js';
import {
  type BusBatch,
  type BusKeys,
  type BusMeta,
  BusRecordError,
  busKeys,
  decodeBatch,
  decodeCandle,
  decodeMeta,
  decodeSnapshot,
} from './bus-batch.js';
import type { FeedTimeScheduler } from './feed-time.scheduler.js';
import { createRedis, type ManagedRedis } from './redis-connection.js';

/** Stream entries read per XREAD: 200 slots are 5 s of feed time, ~1 MB at 80 symbols. */
const READ_COUNT = 200;
/** How long one XREAD waits for an entry (ms): the loop notices `stop()` within this. */
const READ_BLOCK_MS = 1000;
/** How often the gateway checks that batches still come (ms). */
const WATCH_INTERVAL_MS = 100;

/** Options of {@link BusFeed.connect}. */
export interface BusFeedOptions {
  redisUrl: string;
  /** The scheduler the gateway's streaming layer runs on; the feed advances it. */
  scheduler: FeedTimeScheduler;
  /** No batch for this long: the feed is reported `stale`. */
  staleMs: number;
  log: Logger;
  /** Redis key prefix (tests use one per cluster). */
  prefix?: string;
}

type StreamEntry = readonly [id: string, fields: readonly string[]];

/** A snapshot and the stream position it stands at. */
type PositionedSnapshot = FeedSnapshot & { id: string; n: number; t: number };

/**
 * ROLE=gateway's {@link MarketFeed}: the cluster's feed as read from Redis.
 * It runs no feed of its own. At boot it waits for the feed's meta (the
 * universe is fixed from then on) and reads the snapshot; then it follows
 * the stream with a blocking XREAD, turning each batch's updates into
 * {@link SlotTick}s and moving the {@link FeedTimeScheduler} to the batch's
 * slot end, so windows close on the feed's time.
 *
 * Positions, not hope: each batch carries its epoch and number. A batch of
 * another epoch (the feed restarted), a number that skips (the feed could
 * not write, the stream was trimmed past us, Redis restarted), a malformed
 * record, or a reconnect to Redis all lead to a resync: the snapshot and the
 * stream's last id are read in ONE MULTI (the feed writes a batch and its
 * snapshot changes in one too, so they agree), the state is replaced
 * (`resync$`), and reading goes on after that id. Nothing is served from a
 * silent gap.
 *
 * State: `live` (or what the feed says of itself: `closed` after a replay's
 * end) while batches come; `stale` with a reason after BUS_STALE_MS without
 * one; `reconnecting` while Redis is unreachable. Bounded: one XREAD of at
 * most {@link READ_COUNT} entries is held at a time.
 */
export class BusFeed implements MarketFeed {
  private readonly keys: BusKeys;
  private readonly ticks = new Subject<Tick>();
  private readonly resync = new Subject<FeedSnapshot>();
  private readonly stateSubject = new BehaviorSubject<FeedState>('connecting');
  private readonly reasonSubject = new BehaviorSubject<string | undefined>(undefined);
  private readonly sessionSubject = new BehaviorSubject<MarketSession>('always');
  private readonly haltedSubject = new BehaviorSubject<readonly string[]>([]);
  private readonly errorLog: ThrottledErrorLog;
  private currentEpoch: string;
  private lastId = '0-0';
  private lastNumber = 0;
  private feedState: FeedState = 'live';
  private lastBatchAt = Date.now();
  private needResync = false;
  private started = false;
  private stopped = false;
  private watch: NodeJS.Timeout | undefined;
  private readLoop: Promise<void> | undefined;
  private universeWarned = false;

  readonly ticks$: Observable<Tick> = this.ticks.asObservable();
  readonly resync$: Observable<FeedSnapshot> = this.resync.asObservable();
  readonly state$: Observable<FeedState> = this.stateSubject.asObservable();
  readonly reason$: Observable<string | undefined> = this.reasonSubject.asObservable();
  readonly session$: Observable<MarketSession> = this.sessionSubject.asObservable();
  readonly halted$: Observable<readonly string[]> = this.haltedSubject.asObservable();

  /** Batches applied. */
  batchesReceived = 0;
  /** Gaps seen (a batch of another epoch or number than the next one). */
  gaps = 0;
  /** Snapshots read (the first one included). */
  resyncs = 0;
  /** Records that failed validation. */
  malformed = 0;
  /** Called with each batch's bus lag (feed write → gateway receive), in seconds (metrics). */
  onLag: ((seconds: number) => void) | undefined;

  private constructor(
    private readonly options: BusFeedOptions,
    private readonly reader: ManagedRedis,
    private readonly commands: ManagedRedis,
    private readonly meta: BusMeta,
    private initial: PositionedSnapshot | undefined,
  ) {
    this.keys = busKeys(options.prefix);
    this.currentEpoch = meta.epoch;
    this.errorLog = new ThrottledErrorLog(options.log);
  }

  /**
   * Connects to Redis and waits until the feed has published (its meta is
   * there), reading the first snapshot. Retries with the connection's own
   * backoff while Redis is away, logging every 5 s what it waits for.
   */
  static async connect(options: BusFeedOptions): Promise<BusFeed> {
    const reader = createRedis(options.redisUrl, 'tickstream-gateway-reader', options.log);
    const commands = createRedis(options.redisUrl, 'tickstream-gateway', options.log);
    await Promise.all([reader.connect(), commands.connect()]);
    const keys = busKeys(options.prefix);
    let lastLog = Date.now();
    for (;;) {
      const text = await commands.client.sendCommand(['GET', keys.meta]).catch(() => null);
      if (typeof text === 'string') {
        const meta = decodeMeta(keys.meta, text);
        const feed = new BusFeed(options, reader, commands, meta, undefined);
        feed.initial = await feed.readSnapshot();
        return feed;
      }
      if (Date.now() - lastLog >= 5000) {
        options.log.log('waiting for the feed (ROLE=feed) to publish to redis');
        lastLog = Date.now();
      }
      await sleep(200);
    }
  }

  get epoch(): string {
    return this.currentEpoch;
  }

  get instruments(): readonly Instrument[] {
    return this.meta.instruments;
  }

  get state(): FeedState {
    return this.stateSubject.value;
  }

  /** Whether the reading connection to Redis is up. */
  get redisUp(): boolean {
    return this.reader.up;
  }

  get sourceName(): FeedSourceName {
    return this.meta.source;
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    // The first snapshot goes out now, when everything downstream is subscribed.
    if (this.initial) this.applySnapshot(this.initial);
    this.initial = undefined;
    this.lastBatchAt = Date.now();
    this.reader.up$.subscribe((up) => {
      // Back from an outage: Redis may have restarted empty; read the snapshot again.
      if (up && this.batchesReceived + this.resyncs > 0) this.needResync = true;
      this.updateState();
    });
    this.watch = setInterval(() => this.updateState(), WATCH_INTERVAL_MS);
    this.watch.unref();
    this.readLoop = this.follow();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.watch) clearInterval(this.watch);
    this.stateSubject.next('closed');
    void Promise.all([this.reader.close(), this.commands.close()]).then(() => this.readLoop);
    this.ticks.complete();
    this.resync.complete();
  }

  private updateState(): void {
    if (this.stopped) return;
    let state: FeedState;
    let reason: string | undefined;
    const quietMs = Date.now() - this.lastBatchAt;
    if (!this.reader.up) {
      state = 'reconnecting';
      reason = 'redis unreachable';
    } else if (quietMs > this.options.staleMs) {
      state = 'stale';
      reason = `no batch from the feed for ${Math.round(quietMs / 1000)} s or more`;
    } else {
      state = this.feedState;
    }
    if (reason !== this.reasonSubject.value) this.reasonSubject.next(reason);
    if (state !== this.stateSubject.value) this.stateSubject.next(state);
  }

  /** Reads the stream after `lastId` for as long as the feed runs. */
  private async follow(): Promise<void> {
    while (!this.stopped) {
      if (!this.reader.up || !this.commands.up) {
        await sleep(50);
        continue;
      }
      try {
        if (this.needResync) {
          this.needResync = false;
          this.applySnapshot(await this.readSnapshot());
          continue;
        }
        const reply = await this.reader.client.sendCommand([
          'XREAD',
          'COUNT',
          String(READ_COUNT),
          'BLOCK',
          String(READ_BLOCK_MS),
          'STREAMS',
          this.keys.stream,
          this.lastId,
        ]);
        if (this.stopped) return;
        this.handle(streamEntries(reply, this.keys.stream));
      } catch (err) {
        if (this.stopped) return;
        if (err instanceof FeedNotPublishedError) {
          // Redis came back empty and the feed has not written its full snapshot yet.
          this.needResync = true;
          await sleep(100);
          continue;
        }
        if (err instanceof BusRecordError) {
          this.malformed++;
          this.needResync = true;
        }
        this.errorLog.report('reading the bus failed', err, Date.now());
        await sleep(100);
      }
    }
  }

  /** Applies a reply's batches, then moves feed time once, to the last of them. */
  private handle(entries: readonly StreamEntry[]): void {
    let t: number | undefined;
    for (const [id, fields] of entries) {
      const data = fieldValue(fields, 'd');
      if (data === undefined)
        throw new BusRecordError(this.keys.stream, `entry ${id} has no d field`);
      const batch = decodeBatch(`${this.keys.stream} ${id}`, data);
      if (batch.epoch !== this.currentEpoch || batch.n !== this.lastNumber + 1) {
        // The snapshot is read at the stream's end: the rest of this reply is in it.
        this.gaps++;
        this.needResync = true;
        break;
      }
      this.apply(batch);
      this.lastId = id;
      t = batch.t;
    }
    if (t !== undefined) this.advance(t);
  }

  private apply(batch: BusBatch): void {
    this.lastNumber = batch.n;
    this.batchesReceived++;
    this.lastBatchAt = Date.now();
    this.onLag?.(Math.max(0, Date.now() - batch.sentAt) / 1000);
    for (const { tick, win, session } of batch.updates) {
      const slotTick: SlotTick = { ...tick, win, session };
      this.ticks.next(slotTick);
    }
    this.feedState = batch.status.state;
    if (batch.status.session !== this.sessionSubject.value) {
      this.sessionSubject.next(batch.status.session);
    }
    if (!sameList(batch.status.halted, this.haltedSubject.value)) {
      this.haltedSubject.next(batch.status.halted);
    }
    this.updateState();
  }

  private advance(t: number): void {
    try {
      this.options.scheduler.advanceTo(t);
    } catch (err) {
      this.errorLog.report('closing windows failed', err, Date.now());
    }
  }

  private applySnapshot(snapshot: PositionedSnapshot): void {
    this.currentEpoch = snapshot.epoch;
    this.lastId = snapshot.id;
    this.lastNumber = snapshot.n;
    this.resyncs++;
    this.lastBatchAt = Date.now();
    this.resync.next(snapshot);
    if (snapshot.t > 0) this.advance(snapshot.t);
    this.updateState();
  }

  /**
   * The cluster's state in one MULTI: meta, the stream's last entry (the
   * position after which to read), the snapshot hash and every candle list.
   */
  private async readSnapshot(): Promise<PositionedSnapshot> {
    const symbols = this.meta.instruments.map((i) => i.symbol);
    const multi = this.commands.client.multi();
    multi.addCommand(['GET', this.keys.meta]);
    multi.addCommand(['XREVRANGE', this.keys.stream, '+', '-', 'COUNT', '1']);
    multi.addCommand(['HGETALL', this.keys.snap]);
    for (const symbol of symbols) {
      for (const r of CANDLE_RESOLUTIONS) {
        multi.addCommand(['LRANGE', this.keys.candles(r, symbol), '0', '-1']);
      }
    }
    const replies = (await multi.exec()) as unknown[];
    const [metaText, last, snap] = replies;
    if (typeof metaText !== 'string') throw new FeedNotPublishedError();
    const meta = decodeMeta(this.keys.meta, metaText);
    this.checkUniverse(meta);
    let id = '0-0';
    let n = 0;
    let t = 0;
    const lastEntries = Array.isArray(last) ? (last as StreamEntry[]) : [];
    if (lastEntries.length > 0) {
      const [lastId, fields] = lastEntries[0];
      const data = fieldValue(fields, 'd');
      if (data === undefined)
        throw new BusRecordError(this.keys.stream, `entry ${lastId} has no d field`);
      const batch = decodeBatch(`${this.keys.stream} ${lastId}`, data);
      id = lastId;
      t = batch.t;
      // The feed writes its meta and a batch in one MULTI, so the last entry is of the
      // meta's epoch; were it not, the new epoch's first batch (n = 1) follows 0.
      n = batch.epoch === meta.epoch ? batch.n : 0;
    }
    const entries = hashEntries(snap);
    const restores = new Map<string, SymbolRestore>();
    let at = 3;
    for (const symbol of symbols) {
      const lists = {} as Record<CandleResolution, Candle[]>;
      for (const r of CANDLE_RESOLUTIONS) {
        const key = this.keys.candles(r, symbol);
        const rows = replies[at++];
        lists[r] = Array.isArray(rows) ? rows.map((row) => decodeCandle(key, String(row))) : [];
      }
      const text = entries.get(symbol);
      if (text === undefined) continue;
      const snapshot = decodeSnapshot(`${this.keys.snap} ${symbol}`, text);
      for (const r of CANDLE_RESOLUTIONS) {
        const forming = snapshot.forming[r];
        if (forming !== undefined) lists[r].push(forming);
      }
      restores.set(symbol, { tick: snapshot.tick, session: snapshot.session, candles: lists });
    }
    return { epoch: meta.epoch, symbols: restores, id, n, t };
  }

  private checkUniverse(meta: BusMeta): void {
    if (this.universeWarned) return;
    const mine = this.meta.instruments.map((i) => i.symbol).join(',');
    const theirs = meta.instruments.map((i) => i.symbol).join(',');
    if (mine === theirs) return;
    this.universeWarned = true;
    this.options.log.warn(
      'the feed now publishes another universe of symbols than when this gateway started; restart the gateway to serve it (symbols it did not know are ignored)',
    );
  }
}

/** Redis holds no meta: the feed has not (or not yet again) published. */
class FeedNotPublishedError extends Error {
  constructor() {
    super('the feed has not published to redis yet');
    this.name = 'FeedNotPublishedError';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function fieldValue(fields: readonly unknown[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === name) return String(fields[i + 1]);
  }
  return undefined;
}

/** XREAD's reply (RESP3: a map of key → entries; RESP2: [[key, entries]]), as entries. */
function streamEntries(reply: unknown, key: string): StreamEntry[] {
  if (reply === null || reply === undefined) return [];
  let entries: unknown;
  if (Array.isArray(reply)) {
    const found = (reply as unknown[]).find((item) => Array.isArray(item) && item[0] === key);
    entries = Array.isArray(found) ? (found as unknown[])[1] : undefined;
  } else if (reply instanceof Map) {
    entries = reply.get(key);
  } else if (typeof reply === 'object') {
    entries = (reply as Record<string, unknown>)[key];
  }
  if (!Array.isArray(entries)) throw new BusRecordError(key, 'unexpected XREAD reply');
  return entries.map((entry: unknown) => {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string' || !Array.isArray(entry[1])) {
      throw new BusRecordError(key, 'unexpected stream entry');
    }
    return [entry[0], entry[1] as string[]] as const;
  });
}

/** HGETALL's reply (RESP3: a map; RESP2: a flat array), as a Map. */
function hashEntries(reply: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (reply instanceof Map) {
    for (const [k, v] of reply) out.set(String(k), String(v));
  } else if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) out.set(String(reply[i]), String(reply[i + 1]));
  } else if (reply !== null && typeof reply === 'object') {
    for (const [k, v] of Object.entries(reply)) out.set(k, String(v));
  }
  return out;
}
