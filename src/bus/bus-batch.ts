import * as v from 'valibot';
import {
  CANDLE_RESOLUTIONS,
  type Candle,
  type CandleResolution,
  FEED_SOURCE_NAMES,
  FEED_STATES,
  type FeedSourceName,
  type FeedState,
  type Instrument,
  MARKET_SESSIONS,
  type MarketSession,
  type Tick,
} from '../shared/market.js';
import type { SessionState } from '../market/market-feed.js';
import type { QuoteWindow } from '../shared/protocol.js';
import { SYMBOL_PATTERN } from '../shared/symbols.js';

/**
 * What the feed writes to Redis and the gateways read back: the batches of
 * the stream, the snapshot hash, the candle lists and the meta record. Every
 * read is validated here (a gateway trusts nothing it reads, as with any
 * upstream frame): a bad record is an error naming the key, never a crash.
 *
 * Keys (all under one prefix, `tickstream:` by default):
 * - `bus` — a Redis Stream, one entry per slot (SLOT_MS of feed time), trimmed
 *   to BUS_STREAM_MAXLEN (`MAXLEN ~`);
 * - `meta` — JSON {@link BusMeta}: the epoch, source and universe of the feed;
 * - `snap` — a hash, symbol → JSON {@link SymbolSnapshot}: the last tick,
 *   session statistics and forming candles;
 * - `candles:<res>:<symbol>` — lists of closed candles, capped at CANDLE_CAPACITY.
 *
 * Each batch and the snapshot changes it makes are written in one MULTI, and
 * a gateway reads the snapshot and the stream's last id in one MULTI, so the
 * two always agree.
 */

/**
 * Feed time per batch, ms. Every tier window (100 … 5000 ms, and the half
 * windows of FRAMES_PER_WINDOW=2) and every candle bucket is a whole number
 * of slots, so windows close on slot boundaries: 40 batches a second,
 * whatever the tick rate. (A tick delivered late can still land in the slot
 * after its candle's; see SlotBatcher for how candles stay exact.)
 */
export const SLOT_MS = 25;

/** The Redis keys of one cluster. */
export interface BusKeys {
  readonly stream: string;
  readonly meta: string;
  readonly snap: string;
  candles(resolution: CandleResolution, symbol: string): string;
}

export function busKeys(prefix = 'tickstream:'): BusKeys {
  return {
    stream: `${prefix}bus`,
    meta: `${prefix}meta`,
    snap: `${prefix}snap`,
    candles: (resolution, symbol) => `${prefix}candles:${resolution}:${symbol}`,
  };
}

/** A run of one symbol's trades in one slot, all in one candle bucket: its latest tick, the run's OHLCV and count, and the session after the slot. */
export interface SlotUpdate {
  tick: Tick;
  win: QuoteWindow;
  session: SessionState;
}

/** What the feed says of itself in every batch. */
export interface FeedStatusPart {
  state: FeedState;
  session: MarketSession;
  halted: string[];
}

/** One stream entry: a slot of feed time. */
export interface BusBatch {
  /** The feed's epoch. */
  epoch: string;
  /** Batch number within the epoch: 1, 2, 3 … with no gap (a gateway seeing one resyncs). */
  n: number;
  /** Feed time at the slot's end (a multiple of SLOT_MS): windows up to here may close. */
  t: number;
  /** `Date.now()` on the feed when written: the bus lag is measured from it. */
  sentAt: number;
  status: FeedStatusPart;
  updates: SlotUpdate[];
}

/** The feed's identity and universe, written at its start (and again after Redis lost it). */
export interface BusMeta {
  epoch: string;
  source: FeedSourceName;
  instruments: Instrument[];
}

/** One symbol in the snapshot hash. */
export interface SymbolSnapshot {
  tick: Tick;
  session: SessionState;
  /** The forming candle of each resolution (closed ones are in the candle lists). */
  forming: Partial<Record<CandleResolution, Candle>>;
}

// ---- encoding: arrays, not objects (a batch of 80 symbols is ~6 KB instead of ~14 KB) ----------

type UpdateRow = [
  symbol: string,
  seq: number,
  ts: number,
  price: number,
  bid: number,
  ask: number,
  size: number,
  o: number,
  h: number,
  l: number,
  v: number,
  n: number,
  open: number,
  high: number,
  low: number,
  volume: number,
  prevCloseCents: number,
];

export function encodeBatch(batch: BusBatch): string {
  const rows = batch.updates.map(({ tick, win, session }): UpdateRow => [
    tick.symbol,
    tick.seq,
    tick.ts,
    tick.price,
    tick.bid,
    tick.ask,
    tick.size,
    win.o,
    win.h,
    win.l,
    win.v,
    win.n,
    session.open,
    session.high,
    session.low,
    session.volume,
    session.prevCloseCents,
  ]);
  const { state, session, halted } = batch.status;
  return JSON.stringify([
    batch.epoch,
    batch.n,
    batch.t,
    batch.sentAt,
    [state, session, halted],
    rows,
  ]);
}

