import { describe, expect, it } from 'vitest';
import {
  alpacaDefaultSymbols,
  alpacaInstruments,
  alpacaStreamUrl,
  CONNECTION_LIMIT_DELAY_MS,
  reconnectDelay,
} from './alpaca-feed.js';
import { ReconnectBackoff } from './reconnect-backoff.js';

describe(reconnectDelay.name, () => {
  it('waits at least 60 s after a 406, whatever the backoff says', () => {
    expect(CONNECTION_LIMIT_DELAY_MS).toBe(60_000);
    const backoff = new ReconnectBackoff({ random: () => 0.999 });
    for (let i = 0; i < 10; i++) {
      const delay = backoff.next();
      expect(reconnectDelay(delay, 406)).toBe(Math.max(60_000, delay));
      expect(reconnectDelay(delay, 406)).toBeGreaterThanOrEqual(60_000);
    }
    expect(reconnectDelay(0, 406)).toBe(60_000);
  });

  it('takes the backoff delay after anything else', () => {
    for (const code of [undefined, 400, 402, 404, 405, 407, 409, 500]) {
      expect(reconnectDelay(750, code)).toBe(750);
    }
  });
});

describe(alpacaStreamUrl.name, () => {
  it('builds the documented v2 stream URLs and defaults', () => {
    expect(alpacaStreamUrl('iex')).toBe('wss://stream.data.alpaca.markets/v2/iex');
    expect(alpacaStreamUrl('sip')).toBe('wss://stream.data.alpaca.markets/v2/sip');
    expect(alpacaStreamUrl('test')).toBe('wss://stream.data.alpaca.markets/v2/test');
    expect(alpacaDefaultSymbols('test')).toEqual(['FAKEPACA']);
    expect(alpacaDefaultSymbols('iex')).toEqual(['AAPL', 'MSFT', 'NVDA', 'AMZN', 'GOOGL']);
  });

  it('names instruments from SYMBOLS_FILE metadata, else by symbol, sector Stocks', () => {
    const known = {
      symbol: 'AAPL',
      name: 'Apple Inc.',
      sector: 'Technology',
      refPrice: 190,
      volatility: 0.2,
      tradeIntensity: 5,
    };
    expect(alpacaInstruments(['AAPL', 'FAKEPACA'], [known])).toEqual([
      {
        symbol: 'AAPL',
        name: 'Apple Inc.',
        sector: 'Technology',
        refPrice: 1,
        volatility: 0.3,
        tradeIntensity: 1,
      },
      {
        symbol: 'FAKEPACA',
        name: 'FAKEPACA',
        sector: 'Stocks',
        refPrice: 1,
        volatility: 0.3,
        tradeIntensity: 1,
      },
    ]);
  });
});
