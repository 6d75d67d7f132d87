import { parseConfig } from '../../src/config/app-config.js';

/** One load shape, run in turn against every server under test. */
export interface Scenario {
  id: string;
  title: string;
  clients: number;
  symbolsPerClient: number;
  intervalMs: number;
  feedTicksPerSecond: number;
  /** New connections per second during the ramp (all load-generator processes together). */
  rampPerSecond: number;
  /** Feed running with no client: the idle CPU and RSS baseline. */
  idleMs: number;
  /** After the last subscribe ack, before measuring: lets timers, GC and buffers settle. */
  settleMs: number;
  measureMs: number;
  /** Longest a ramp may take before the run gives up on the missing clients. */
  rampTimeoutMs: number;
  /**
   * Measurement cap for the `naive` server, which is expected to fall behind:
   * long enough for a stable rate, short enough that its queues stay bounded.
   */
  naiveMeasureMs: number;
}

export const UNIVERSE_SIZE = 100;

/** The feed rate a server runs at when FEED_TICKS_PER_SECOND is not set (the config's default). */
export const DEFAULT_FEED_TICKS_PER_SECOND = parseConfig({}).feedTicksPerSecond;

const S1: Scenario = {
  id: 'S1',
  title: 'fan-out: 5 000 clients × 10 of 100 symbols × 250 ms, feed 5 000 ticks/s',
  clients: 5_000,
  symbolsPerClient: 10,
  intervalMs: 250,
  feedTicksPerSecond: 5_000,
  rampPerSecond: 1_000,
  idleMs: 8_000,
  settleMs: 5_000,
  measureMs: 60_000,
  rampTimeoutMs: 60_000,
  naiveMeasureMs: 20_000,
};

/**
 * S1's clients on a sparse feed: at the default rate each symbol trades
 * ~5 times a second, so ~29 % of 250 ms windows are empty and most updates
 * are leading edges (the first tick after a quiet window, which ours sends at
 * once). Shows whether clients still get about one frame per window, and
 * what staleness looks like when little is conflated.
 */
const S4: Scenario = {
  ...S1,
  id: 'S4',
  title: `sparse feed: S1's 5 000 clients × 10 of 100 symbols × 250 ms, feed ${DEFAULT_FEED_TICKS_PER_SECOND.toLocaleString('en-US')} ticks/s (the default)`,
  feedTicksPerSecond: DEFAULT_FEED_TICKS_PER_SECOND,
};

const FULL: Scenario[] = [
  S1,
  {
    id: 'S2',
    title: 'connections: 20 000 clients × 5 symbols × 1 000 ms, feed 5 000 ticks/s',
    clients: 20_000,
    symbolsPerClient: 5,
    intervalMs: 1_000,
    feedTicksPerSecond: 5_000,
    rampPerSecond: 1_000,
    idleMs: 8_000,
    settleMs: 10_000,
    measureMs: 45_000,
    rampTimeoutMs: 90_000,
    naiveMeasureMs: 20_000,
  },
  {
    id: 'S3',
    title: 'ingest: 500 clients × 10 symbols × 100 ms, feed 100 000 ticks/s',
    clients: 500,
    symbolsPerClient: 10,
    intervalMs: 100,
    feedTicksPerSecond: 100_000,
    rampPerSecond: 500,
    idleMs: 8_000,
    settleMs: 5_000,
    measureMs: 45_000,
    rampTimeoutMs: 60_000,
    naiveMeasureMs: 15_000,
  },
  S4,
];

/**
 * `--quick`: one small S1-shaped run per server, ~10 s each, for CI smoke
 * runs. Its numbers mean nothing; it only proves every server delivers.
 */
const QUICK: Scenario[] = [
  {
    id: 'Q1',
    title: 'quick smoke: 200 clients × 10 of 100 symbols × 250 ms, feed 2 000 ticks/s',
    clients: 200,
    symbolsPerClient: 10,
    intervalMs: 250,
    feedTicksPerSecond: 2_000,
    rampPerSecond: 1_000,
    idleMs: 1_500,
    settleMs: 1_000,
    measureMs: 5_000,
    rampTimeoutMs: 15_000,
    naiveMeasureMs: 5_000,
  },
];

export function scenarios(quick: boolean): Scenario[] {
  return quick ? QUICK : FULL;
}
