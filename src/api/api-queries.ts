import { BadRequestException } from '@nestjs/common';
import { CANDLE_CAPACITY, CANDLE_RESOLUTIONS, type CandleResolution } from '../shared/market.js';
import { normalizeSymbol } from '../shared/symbols.js';

/** Most symbols one `/api/quotes` call may name. */
export const MAX_QUOTE_SYMBOLS = 200;
export const DEFAULT_HISTORY_LIMIT = 300;

/** A query parameter given twice arrives as an array: refuse it rather than guess. */
function single(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new BadRequestException(`"${name}" must be given once`);
  return value;
}

/** Parses `?symbols=AAPL,msft` into upper-case unique symbols (undefined: all). */
export function parseSymbolsQuery(value: unknown): string[] | undefined {
  const raw = single('symbols', value);
  if (raw === undefined) return undefined;
  const parts = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (parts.length === 0) throw new BadRequestException('"symbols" must list at least one symbol');
  if (parts.length > MAX_QUOTE_SYMBOLS) {
    throw new BadRequestException(`"symbols" may list at most ${MAX_QUOTE_SYMBOLS} symbols`);
  }
  const symbols = parts.map((part, index) => {
    const symbol = normalizeSymbol(part);
    if (symbol === undefined) {
      throw new BadRequestException(`"symbols" entry ${index + 1} is not a ticker symbol`);
    }
    return symbol;
  });
  return [...new Set(symbols)];
}

export function parseSymbolParam(value: string): string {
  // A path segment is taken as it is: `/api/history/%20AAPL` names no symbol.
  const symbol = value === value.trim() ? normalizeSymbol(value) : undefined;
  if (symbol === undefined) throw new BadRequestException('path segment is not a ticker symbol');
  return symbol;
}

export function parseResolution(value: unknown): CandleResolution {
  const raw = single('resolution', value);
  if (raw === undefined) return '1m';
  if (!(CANDLE_RESOLUTIONS as readonly string[]).includes(raw)) {
    throw new BadRequestException(`"resolution" must be one of ${CANDLE_RESOLUTIONS.join(', ')}`);
  }
  return raw as CandleResolution;
}

export function parseLimit(value: unknown, resolution: CandleResolution): number {
  const raw = single('limit', value);
  // No more than the server keeps: a larger limit could never be filled.
  const max = CANDLE_CAPACITY[resolution];
  if (raw === undefined) return Math.min(DEFAULT_HISTORY_LIMIT, max);
  if (!/^\d{1,6}$/.test(raw) || Number(raw) < 1 || Number(raw) > max) {
    throw new BadRequestException(`"limit" must be an integer from 1 to ${max} for ${resolution}`);
  }
  return Number(raw);
}
