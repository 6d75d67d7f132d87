/**
 * Market domain types shared by the server, the REST API, tests and the web app.
 * No Nest, Node or DOM imports.
 */

/** One tradable instrument of the simulated universe. */
export interface Instrument {
  symbol: string;
  name: string;
  sector: string;
  /** Reference price: the previous close the session starts from. */
  refPrice: number;
  /** Annualised volatility, e.g. 0.25 for 25 %. */
  volatility: number;
  /** Relative trade intensity; liquid names trade more (weights, any positive scale). */
  tradeIntensity: number;
}

/** One simulated trade with the quote around it. */
export interface Tick {
  symbol: string;
  /** Per-symbol sequence number, strictly increasing from 1. */
  seq: number;
  /** ms since epoch. */
  ts: number;
  price: number;
  bid: number;
  ask: number;
  /** Quantity traded: shares for the simulator (round lots), any positive amount for a replay or live source. */
  size: number;
  /**
   * The reference the session's change is measured from, when the source
   * says (Coinbase: `open_24h`); absent, the instrument's refPrice stays.
   */
  prevClose?: number;
  /**
   * This trade opens a new trading session of the symbol (the simulator's
   * regular open under MARKET_CALENDAR=nyse): open, high, low and volume
   * start again from it, while `seq` and the candles carry on.
   */
  opensSession?: boolean;
}

/** OHLCV candle as served by `GET /api/history/:symbol`. `t` is the bucket start, ms since epoch. */
export interface Candle {
  t: number;
  o: number;
  h: number;
  l: number;
  c: number;
  v: number;
}

export const CANDLE_RESOLUTIONS = ['1s', '1m'] as const;
export type CandleResolution = (typeof CANDLE_RESOLUTIONS)[number];

/** Bucket width in ms of each candle resolution. */
export const RESOLUTION_MS: Record<CandleResolution, number> = { '1s': 1000, '1m': 60_000 };

/**
 * Candles the server keeps per symbol and resolution, and so the most
 * `/api/history` serves and the dashboard holds: 1 h of 1 s candles (3600) and
 * 24 h of 1 min ones (1440). With ~80 symbols that is ≈ 400k small objects on
 * the server at most, bounded whatever the uptime.
 */
export const CANDLE_CAPACITY: Readonly<Record<CandleResolution, number>> = {
  '1s': 3600,
  '1m': 1440,
};

/** Session (day) statistics of one symbol. */
export interface SessionStats {
  open: number;
  high: number;
  low: number;
  prevClose: number;
  volume: number;
  change: number;
  changePct: number;
}

/** Row of `GET /api/symbols`. */
export interface SymbolInfo {
  symbol: string;
  name: string;
  sector: string;
}

/** Body of `GET /api/history/:symbol`. */
export interface HistoryResponse {
  symbol: string;
  resolution: CandleResolution;
  candles: Candle[];
}

/**
 * Where the market feed is: `idle` before it starts; a live source is
 * `connecting` to its upstream, then `live` while data flows, `stale` when
 * the upstream went quiet (no data nor heartbeat for too long), `reconnecting`
 * after losing it, `down` when it gave up (a fatal upstream error such as a
 * refused key); `closed` when no more ticks will come (a replay past its last
 * row, or a stopped feed). In every state the last values stay served.
 */
export const FEED_STATES = [
  'idle',
  'connecting',
  'live',
  'stale',
  'reconnecting',
  'down',
  'closed',
] as const;
export type FeedState = (typeof FEED_STATES)[number];

/** Where ticks come from (FEED): the simulator, a replayed file, or a live exchange. */
export const FEED_SOURCE_NAMES = ['simulated', 'replay', 'coinbase', 'alpaca'] as const;
export type FeedSourceName = (typeof FEED_SOURCE_NAMES)[number];

/**
 * The market session: US equities trade `pre` (04:00–09:30 New York),
 * `regular` (09:30–16:00) and `post` (16:00–20:00), and are `closed` at
 * night, on weekends and holidays; `always` is a market that never closes
 * (crypto, the simulator's default calendar, a replay).
 */
export const MARKET_SESSIONS = ['pre', 'regular', 'post', 'closed', 'always'] as const;
export type MarketSession = (typeof MARKET_SESSIONS)[number];

/** Body of `GET /health`. */
export interface HealthResponse {
  /**
   * `degraded` while prices are not live for a reason an operator should see:
   * the feed stale, reconnecting or down, or (a cluster) Redis unreachable.
   */
  status: 'ok' | 'degraded';
  /** Why it is degraded. */
  reason?: string;
  /** standalone, feed or gateway (ROLE). */
  role: 'standalone' | 'feed' | 'gateway';
  uptimeSec: number;
  symbols: number;
  clients: number;
  ticksTotal: number;
  /** The market feed's {@link FeedState}. */
  feed: FeedState;
  /** Where its ticks come from. */
  source: FeedSourceName;
  /** The market session now. */
  session: MarketSession;
}

/** Body of every REST error (4xx/5xx). */
export interface ApiErrorBody {
  statusCode: number;
  error: string;
  message: string;
}
