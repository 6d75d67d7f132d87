import { BadRequestException } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { CANDLE_CAPACITY } from '../shared/market.js';
import {
  DEFAULT_HISTORY_LIMIT,
  MAX_QUOTE_SYMBOLS,
  parseLimit,
  parseResolution,
  parseSymbolParam,
  parseSymbolsQuery,
} from './api-queries.js';

/** One more symbol than a `/api/quotes` call may name. */
const tooMany = Array.from({ length: MAX_QUOTE_SYMBOLS + 1 }, (_, i) => `S${i}`).join();

describe(parseSymbolsQuery.name, () => {
  it('upper-cases, trims and de-duplicates, keeping first-seen order', () => {
    expect(parseSymbolsQuery(' msft,AAPL,,brk.b,Msft ')).toEqual(['MSFT', 'AAPL', 'BRK.B']);
  });

  it('means every symbol when absent', () => {
    expect(parseSymbolsQuery(undefined)).toBeUndefined();
  });

  it.each([
    ['an index symbol', '^GSPC'],
    ['a 13-character symbol', 'ABCDEFGHIJKLM'],
    ['no symbol at all', ' , '],
    ['too many symbols', tooMany],
    ['a repeated parameter', ['AAPL', 'MSFT']],
  ])('rejects %s without quoting it', (_label, value) => {
    expect(() => parseSymbolsQuery(value)).toThrow(BadRequestException);
    try {
      parseSymbolsQuery(value);
    } catch (err) {
      expect((err as Error).message).not.toMatch(/GSPC|ABCDEFGHIJKLM/);
    }
  });
});

describe(parseSymbolParam.name, () => {
  it('upper-cases a valid path segment', () => {
    expect(parseSymbolParam('brk.b')).toBe('BRK.B');
  });

  it.each(['^GSPC', 'ABCDEFGHIJKLM', ' AAPL', ''])('rejects %j', (value) => {
    expect(() => parseSymbolParam(value)).toThrow(BadRequestException);
  });
});

describe(parseLimit.name, () => {
  it('allows up to what the server keeps per resolution', () => {
    for (const resolution of ['1s', '1m'] as const) {
      const max = CANDLE_CAPACITY[resolution];
      expect(parseLimit(String(max), resolution)).toBe(max);
      expect(() => parseLimit(String(max + 1), resolution)).toThrow(BadRequestException);
    }
  });

  it('defaults to DEFAULT_HISTORY_LIMIT and refuses what is not a positive integer', () => {
    expect(parseLimit(undefined, '1m')).toBe(DEFAULT_HISTORY_LIMIT);
    for (const bad of ['0', '-1', '1.5', 'ten', '']) {
      expect(() => parseLimit(bad, '1s')).toThrow(BadRequestException);
    }
  });
});

describe(parseResolution.name, () => {
  it('defaults to 1m and accepts only the served resolutions', () => {
    expect(parseResolution(undefined)).toBe('1m');
    expect(parseResolution('1s')).toBe('1s');
    expect(() => parseResolution('5m')).toThrow(BadRequestException);
  });
});
