import { quoteField, RowError } from './replay-file.error.js';
import { type FormatContext, headerIndex, type ReplayFormat } from './replay-format.js';
import {
  parsePrice,
  parseSize,
  type ReplayRow,
  type RowParser,
  SymbolTable,
} from './replay-row.js';

const REQUIRED = ['ticker', 'price', 'size', 'sip_timestamp'] as const;
/** Epoch ns today have 19 digits; 20 would be past the year 5138. */
const NANOS = /^\d{1,20}$/;

/**
 * Massive (formerly Polygon.io) flat-file trades, e.g. us_stocks_sip/trades_v1:
 * the header `ticker,conditions,correction,exchange,id,participant_timestamp,
 * price,sequence_number,sip_timestamp,size,tape,trf_id,trf_timestamp` (columns
 * found by name), `conditions` a quoted list (`"12,37"`), `size` possibly
 * fractional, and `sip_timestamp` in ns since the epoch: ~1.7e18, beyond 2^53,
 * so it is read as text and split into ms and ns without losing a digit. Bid
 * and ask are the trade price (trades files carry no quotes).
 */
export const MASSIVE_TRADES_FORMAT: ReplayFormat = {
  name: 'massive-trades',
  sector: 'Stocks',
  looksLike(first) {
    const index = headerIndex(first);
    return index.has('ticker') && index.has('sip_timestamp');
  },
  open(first, context) {
    const index = headerIndex(first);
    const missing = REQUIRED.filter((name) => !index.has(name));
    if (missing.length > 0) {
      throw new RowError(
        `massive-trades header must name ${REQUIRED.join(', ')}; missing ${missing.join(', ')}`,
      );
    }
    return { parser: new MassiveTradesParser(index, first.length, context), header: true };
  },
};

class MassiveTradesParser implements RowParser {
  private readonly ticker: number;
  private readonly price: number;
  private readonly size: number;
  private readonly sipTimestamp: number;
  private readonly symbols: SymbolTable;

  constructor(
    index: Map<string, number>,
    private readonly columns: number,
    context: FormatContext,
  ) {
    this.ticker = index.get('ticker')!;
    this.price = index.get('price')!;
    this.size = index.get('size')!;
    this.sipTimestamp = index.get('sip_timestamp')!;
    this.symbols = new SymbolTable(context.accept);
  }

  parse(fields: readonly string[]): ReplayRow | undefined {
    if (fields.length !== this.columns) {
      throw new RowError(`expected ${this.columns} fields as in the header, got ${fields.length}`);
    }
    const symbol = this.symbols.resolve(fields[this.ticker]);
    if (symbol === undefined) return undefined;
    const price = parsePrice(fields[this.price]);
    const { ms, ns } = parseEpochNanos(fields[this.sipTimestamp], 'sip_timestamp');
    return { symbol, ms, ns, price, size: parseSize(fields[this.size]), bid: price, ask: price };
  }
}

/**
 * Epoch nanoseconds, as text, to whole ms and the ns past them: the last six
 * digits are the ns, the rest the ms (at most 14 digits: exact as a double),
 * with no BigInt and no rounding.
 */
export function parseEpochNanos(text: string, field: string): { ms: number; ns: number } {
  if (!NANOS.test(text)) {
    throw new RowError(`${field}: expected ns since the epoch, got ${quoteField(text)}`);
  }
  const split = text.length - 6;
  if (split <= 0) return { ms: 0, ns: Number(text) };
  return { ms: Number(text.slice(0, split)), ns: Number(text.slice(split)) };
}
