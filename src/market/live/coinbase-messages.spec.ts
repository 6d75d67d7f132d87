import { describe, expect, it } from 'vitest';
import { parseCoinbaseMessage, subscribeMessage } from './coinbase-messages.js';

// The examples of the Coinbase Exchange WebSocket docs (docs.cdp.coinbase.com/exchange/websocket-feed).
const TICKER = {
  type: 'ticker',
  sequence: 37475248783,
  product_id: 'ETH-USD',
  price: '1285.22',
  open_24h: '1310.79',
  volume_24h: '245532.79269678',
  low_24h: '1280.52',
  high_24h: '1313.8',
  volume_30d: '9788783.60117027',
  best_bid: '1285.04',
  best_bid_size: '0.46688654',
  best_ask: '1285.27',
  best_ask_size: '1.56637040',
  side: 'buy',
  time: '2022-10-19T23:28:22.061769Z',
  trade_id: 370843401,
  last_size: '11.4396987',
};
const HEARTBEAT = {
  type: 'heartbeat',
  sequence: 90,
  last_trade_id: 20,
  product_id: 'BTC-USD',
  time: '2014-11-07T08:19:28.464459Z',
};
const SUBSCRIPTIONS = {
  type: 'subscriptions',
  channels: [
    { name: 'level2', product_ids: ['ETH-USD', 'ETH-EUR'] },
    { name: 'heartbeat', product_ids: ['ETH-USD', 'ETH-EUR'] },
    { name: 'ticker', product_ids: ['ETH-USD', 'ETH-EUR', 'ETH-BTC'] },
  ],
};

const parse = (message: unknown) => parseCoinbaseMessage(JSON.stringify(message));

describe(parseCoinbaseMessage.name, () => {
  it("reads the docs' ticker example, its numbers from strings", () => {
    expect(parse(TICKER)).toEqual({
      kind: 'ticker',
      ticker: {
        type: 'ticker',
        product_id: 'ETH-USD',
        price: 1285.22,
        last_size: 11.4396987,
        best_bid: 1285.04,
        best_ask: 1285.27,
        open_24h: 1310.79,
        sequence: 37475248783,
        trade_id: 370843401,
        time: '2022-10-19T23:28:22.061769Z',
      },
    });
  });

  it("reads the docs' heartbeat, subscriptions and error examples", () => {
    expect(parse(HEARTBEAT)).toMatchObject({
      kind: 'heartbeat',
      heartbeat: { product_id: 'BTC-USD' },
    });
    expect(parse(SUBSCRIPTIONS)).toEqual({ kind: 'subscriptions', subscriptions: SUBSCRIPTIONS });
    expect(parse({ type: 'error', message: 'error message' })).toEqual({
      kind: 'error',
      error: { type: 'error', message: 'error message' },
    });
    const failed = {
      type: 'error',
      message: 'Failed to subscribe',
      reason: 'BTC-FOO is not a valid product',
    };
    expect(parse(failed)).toEqual({ kind: 'error', error: failed });
  });

  it('passes over message types it does not read', () => {
    expect(parse({ type: 'status', products: [] })).toEqual({ kind: 'other', type: 'status' });
    expect(parse({ type: 'l2update' })).toEqual({ kind: 'other', type: 'l2update' });
  });

  it.each([
    ['{"type":"ticker",', 'not JSON'],
    ['[1,2]', 'not a JSON object'],
    ['null', 'not a JSON object'],
    ['"ticker"', 'not a JSON object'],
    ['{"price":"1"}', 'no string "type"'],
    ['{"type":7}', 'no string "type"'],
  ])('calls %s malformed: %s', (text, problem) => {
    expect(parseCoinbaseMessage(text)).toEqual({ kind: 'malformed', problem });
  });

  it.each([
    ['price', 'abc'],
    ['price', '0'],
    ['price', '-1.5'],
    ['price', '1e5'],
    ['price', ''],
    ['price', 1285.22],
    ['last_size', '0'],
    ['last_size', 'NaN'],
    ['best_bid', 'Infinity'],
    ['best_ask', null],
    ['open_24h', '1,310.79'],
    ['product_id', 42],
    ['product_id', ''],
    ['trade_id', '370843401'],
  ])('calls a ticker with %s = %j malformed, naming the field', (field, value) => {
    const result = parse({ ...TICKER, [field]: value });
    expect(result.kind).toBe('malformed');
    expect(result.kind === 'malformed' && result.problem).toMatch(new RegExp(`^ticker: ${field}`));
  });

  it('calls a ticker without a field it needs malformed', () => {
    for (const field of ['product_id', 'price', 'last_size', 'best_bid', 'best_ask', 'open_24h']) {
      const { [field]: _, ...rest } = TICKER as Record<string, unknown>;
      expect(parse(rest).kind, field).toBe('malformed');
    }
  });

  it('takes a bid or ask of "0" (an empty side of the book)', () => {
    expect(parse({ ...TICKER, best_bid: '0', best_ask: '0.00' })).toMatchObject({
      kind: 'ticker',
      ticker: { best_bid: 0, best_ask: 0 },
    });
  });

  it('calls a bad heartbeat, subscriptions or error malformed', () => {
    expect(parse({ ...HEARTBEAT, product_id: undefined }).kind).toBe('malformed');
    expect(parse({ type: 'subscriptions', channels: 'ticker' }).kind).toBe('malformed');
    expect(parse({ type: 'error' }).kind).toBe('malformed');
  });
});

describe(subscribeMessage.name, () => {
  it('is the documented subscribe to the ticker and heartbeat channels', () => {
    expect(JSON.stringify(subscribeMessage(['BTC-USD', 'ETH-USD']))).toBe(
      '{"type":"subscribe","product_ids":["BTC-USD","ETH-USD"],"channels":["ticker","heartbeat"]}',
    );
  });
});
