import { describe, expect, it } from 'vitest';
import {
  authMessage,
  parseAlpacaFrame,
  parseAlpacaMessage,
  subscribeMessage,
} from './alpaca-messages.js';

// The examples of Alpaca's market data docs ("WebSocket Stream", "Real-time Stock Data").
const TRADE = {
  T: 't',
  i: 96921,
  S: 'AAPL',
  x: 'D',
  p: 126.55,
  s: 1,
  t: '2021-02-22T15:51:44.208Z',
  c: ['@', 'I'],
  z: 'C',
};
const QUOTE = {
  T: 'q',
  S: 'AMD',
  bx: 'U',
  bp: 87.66,
  bs: 1,
  ax: 'Q',
  ap: 87.68,
  as: 4,
  t: '2021-02-22T15:51:45.335689322Z',
  c: ['R'],
  z: 'C',
};
const SUBSCRIPTION = {
  T: 'subscription',
  trades: ['AAPL'],
  quotes: ['AMD', 'CLDR'],
  bars: ['*'],
  updatedBars: [],
  dailyBars: ['VOO'],
  statuses: ['*'],
  lulds: [],
  corrections: ['AAPL'],
  cancelErrors: ['AAPL'],
};

const one = (message: unknown) => parseAlpacaMessage(message);

describe(parseAlpacaFrame.name, () => {
  it('reads the welcome, the auth reply and a documented error', () => {
    expect(parseAlpacaFrame('[{"T":"success","msg":"connected"}]')).toEqual({
      kind: 'messages',
      messages: [{ kind: 'success', success: { T: 'success', msg: 'connected' } }],
    });
    expect(parseAlpacaFrame('[{"T":"success","msg":"authenticated"}]')).toMatchObject({
      messages: [{ kind: 'success', success: { msg: 'authenticated' } }],
    });
    expect(
      parseAlpacaFrame('[{"T":"error","code":406,"msg":"connection limit exceeded"}]'),
    ).toEqual({
      kind: 'messages',
      messages: [
        { kind: 'error', error: { T: 'error', code: 406, msg: 'connection limit exceeded' } },
      ],
    });
  });

  it('reads the docs trade, quote and subscription, several in one frame', () => {
    const frame = parseAlpacaFrame(JSON.stringify([TRADE, QUOTE, SUBSCRIPTION]));
    expect(frame).toEqual({
      kind: 'messages',
      messages: [
        { kind: 'trade', trade: TRADE },
        { kind: 'quote', quote: QUOTE },
        {
          kind: 'subscription',
          subscription: { T: 'subscription', trades: ['AAPL'], quotes: ['AMD', 'CLDR'] },
        },
      ],
    });
  });

  it('passes types it does not read (bars, statuses) as other', () => {
    expect(one({ T: 'b', S: 'SPY', o: 388.985, h: 389.13, l: 388.975, c: 389.12 })).toEqual({
      kind: 'other',
      type: 'b',
    });
    expect(one({ T: 's', S: 'AAPL', sc: 'H', sm: 'Trading Halt' })).toEqual({
      kind: 'other',
      type: 's',
    });
  });

  it('calls a frame that is not a JSON array malformed', () => {
    expect(parseAlpacaFrame('[{"T":"t",')).toEqual({ kind: 'malformed', problem: 'not JSON' });
    expect(parseAlpacaFrame('{"T":"success","msg":"connected"}')).toEqual({
      kind: 'malformed',
      problem: 'not a JSON array',
    });
  });

  it('calls a bad message malformed, naming the field, and keeps the rest of its frame', () => {
    const frame = parseAlpacaFrame(
      JSON.stringify([{ ...TRADE, p: '126.55' }, 42, { S: 'AAPL' }, TRADE]),
    );
    expect(frame).toEqual({
      kind: 'messages',
      messages: [
        { kind: 'malformed', problem: 't: p: expected a positive number' },
        { kind: 'malformed', problem: 'not a JSON object' },
        { kind: 'malformed', problem: 'no string "T"' },
        { kind: 'trade', trade: TRADE },
      ],
    });
  });

  it.each([
    ['a zero price', { ...TRADE, p: 0 }, 't: p: expected a positive number'],
    ['a negative size', { ...TRADE, s: -1 }, 't: s: expected a positive number'],
    ['no symbol', { ...TRADE, S: '' }, 't: S: expected a non-empty string'],
    ['a bad time', { ...TRADE, t: 'yesterday' }, 't: t: expected an RFC 3339 timestamp'],
    ['a negative bid', { ...QUOTE, bp: -0.01 }, 'q: bp: expected a non-negative number'],
    ['no ask', { ...QUOTE, ap: undefined }, 'q: ap: expected a non-negative number'],
    [
      'a string code',
      { T: 'error', code: '402', msg: 'auth failed' },
      'error: code: expected a number',
    ],
  ])('refuses %s', (_what, message, problem) => {
    expect(one(message)).toEqual({ kind: 'malformed', problem });
  });

  it('accepts an empty side of the book (0) in a quote', () => {
    expect(one({ ...QUOTE, bp: 0, bs: 0 })).toMatchObject({ kind: 'quote', quote: { bp: 0 } });
  });
});

describe(subscribeMessage.name, () => {
  it('subscribes trades and quotes of every symbol; auth carries key and secret', () => {
    expect(subscribeMessage(['AAPL', 'MSFT'])).toEqual({
      action: 'subscribe',
      trades: ['AAPL', 'MSFT'],
      quotes: ['AAPL', 'MSFT'],
    });
    expect(authMessage('PK1', 's3')).toEqual({ action: 'auth', key: 'PK1', secret: 's3' });
  });
});
