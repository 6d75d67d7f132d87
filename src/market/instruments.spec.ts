import { describe, expect, it } from 'vitest';
import { parseInstruments } from './instrument-loader.js';
import { DEFAULT_INSTRUMENTS } from './instruments.js';

describe('DEFAULT_INSTRUMENTS', () => {
  it('passes the same validation as an instrument file', () => {
    expect(parseInstruments(DEFAULT_INSTRUMENTS, 'built-in')).toEqual(DEFAULT_INSTRUMENTS);
  });

  it('covers at least 60 symbols across at least 10 sectors', () => {
    expect(DEFAULT_INSTRUMENTS.length).toBeGreaterThanOrEqual(60);
    expect(new Set(DEFAULT_INSTRUMENTS.map((i) => i.sector)).size).toBeGreaterThanOrEqual(10);
  });

  it('lists well-known names under their real company and sector', () => {
    const bySymbol = new Map(DEFAULT_INSTRUMENTS.map((i) => [i.symbol, i]));
    expect(bySymbol.get('AAPL')).toMatchObject({ name: 'Apple Inc.', sector: 'Technology' });
    expect(bySymbol.get('JPM')).toMatchObject({ sector: 'Financials' });
    expect(bySymbol.get('XOM')).toMatchObject({ sector: 'Energy' });
  });

  it('lets the most liquid names trade most', () => {
    const intensity = (s: string) =>
      DEFAULT_INSTRUMENTS.find((i) => i.symbol === s)!.tradeIntensity;
    const sorted = DEFAULT_INSTRUMENTS.map((i) => i.tradeIntensity).sort((a, b) => b - a);
    const top = sorted[9];
    for (const liquid of ['SPY', 'TSLA', 'NVDA', 'AAPL', 'AMZN', 'MSFT']) {
      expect(intensity(liquid)).toBeGreaterThanOrEqual(top);
    }
  });

  it('prices every name on the cent grid and is frozen', () => {
    expect(
      DEFAULT_INSTRUMENTS.every((i) => Math.round(i.refPrice * 100) / 100 === i.refPrice),
    ).toBe(true);
    expect(Object.isFrozen(DEFAULT_INSTRUMENTS) && Object.isFrozen(DEFAULT_INSTRUMENTS[0])).toBe(
      true,
    );
  });
});
