import { describe, expect, it } from 'vitest';
import { splitCsvFields } from './csv-fields.js';
import { RowError } from './replay-file.error.js';
import { chooseReplayFormat } from './replay-formats.js';
import { describeTime } from './replay-row.js';

describe(chooseReplayFormat.name, () => {
  it.each([
    ['ts,symbol,price,size,bid,ask', 'tickstream'],
    [
      'ticker,conditions,correction,exchange,id,participant_timestamp,price,sequence_number,sip_timestamp,size,tape,trf_id,trf_timestamp',
      'massive-trades',
    ],
    ['1,93999.91,0.1,9399.9,1735689600020150,True,True', 'binance-trades'],
  ])('detects %s as %s', (first, name) => {
    expect(chooseReplayFormat('auto', splitCsvFields(first)).name).toBe(name);
  });

  it('applies a configured format without detecting', () => {
    expect(chooseReplayFormat('binance-trades', ['ts', 'symbol']).name).toBe('binance-trades');
  });

  it('names the formats it knows when none fits', () => {
    expect(() => chooseReplayFormat('auto', ['date', 'close'])).toThrow(RowError);
    expect(() => chooseReplayFormat('auto', ['date', 'close'])).toThrow(
      /^unknown format: expected a tickstream header \(ts,symbol,price,size,bid,ask\)/,
    );
  });
});

describe(describeTime.name, () => {
  it('writes a row time in ISO 8601 with its sub-millisecond digits', () => {
    expect(describeTime({ ms: 1735732800123, ns: 0 } as never)).toBe('2025-01-01T12:00:00.123Z');
    expect(describeTime({ ms: 1735732800123, ns: 456_789 } as never)).toBe(
      '2025-01-01T12:00:00.123456789Z',
    );
  });
});
