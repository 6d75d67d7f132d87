import { describe, expect, it } from 'vitest';
import { Prng } from '../prng.js';
import { RowError } from './replay-file.error.js';
import { parseNumber, parsePlainDecimal } from './replay-row.js';

describe(parsePlainDecimal.name, () => {
  it('equals Number on 200,000 seeded plain decimals of every length up to 15 digits', () => {
    const prng = new Prng(7);
    for (let k = 0; k < 200_000; k++) {
      const intDigits = 1 + Math.floor(prng.next() * 13);
      const fracDigits = Math.floor(prng.next() * Math.min(8, 16 - intDigits));
      let text = prng.next() < 0.1 ? '-' : '';
      for (let i = 0; i < intDigits; i++) text += String(Math.floor(prng.next() * 10));
      if (fracDigits > 0) {
        text += '.';
        for (let i = 0; i < fracDigits; i++) text += String(Math.floor(prng.next() * 10));
      }
      const value = parsePlainDecimal(text);
      if (!Object.is(value, Number(text))) expect.fail(`${text}: ${value} !== ${Number(text)}`);
    }
  });

  it('leaves every other form to Number (NaN)', () => {
    for (const text of ['', '-', '.', '12.', '1e5', ' 1', '1 ', '+1', '0x10', '1.2.3']) {
      expect(parsePlainDecimal(text), text).toBeNaN();
    }
    expect(parsePlainDecimal('1234567890123456'), '16 digits').toBeNaN();
    expect(parsePlainDecimal('-0')).toBe(-0);
    expect(parsePlainDecimal('007.50')).toBe(7.5);
    expect(parsePlainDecimal('.5')).toBe(0.5);
  });
});

describe(parseNumber.name, () => {
  it('reads what Number reads, the forms of the fast path and the rest', () => {
    expect(parseNumber('101.25', 'price')).toBe(101.25);
    expect(parseNumber('12.', 'price')).toBe(12);
    expect(parseNumber('.5', 'size')).toBe(0.5);
    expect(parseNumber('1.5e3', 'size')).toBe(1500);
    expect(parseNumber('1234567890123456', 'ts')).toBe(1234567890123456);
    expect(parseNumber('0', 'size')).toBe(0);
  });

  it('refuses blank, non-numeric and infinite text, naming the field', () => {
    expect(() => parseNumber('', 'price')).toThrow(
      new RowError('price: expected a number, got ""'),
    );
    expect(() => parseNumber('  ', 'size')).toThrow(RowError);
    expect(() => parseNumber('abc', 'price')).toThrow(
      new RowError('price: expected a number, got "abc"'),
    );
    expect(() => parseNumber('Infinity', 'price')).toThrow(RowError);
  });
});
