import { BadRequestException } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { CANDLE_CAPACITY } from '../shared/market.js';
import {
  DEFAULT_HISTORY_LIMIT,
  MAX_QUOTE_SYMBOLS,
  parseHistoryQuery,
  parseQuotesQuery,
  parseSymbolParam,
} from './api-queries.js';

const parseSymbolsQuery = (symbols: unknown) => parseQuotesQuery({ symbols });
const parseLimit = (limit: unknown, resolution: '1s' | '1m') =>
  parseHistoryQuery({ resolution, limit }).limit;
const parseResolution = (resolution: unknown) => parseHistoryQuery({ resolution }).resolution;

/** One more symbol than a `/api/quotes` call may name. */
const tooMany = Array.from({ length: MAX_QUOTE_SYMBOLS + 1 }, (_, i) => `S${i}`).join();

describe(parseQuotesQuery.name, () => {
  it('upper-cases, trims and de-duplicates, keeping first-seen order', () => {
    expect(parseSymbolsQuery(' msft,AAPL,,brk.b,Msft ')).toEqual(['MSFT', 'AAPL', 'BRK.B']);
  });

  it('means every symbol when absent', () => {
    expect(parseSymbolsQuery(undefined)).toBeUndefined();
    expect(parseQuotesQuery({})).toBeUndefined();
  });

  it('names the parameter and the rule in its messages', () => {
    expect(() => parseSymbolsQuery('AAPL,^GSPC')).toThrow(
      `"symbols[1]" is not a ticker symbol (1-12 letters, digits, '.' or '-')`,
    );
    expect(() => parseSymbolsQuery(['A', 'B'])).toThrow('"symbols" must be given once');
    expect(() => parseSymbolsQuery(tooMany)).toThrow(
      `"symbols" may list at most ${MAX_QUOTE_SYMBOLS} symbols`,
    );
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

describe(`${parseHistoryQuery.name} limit`, () => {
  it('allows up to what the server keeps per resolution', () => {
    for (const resolution of ['1s', '1m'] as const) {
      const max = CANDLE_CAPACITY[resolution];
      expect(parseLimit(String(max), resolution)).toBe(max);
      expect(() => parseLimit(String(max + 1), resolution)).toThrow(BadRequestException);
    }
  });

  it('defaults to DEFAULT_HISTORY_LIMIT and refuses what is not a positive integer', () => {
    expect(parseLimit(undefined, '1m')).toBe(DEFAULT_HISTORY_LIMIT);
    expect(() => parseLimit('5000', '1m')).toThrow(
      `"limit" must be an integer from 1 to ${CANDLE_CAPACITY['1m']} for 1m`,
    );
    expect(() => parseLimit(['1', '2'], '1m')).toThrow('"limit" must be given once');
    for (const bad of ['0', '-1', '1.5', 'ten', '']) {
      expect(() => parseLimit(bad, '1s')).toThrow(BadRequestException);
    }
  });
});

describe(`${parseHistoryQuery.name} resolution`, () => {
  it('defaults to 1m and accepts only the served resolutions', () => {
    expect(parseResolution(undefined)).toBe('1m');
    expect(parseResolution('1s')).toBe('1s');
    expect(() => parseResolution('5m')).toThrow('"resolution" must be one of 1s, 1m');
  });
});
