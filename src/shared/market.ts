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
  /** Shares traded (a whole number of round lots). */
  size: number;
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
 * Where the market feed is: `idle` before it starts, `live` while it produces
 * ticks, `closed` when no more will come (a replay past its last row, or a
 * stopped feed); the last values stay served.
 */
export const FEED_STATES = ['idle', 'live', 'closed'] as const;
export type FeedState = (typeof FEED_STATES)[number];

/** Body of `GET /health`. */
export interface HealthResponse {
  status: 'ok';
  uptimeSec: number;
  symbols: number;
  clients: number;
  ticksTotal: number;
  /** The market feed's {@link FeedState}. */
  feed: FeedState;
}

/** Body of every REST error (4xx/5xx). */
export interface ApiErrorBody {
  statusCode: number;
  error: string;
  message: string;
}
