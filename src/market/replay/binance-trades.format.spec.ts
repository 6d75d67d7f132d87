import { describe, expect, it } from 'vitest';
import {
  BINANCE_TRADES_FORMAT,
  binanceSymbol,
  MICROS_FROM,
  parseEpochMsOrMicros,
} from './binance-trades.format.js';
import { splitCsvFields } from './csv-fields.js';
import { ReplayFileError, RowError } from './replay-file.error.js';
import type { FormatContext } from './replay-format.js';

const FILE = 'data/BTCUSDT-trades-2025-01-01.csv.gz';
const ROW_MS = '4393000001,93999.91000000,0.15602706,14666.52959756,1735689600020,True,True';
const ROW_US = '4393000001,93999.91000000,0.15602706,14666.52959756,1735689600020150,False,True';

function open(first: string, context: Partial<FormatContext> = {}) {
  return BINANCE_TRADES_FORMAT.open(splitCsvFields(first), { file: FILE, symbols: [], ...context });
}

describe('BINANCE_TRADES_FORMAT', () => {
  it('recognises headerless spot rows and the futures header', () => {
    expect(BINANCE_TRADES_FORMAT.looksLike(splitCsvFields(ROW_MS))).toBe(true);
    expect(BINANCE_TRADES_FORMAT.looksLike(splitCsvFields(ROW_US))).toBe(true);
    const futures = 'id,price,qty,quote_qty,time,is_buyer_maker';
    expect(BINANCE_TRADES_FORMAT.looksLike(splitCsvFields(futures))).toBe(true);
    expect(open(futures).header).toBe(true);
    expect(BINANCE_TRADES_FORMAT.looksLike(splitCsvFields('ts,symbol,price,size'))).toBe(false);
  });

  it('reads a row: the symbol from the file name, bid and ask at the price', () => {
    const { parser, header } = open(ROW_MS);
    expect(header).toBe(false);
    expect(parser.parse(splitCsvFields(ROW_MS))).toEqual({
      symbol: 'BTCUSDT',
      ms: 1735689600020,
      ns: 0,
      price: 93999.91,
      size: 0.15602706,
      bid: 93999.91,
      ask: 93999.91,
    });
  });

  it('tells µs (files from 2025 on) from ms by magnitude', () => {
    expect(parseEpochMsOrMicros('1735689600020')).toEqual({ ms: 1735689600020, ns: 0 });
    expect(parseEpochMsOrMicros('1735689600020150')).toEqual({ ms: 1735689600020, ns: 150_000 });
    expect(parseEpochMsOrMicros('1735689600020999')).toEqual({ ms: 1735689600020, ns: 999_000 });
    // 2001 in µs is still above the line, 5138 in ms below it.
    expect(parseEpochMsOrMicros(String(1e15))).toEqual({ ms: 1e12, ns: 0 });
    expect(parseEpochMsOrMicros(String(MICROS_FROM - 1)).ns).toBe(0);
    expect(() => parseEpochMsOrMicros('1735689600020150000')).toThrow(
      new RowError('time: expected ms or µs since the epoch, got "1735689600020150000"'),
    );
    expect(() => parseEpochMsOrMicros('17356896e5')).toThrow(RowError);
  });

  it('takes the symbol from a single FEED_SYMBOLS entry, else from the file name', () => {
    expect(binanceSymbol({ file: FILE, symbols: ['BTC-USDT'] })).toBe('BTC-USDT');
    expect(binanceSymbol({ file: FILE, symbols: [] })).toBe('BTCUSDT');
    expect(binanceSymbol({ file: FILE, symbols: ['ETHUSDT', 'BTCUSDT'] })).toBe('BTCUSDT');
    expect(() => binanceSymbol({ file: 'trades.csv', symbols: [] })).toThrow(ReplayFileError);
    expect(() => binanceSymbol({ file: 'trades.csv', symbols: [] })).toThrow(
      'trades.csv: a binance-trades file does not say its symbol: name it like BTCUSDT-trades-2025-01-01.csv or set FEED_SYMBOLS to the one symbol',
    );
    expect(() => binanceSymbol({ file: FILE, symbols: ['ETHUSDT', 'SOLUSDT'] })).toThrow(
      'a binance-trades file holds one symbol (BTCUSDT, from its name), which FEED_SYMBOLS does not list',
    );
  });

  it.each([
    [
      '1,2,3',
      'expected 7 fields (trade id,price,qty,quoteQty,time,isBuyerMaker,isBestMatch), got 3',
    ],
    ['1,abc,1,1,1735689600020,True,True', 'price: expected a number, got "abc"'],
    ['1,1,-1,1,1735689600020,True,True', 'qty: expected a number ≥ 0, got "-1"'],
    ['1,1,1,1,noon,True,True', 'time: expected ms or µs since the epoch, got "noon"'],
  ])('refuses %s', (line, message) => {
    expect(() => open(ROW_MS).parser.parse(splitCsvFields(line))).toThrow(new RowError(message));
  });
});
