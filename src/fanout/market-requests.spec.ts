import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_SYMBOLS_PER_REQUEST,
  parseSubscribeRequest,
  parseUnsubscribeRequest,
} from './market-requests.js';
import { BadRequestException } from './wire-errors.js';

describe(parseSubscribeRequest.name, () => {
  it('normalises and de-duplicates symbols, keeping first-seen order', () => {
    expect(parseSubscribeRequest({ symbols: ['msft', 'AAPL', ' Msft', 'brk.b'] })).toEqual({
      symbols: ['MSFT', 'AAPL', 'BRK.B'],
      intervalMs: undefined,
    });
  });

  it('keeps a finite positive interval', () => {
    expect(parseSubscribeRequest({ symbols: ['A'], intervalMs: 120.5 }).intervalMs).toBe(120.5);
  });

  it.each([
    ['not an object', 'AAPL'],
    ['an array', [{ symbols: ['AAPL'] }]],
    ['a class instance', new Date()],
    ['symbols missing', {}],
    ['symbols empty', { symbols: [] }],
    [
      'symbols too many',
      { symbols: Array.from({ length: MAX_SYMBOLS_PER_REQUEST + 1 }, () => 'A') },
    ],
    ['a non-string symbol', { symbols: [{}] }],
    ['an over-long symbol', { symbols: ['ABCDEFGHIJKLM'] }],
    ['an infinite interval', { symbols: ['A'], intervalMs: Infinity }],
    ['a string interval', { symbols: ['A'], intervalMs: '100' }],
    ['a zero interval', { symbols: ['A'], intervalMs: 0 }],
  ])('rejects %s with BAD_REQUEST', (_label, body) => {
    expect(() => parseSubscribeRequest(body)).toThrow(BadRequestException);
  });

  it.each([
    ['AAPL', 'subscribe expects an object { symbols: string[], intervalMs?: number }'],
    [{}, '"symbols" is required'],
    [{ symbols: [] }, '"symbols" must be a non-empty array of strings'],
    [{ symbols: ['A', 7] }, '"symbols[1]" must be a string'],
    [
      { symbols: ['A', 'SECRET^TOKEN'] },
      `"symbols[1]" is not a ticker symbol (1-12 letters, digits, '.' or '-')`,
    ],
    [{ symbols: ['A'], intervalMs: '100' }, '"intervalMs" must be a finite number of milliseconds'],
    [{ symbols: ['A'], intervalMs: -5 }, '"intervalMs" must be greater than 0'],
  ])('words the first problem of %j from the field and the rule', (body, message) => {
    expect(() => parseSubscribeRequest(body)).toThrow(new BadRequestException(message));
  });

  it('either parses or throws BadRequestException for any JSON, never echoing it', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (body) => {
        try {
          const parsed = parseSubscribeRequest(body);
          expect(parsed.symbols.length).toBeGreaterThan(0);
        } catch (err) {
          expect(err).toBeInstanceOf(BadRequestException);
          const text = JSON.stringify(body);
          if (text.length > 12) expect((err as Error).message).not.toContain(text);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe(parseUnsubscribeRequest.name, () => {
  it('parses symbols like subscribe does', () => {
    expect(parseUnsubscribeRequest({ symbols: ['aapl', 'AAPL'] })).toEqual({ symbols: ['AAPL'] });
  });
  it('rejects a payload without symbols', () => {
    expect(() => parseUnsubscribeRequest({ symbol: 'AAPL' })).toThrow(BadRequestException);
  });
});
