import { BadRequestException } from '@nestjs/common';
import { CANDLE_RESOLUTIONS, type CandleResolution } from '../shared/market.js';
import { normalizeSymbol } from '../shared/protocol.js';

/** Most symbols one `/api/quotes` call may name. */
export const MAX_QUOTE_SYMBOLS = 200;
const SYMBOL_SYNTAX = /^[A-Za-z0-9][A-Za-z0-9.-]{0,11}$/;

/** Candles kept per resolution, so `limit` cannot ask for more than exists. */
export const HISTORY_LIMITS: Record<CandleResolution, number> = { '1s': 3600, '1m': 1440 };
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
  parts.forEach((part, index) => {
    if (!SYMBOL_SYNTAX.test(part)) {
      throw new BadRequestException(`"symbols" entry ${index + 1} is not a ticker symbol`);
    }
  });
  return [...new Set(parts.map(normalizeSymbol))];
}

export function parseSymbolParam(value: string): string {
  if (!SYMBOL_SYNTAX.test(value))
    throw new BadRequestException('path segment is not a ticker symbol');
  return normalizeSymbol(value);
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
  const max = HISTORY_LIMITS[resolution];
  if (raw === undefined) return Math.min(DEFAULT_HISTORY_LIMIT, max);
  if (!/^\d{1,6}$/.test(raw) || Number(raw) < 1 || Number(raw) > max) {
    throw new BadRequestException(`"limit" must be an integer from 1 to ${max} for ${resolution}`);
  }
  return Number(raw);
}
