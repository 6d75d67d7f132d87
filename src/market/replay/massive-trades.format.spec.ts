import { describe, expect, it } from 'vitest';
import { splitCsvFields } from './csv-fields.js';
import { MASSIVE_TRADES_FORMAT, parseEpochNanos } from './massive-trades.format.js';
import { RowError } from './replay-file.error.js';
import { offsetMs } from './replay-row.js';

const HEADER =
  'ticker,conditions,correction,exchange,id,participant_timestamp,price,sequence_number,sip_timestamp,size,tape,trf_id,trf_timestamp';

function parser(accept?: ReadonlySet<string>) {
  const opened = MASSIVE_TRADES_FORMAT.open(splitCsvFields(HEADER), {
    file: 'trades.csv.gz',
    symbols: [],
    accept,
  });
  expect(opened.header).toBe(true);
  return (line: string) => opened.parser.parse(splitCsvFields(line));
}

describe('MASSIVE_TRADES_FORMAT', () => {
  it('recognises its header', () => {
    expect(MASSIVE_TRADES_FORMAT.looksLike(splitCsvFields(HEADER))).toBe(true);
    expect(MASSIVE_TRADES_FORMAT.looksLike(splitCsvFields('ts,symbol,price,size'))).toBe(false);
  });

  it('reads a row with a quoted condition list, a fractional size and ns timestamps', () => {
    expect(
      parser()(
        'AAPL,"12,37",0,4,7014,1735741800135456288,250.1234,1002,1735741800135457789,12.25,3,201,1735741800135456888',
      ),
    ).toEqual({
      symbol: 'AAPL',
      ms: 1735741800135,
      ns: 457_789,
      price: 250.1234,
      size: 12.25,
      bid: 250.1234,
      ask: 250.1234,
    });
    expect(parser()('BRK.B,,0,11,1,1,453.2,1,1735741800000000001,0.5,1,,')).toMatchObject({
      symbol: 'BRK.B',
      ns: 1,
      size: 0.5,
    });
  });

  it('keeps every digit of ns beyond 2^53: 1 ns apart is 1e-6 ms apart', () => {
    const a = parseEpochNanos('1735741800123456789', 'sip_timestamp');
    const b = parseEpochNanos('1735741800123456790', 'sip_timestamp');
    expect(Number('1735741800123456789')).toBe(Number('1735741800123456790')); // a double cannot
    expect(a).toEqual({ ms: 1735741800123, ns: 456_789 });
    const row = { symbol: 'A', price: 1, size: 1, bid: 1, ask: 1 };
    expect(offsetMs({ ...row, ...b }, { ...row, ...a })).toBeCloseTo(1e-6, 12);
    expect(parseEpochNanos('999', 'x')).toEqual({ ms: 0, ns: 999 });
    expect(() => parseEpochNanos('1.7e18', 'sip_timestamp')).toThrow(
      new RowError('sip_timestamp: expected ns since the epoch, got "1.7e18"'),
    );
  });

  it('leaves out tickers outside FEED_SYMBOLS', () => {
    const parse = parser(new Set(['MSFT']));
    expect(parse('AAPL,,0,4,1,1,1,1,1735741800000000001,1,1,,')).toBeUndefined();
    expect(parse('MSFT,,0,4,1,1,1,1,1735741800000000001,1,1,,')).toMatchObject({ symbol: 'MSFT' });
  });

  it('refuses short rows and a header without its columns', () => {
    expect(() => parser()('AAPL,"12,37",0')).toThrow(
      new RowError('expected 13 fields as in the header, got 3'),
    );
    expect(() =>
      MASSIVE_TRADES_FORMAT.open(['ticker', 'price', 'sip_timestamp'], { file: 'f', symbols: [] }),
    ).toThrow('massive-trades header must name ticker, price, size, sip_timestamp; missing size');
  });
});