const finite = v.pipe(v.number(), v.finite());
const positive = v.pipe(v.number(), v.finite(), v.minValue(0));
const count = v.pipe(v.number(), v.safeInteger(), v.minValue(1));
// Wire symbols are upper-case (src/shared/symbols.ts).
const symbolText = v.pipe(
  v.string(),
  v.regex(SYMBOL_PATTERN),
  v.check((symbol) => symbol === symbol.toUpperCase(), 'expected an upper-case symbol'),
);
const epochText = v.pipe(v.string(), v.minLength(1), v.maxLength(64));

const UpdateRowSchema = v.tuple([
  symbolText,
  count,
  positive,
  finite,
  finite,
  finite,
  positive,
  finite,
  finite,
  finite,
  positive,
  count,
  finite,
  finite,
  finite,
  positive,
  count,
]);

const BatchSchema = v.tuple([
  epochText,
  count,
  positive,
  positive,
  v.tuple([v.picklist(FEED_STATES), v.picklist(MARKET_SESSIONS), v.array(symbolText)]),
  v.array(UpdateRowSchema),
]);

/** A malformed record read from Redis: which key, and what is wrong with it. */
export class BusRecordError extends Error {
  constructor(
    readonly key: string,
    detail: string,
  ) {
    super(`malformed ${key} record: ${detail}`);
    this.name = 'BusRecordError';
  }
}

function parseJson(key: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BusRecordError(key, 'not JSON');
  }
}

function check<TSchema extends v.GenericSchema>(
  key: string,
  schema: TSchema,
  value: unknown,
): v.InferOutput<TSchema> {
  const result = v.safeParse(schema, value);
  if (result.success) return result.output;
  const issue = result.issues[0];
  const path = issue.path?.map((item) => String(item.key)).join('.') ?? '';
  throw new BusRecordError(key, `${path === '' ? '' : `at ${path}: `}${issue.message}`);
}

export function decodeBatch(key: string, text: string): BusBatch {
  const [epoch, n, t, sentAt, [state, session, halted], rows] = check(
    key,
    BatchSchema,
    parseJson(key, text),
  );
  return {
    epoch,
    n,
    t,
    sentAt,
    status: { state, session, halted },
    updates: rows.map(
      ([symbol, seq, ts, price, bid, ask, size, o, h, l, vol, count, ...session]) => ({
        tick: { symbol, seq, ts, price, bid, ask, size },
        win: { o, h, l, v: vol, n: count },
        session: {
          open: session[0],
          high: session[1],
          low: session[2],
          volume: session[3],
          prevCloseCents: session[4],
        },
      }),
    ),
  };
}

const InstrumentSchema = v.object({
  symbol: symbolText,
  name: v.pipe(v.string(), v.maxLength(200)),
  sector: v.pipe(v.string(), v.maxLength(200)),
  refPrice: v.pipe(finite, v.minValue(0)),
  volatility: v.pipe(finite, v.minValue(0)),
  tradeIntensity: v.pipe(finite, v.minValue(0)),
});

const MetaSchema = v.object({
  epoch: epochText,
  source: v.picklist(FEED_SOURCE_NAMES),
  instruments: v.pipe(v.array(InstrumentSchema), v.minLength(1), v.maxLength(100_000)),
});

export function decodeMeta(key: string, text: string): BusMeta {
  return check(key, MetaSchema, parseJson(key, text));
}

const TickSchema = v.object({
  symbol: symbolText,
  seq: count,
  ts: positive,
  price: finite,
  bid: finite,
  ask: finite,
  size: positive,
});

const CandleSchema = v.object({
  t: positive,
  o: finite,
  h: finite,
  l: finite,
  c: finite,
  v: positive,
});

const SessionSchema = v.object({
  open: finite,
  high: finite,
  low: finite,
  volume: positive,
  prevCloseCents: count,
});

const SnapshotSchema = v.object({
  tick: TickSchema,
  session: SessionSchema,
  forming: v.partial(
    v.object(
      Object.fromEntries(CANDLE_RESOLUTIONS.map((r) => [r, CandleSchema])) as Record<
        CandleResolution,
        typeof CandleSchema
      >,
    ),
  ),
});

export function encodeSnapshot(snapshot: SymbolSnapshot): string {
  const { symbol, seq, ts, price, bid, ask, size } = snapshot.tick;
  return JSON.stringify({
    tick: { symbol, seq, ts, price, bid, ask, size },
    session: snapshot.session,
    forming: snapshot.forming,
  });
}

export function decodeSnapshot(key: string, text: string): SymbolSnapshot {
  return check(key, SnapshotSchema, parseJson(key, text));
}

export function encodeCandle(candle: Candle): string {
  return JSON.stringify([candle.t, candle.o, candle.h, candle.l, candle.c, candle.v]);
}

const CandleRowSchema = v.tuple([positive, finite, finite, finite, finite, positive]);

export function decodeCandle(key: string, text: string): Candle {
  const [t, o, h, l, c, vol] = check(key, CandleRowSchema, parseJson(key, text));
  return { t, o, h, l, c, v: vol };
}
