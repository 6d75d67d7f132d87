import { describe, expect, it } from 'vitest';
import { formatChange, formatPct, formatPrice, formatVolume } from './format.js';

describe('format', () => {
  it('formats prices with 2 decimals, 4 below 1', () => {
    expect(formatPrice(1234.5)).toBe('1,234.50');
    expect(formatPrice(0.12345)).toBe('0.1235');
    expect(formatPrice(undefined)).toBe('—');
  });

  it('signs changes with a real minus and no sign for zero', () => {
    expect(formatChange(1.5)).toBe('+1.50');
    expect(formatChange(-1.5)).toBe('−1.50');
    expect(formatChange(0)).toBe('0.00');
    expect(formatPct(-0.25)).toBe('−0.25%');
  });

  it('keeps volumes to a fixed width', () => {
    expect(formatVolume(99_999)).toBe('99,999');
    expect(formatVolume(741_400)).toBe('741K');
    expect(formatVolume(1_234_567)).toBe('1.23M');
    expect(formatVolume(123_456_789)).toBe('123M');
  });
});
