import { describe, expect, it } from 'vitest';
import { splitCsvFields } from './csv-fields.js';
import { RowError } from './replay-file.error.js';
import type { FormatContext } from './replay-format.js';
import { TICKSTREAM_FORMAT } from './tickstream.format.js';

const CONTEXT: FormatContext = { file: 'ticks.csv', symbols: [] };

function parser(header = 'ts,symbol,price,size,bid,ask', context = CONTEXT) {
  const opened = TICKSTREAM_FORMAT.open(splitCsvFields(header), context);
  expect(opened.header).toBe(true);
  return (line: string) => opened.parser.parse(splitCsvFields(line));
}

describe('TICKSTREAM_FORMAT', () => {
  it('recognises its header, in any column order', () => {
    expect(TICKSTREAM_FORMAT.looksLike(splitCsvFields('ts,symbol,price,size,bid,ask'))).toBe(true);
    expect(TICKSTREAM_FORMAT.looksLike(splitCsvFields('symbol, TS ,size,price'))).toBe(true);
    expect(TICKSTREAM_FORMAT.looksLike(splitCsvFields('1735732800000,AAPL,1,1,,'))).toBe(false);
  });

  it('reads ms timestamps, decimals in sizes, and takes an empty bid/ask as the price', () => {
    const parse = parser();
    expect(parse('1735732800123,AAPL,229.51,100,229.50,229.52')).toEqual({
      symbol: 'AAPL',
      ms: 1735732800123,
      ns: 0,
      price: 229.51,
      size: 100,
      bid: 229.5,
      ask: 229.52,
    });
    expect(parse('1735732800123.5,btc/usd,94000,0.0125,,')).toEqual({
      symbol: 'BTC-USD',
      ms: 1735732800123.5,
      ns: 0,
      price: 94000,
      size: 0.0125,
      bid: 94000,
      ask: 94000,
    });
    expect(parser('ts,symbol,price,size')('5,MSFT,1,2')).toMatchObject({ bid: 1, ask: 1 });
  });

  it('leaves out symbols outside FEED_SYMBOLS without checking them', () => {
    const parse = parser(undefined, { ...CONTEXT, accept: new Set(['AAPL']) });
    expect(parse('1,MSFT,x,y,,')).toBeUndefined();
    expect(parse('1,^GSPC,1,1,,')).toBeUndefined();
    expect(parse('1,aapl,1,1,,')).toMatchObject({ symbol: 'AAPL' });
  });

  it.each([
    ['1,AAPL,1,1,,,', 'expected 6 fields as in the header, got 7'],
    ['x,AAPL,1,1,,', 'ts: expected a number, got "x"'],
    ['-1,AAPL,1,1,,', 'ts: expected ms since the epoch, got "-1"'],
    ['1,^GSPC,1,1,,', `symbol: "^GSPC" is not a ticker (1-12 letters, digits, '.' or '-')`],
    ['1,AAPL,0,1,,', 'price: expected a number > 0, got "0"'],
    ['1,AAPL,,1,,', 'price: expected a number, got ""'],
    ['1,AAPL,1,-5,,', 'size: expected a number ≥ 0, got "-5"'],
    ['1,AAPL,1,1,abc,', 'bid: expected a number, got "abc"'],
  ])('refuses %s: %s', (line, message) => {
    expect(() => parser()(line)).toThrow(new RowError(message));
  });

  it('refuses a header without the required columns', () => {
    expect(() => TICKSTREAM_FORMAT.open(['ts', 'symbol', 'price'], CONTEXT)).toThrow(
      'tickstream header must name ts, symbol, price, size (expected ts,symbol,price,size,bid,ask); missing size',
    );
  });
});
