import type { ReplayFormatSetting } from '../../config/app-config.js';
import { BINANCE_TRADES_FORMAT } from './binance-trades.format.js';
import { MASSIVE_TRADES_FORMAT } from './massive-trades.format.js';
import { RowError } from './replay-file.error.js';
import type { ReplayFormat, ReplayFormatName } from './replay-format.js';
import { TICKSTREAM_FORMAT } from './tickstream.format.js';

/** Every format, in the order auto-detection tries them. */
export const REPLAY_FORMAT_LIST: readonly ReplayFormat[] = [
  TICKSTREAM_FORMAT,
  MASSIVE_TRADES_FORMAT,
  BINANCE_TRADES_FORMAT,
];

const BY_NAME = new Map<ReplayFormatName, ReplayFormat>(
  REPLAY_FORMAT_LIST.map((format) => [format.name, format]),
);

/** The format called `name`. */
export function replayFormatNamed(name: ReplayFormatName): ReplayFormat {
  return BY_NAME.get(name)!;
}

/**
 * The format of a file whose first record is `first`: the configured one, or
 * with `auto` the first whose header (or first row) fits. Throws RowError
 * (reported at the first record's line) when none does.
 */
export function chooseReplayFormat(
  setting: ReplayFormatSetting,
  first: readonly string[],
): ReplayFormat {
  if (setting !== 'auto') return BY_NAME.get(setting)!;
  const format = REPLAY_FORMAT_LIST.find((candidate) => candidate.looksLike(first));
  if (format) return format;
  throw new RowError(
    'unknown format: expected a tickstream header (ts,symbol,price,size,bid,ask), a Massive trades header (ticker,…,sip_timestamp,…) or Binance trade rows (id,price,qty,quoteQty,time,isBuyerMaker,isBestMatch); set REPLAY_FORMAT to read it as one of them',
  );
}
