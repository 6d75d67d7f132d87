import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_SYMBOL_LENGTH, normalizeSymbol, SYMBOL_PATTERN, SYMBOL_RULE } from './symbols.js';

describe(normalizeSymbol.name, () => {
  it('trims and upper-cases a valid symbol', () => {
    expect(normalizeSymbol(' aapl ')).toBe('AAPL');
    expect(normalizeSymbol('brk.b')).toBe('BRK.B');
    expect(normalizeSymbol('RDS-A')).toBe('RDS-A');
    expect(normalizeSymbol('7203')).toBe('7203');
  });

  it('accepts MAX_SYMBOL_LENGTH characters and not one more', () => {
    expect(normalizeSymbol('A'.repeat(MAX_SYMBOL_LENGTH))).toBe('A'.repeat(MAX_SYMBOL_LENGTH));
    expect(normalizeSymbol('A'.repeat(MAX_SYMBOL_LENGTH + 1))).toBeUndefined();
  });

  it.each(['', '   ', '^GSPC', '.A', '-A', 'A B', 'A/B', 'ÄPFEL', 'ß', 'ı', '<script>'])(
    'refuses %j',
    (input) => {
      expect(normalizeSymbol(input)).toBeUndefined();
    },
  );

  it('returns only upper-case symbols that SYMBOL_PATTERN accepts', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), (input) => {
        const symbol = normalizeSymbol(input);
        if (symbol === undefined) return;
        expect(SYMBOL_PATTERN.test(symbol)).toBe(true);
        expect(symbol).toBe(symbol.toUpperCase());
        expect(symbol.length).toBeLessThanOrEqual(MAX_SYMBOL_LENGTH);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('SYMBOL_RULE', () => {
  it('states the rule the gateway has always quoted', () => {
    expect(SYMBOL_RULE).toBe("1-12 letters, digits, '.' or '-'");
  });
});
