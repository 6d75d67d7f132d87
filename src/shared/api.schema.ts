/**
 * The REST API's inputs as valibot schemas: query strings and path segments
 * of `/api/quotes` and `/api/history/:symbol`. Query values arrive as strings
 * (an array when a parameter is repeated, which is refused rather than
 * guessed). Messages name the parameter and never quote the value. No Nest,
 * Node or DOM imports.
 */
import * as v from 'valibot';
import { CANDLE_CAPACITY, CANDLE_RESOLUTIONS } from './market.js';
import { SYMBOL_PATTERN, SYMBOL_RULE } from './symbols.js';

/** Most symbols one `/api/quotes` call may name. */
export const MAX_QUOTE_SYMBOLS = 200;
/** Candles `/api/history` answers when no `limit` is given (capped by what the server keeps). */
export const DEFAULT_HISTORY_LIMIT = 300;

const ONCE = 'must be given once';
const SYMBOL = `is not a ticker symbol (${SYMBOL_RULE})`;

/** `?symbols=AAPL,msft`: comma-separated, upper-cased, de-duplicated (absent: every symbol). */
export const QuotesQuerySchema = v.object({
  symbols: v.optional(
    v.pipe(
      v.string(ONCE),
      v.description(
        `Comma-separated ticker symbols (${SYMBOL_RULE}, case-insensitive), at most ${MAX_QUOTE_SYMBOLS}; absent means every symbol.`,
      ),
      v.transform((raw) =>
        raw
          .split(',')
          .map((part) => part.trim())
          .filter((part) => part.length > 0),
      ),
      v.minLength(1, 'must list at least one symbol'),
      v.maxLength(MAX_QUOTE_SYMBOLS, `may list at most ${MAX_QUOTE_SYMBOLS} symbols`),
      v.array(v.pipe(v.string(), v.regex(SYMBOL_PATTERN, SYMBOL), v.toUpperCase())),
      v.transform((symbols): string[] => [...new Set(symbols)]),
    ),
  ),
});

/** The `:symbol` path segment, taken as it is: `/api/history/%20AAPL` names no symbol. */
export const SymbolParamSchema = v.pipe(
  v.string(),
  v.regex(SYMBOL_PATTERN, `path segment ${SYMBOL}`),
  v.toUpperCase(),
);

/** `?resolution=1s|1m&limit=N`: limit from 1 to what the server keeps at that resolution. */
export const HistoryQuerySchema = v.pipe(
  v.object({
    resolution: v.optional(
      v.pipe(
        v.string(ONCE),
        v.picklist(CANDLE_RESOLUTIONS, `must be one of ${CANDLE_RESOLUTIONS.join(', ')}`),
        v.description('Candle width (default 1m).'),
      ),
      '1m',
    ),
    limit: v.optional(
      v.pipe(
        v.string(ONCE),
        v.regex(/^\d{1,6}$/, 'must be a positive integer'),
        v.description(
          `Most recent candles to return: 1 to ${CANDLE_CAPACITY['1s']} for 1s, 1 to ${CANDLE_CAPACITY['1m']} for 1m (default ${DEFAULT_HISTORY_LIMIT}, capped).`,
        ),
        v.transform(Number),
      ),
    ),
  }),
  v.forward(
    v.partialCheck(
      [['resolution'], ['limit']],
      ({ resolution, limit }) =>
        limit === undefined || (limit >= 1 && limit <= CANDLE_CAPACITY[resolution]),
      (issue) => {
        const resolution = (issue.input as { resolution: keyof typeof CANDLE_CAPACITY }).resolution;
        return `must be an integer from 1 to ${CANDLE_CAPACITY[resolution]} for ${resolution}`;
      },
    ),
    ['limit'],
  ),
  // No more than the server keeps: a larger default could never be filled.
  v.transform(({ resolution, limit }) => ({
    resolution,
    limit: limit ?? Math.min(DEFAULT_HISTORY_LIMIT, CANDLE_CAPACITY[resolution]),
  })),
);
