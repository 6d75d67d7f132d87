import { describe, expect, it } from 'vitest';
import {
  type BusBatch,
  BusRecordError,
  decodeBatch,
  decodeCandle,
  decodeMeta,
  decodeSnapshot,
  encodeBatch,
  encodeCandle,
  encodeSnapshot,
} from './bus-batch.js';

const BATCH: BusBatch = {
  epoch: '42-1796000000000-1',
  n: 7,
  t: 1_796_000_000_025,
  sentAt: 1_796_000_000_026,
  status: { state: 'live', session: 'regular', halted: ['MSFT'] },
  updates: [
    {
      tick: {
        symbol: 'AAPL',
        seq: 12,
        ts: 1_796_000_000_020,
        price: 231.5,
        bid: 231.49,
        ask: 231.51,
        size: 300,
      },
      win: { o: 231.4, h: 231.6, l: 231.3, v: 900, n: 3 },
      session: { open: 230, high: 232, low: 229, volume: 1_000_000, prevCloseCents: 22950 },
    },
  ],
};

describe('bus records', () => {
  it('round-trips a batch, a snapshot and a candle', () => {
    expect(decodeBatch('bus', encodeBatch(BATCH))).toEqual(BATCH);
    const snapshot = {
      tick: BATCH.updates[0].tick,
      session: BATCH.updates[0].session,
      forming: { '1s': { t: 1_796_000_000_000, o: 1, h: 2, l: 0.5, c: 1.5, v: 10 } },
    };
    expect(decodeSnapshot('snap', encodeSnapshot(snapshot))).toEqual(snapshot);
    const candle = { t: 1_796_000_000_000, o: 1, h: 2, l: 0.5, c: 1.5, v: 10 };
    expect(decodeCandle('candles', encodeCandle(candle))).toEqual(candle);
  });

  it('rejects a malformed record naming its key and what is wrong, never echoing it', () => {
    const bad = JSON.parse(encodeBatch(BATCH)) as unknown[];
    (bad[5] as unknown[][])[0][0] = 'not a symbol!';
    expect(() => decodeBatch('tickstream:bus 1-0', JSON.stringify(bad))).toThrow(BusRecordError);
    expect(() => decodeBatch('tickstream:bus 1-0', JSON.stringify(bad))).toThrow(
      /^malformed tickstream:bus 1-0 record: at 5\.0\.0: /,
    );
    expect(() => decodeBatch('k', '{')).toThrow('malformed k record: not JSON');
    expect(() => decodeBatch('k', JSON.stringify([...bad.slice(0, 1), 0]))).toThrow(BusRecordError);
    expect(() =>
      decodeMeta('meta', JSON.stringify({ epoch: 'e', source: 'nasdaq', instruments: [] })),
    ).toThrow(/malformed meta record: at source/);
  });
});
