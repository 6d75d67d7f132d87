import { quoteField, RowError } from './replay-file.error.js';
import { type FormatContext, headerIndex, type ReplayFormat } from './replay-format.js';
import {
  parseNumber,
  parsePrice,
  parseSize,
  type ReplayRow,
  type RowParser,
  SymbolTable,
} from './replay-row.js';

/** The header of a tickstream CSV, as the recorder writes it. */
export const TICKSTREAM_HEADER = ['ts', 'symbol', 'price', 'size', 'bid', 'ask'] as const;
const REQUIRED = ['ts', 'symbol', 'price', 'size'] as const;

/**
 * tickstream CSV, our canonical format: the header `ts,symbol,price,size,bid,ask`
 * (columns found by name, so another order or extra columns also read),
 * `ts` in ms since the Unix epoch (decimals allowed), `bid`/`ask` optional and
 * possibly empty: a missing one is the trade price (a trade-only file then
 * shows a zero spread rather than an invented one).
 */
export const TICKSTREAM_FORMAT: ReplayFormat = {
  name: 'tickstream',
  sector: 'Replay',
  looksLike(first) {
    const index = headerIndex(first);
    return REQUIRED.every((name) => index.has(name));
  },
  open(first, context) {
    const index = headerIndex(first);
    const missing = REQUIRED.filter((name) => !index.has(name));
    if (missing.length > 0) {
      throw new RowError(
        `tickstream header must name ${REQUIRED.join(', ')} (expected ${TICKSTREAM_HEADER.join(',')}); missing ${missing.join(', ')}`,
      );
    }
    return { parser: new TickstreamParser(index, first.length, context), header: true };
  },
};

class TickstreamParser implements RowParser {
  private readonly ts: number;
  private readonly symbol: number;
  private readonly price: number;
  private readonly size: number;
  private readonly bid: number;
  private readonly ask: number;
  private readonly symbols: SymbolTable;

  constructor(
    index: Map<string, number>,
    private readonly columns: number,
    context: FormatContext,
  ) {
    this.ts = index.get('ts')!;
    this.symbol = index.get('symbol')!;
    this.price = index.get('price')!;
    this.size = index.get('size')!;
    this.bid = index.get('bid') ?? -1;
    this.ask = index.get('ask') ?? -1;
    this.symbols = new SymbolTable(context.accept);
  }

  parse(fields: readonly string[]): ReplayRow | undefined {
    if (fields.length !== this.columns) {
      throw new RowError(`expected ${this.columns} fields as in the header, got ${fields.length}`);
    }
    const symbol = this.symbols.resolve(fields[this.symbol]);
    if (symbol === undefined) return undefined;
    const tsText = fields[this.ts];
    const ms = parseNumber(tsText, 'ts');
    if (ms < 0) throw new RowError(`ts: expected ms since the epoch, got ${quoteField(tsText)}`);
    const price = parsePrice(fields[this.price]);
    return {
      symbol,
      ms,
      ns: 0,
      price,
      size: parseSize(fields[this.size]),
      bid: this.quote(fields, this.bid, 'bid', price),
      ask: this.quote(fields, this.ask, 'ask', price),
    };
  }

  private quote(fields: readonly string[], column: number, name: string, price: number): number {
    if (column < 0) return price;
    const text = fields[column];
    if (text.length === 0) return price;
    const value = parseNumber(text, name);
    if (!(value >= 0))
      throw new RowError(`${name}: expected a number ≥ 0, got ${quoteField(text)}`);
    return value;
  }
}
