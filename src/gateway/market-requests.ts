import type { SubscribeRequest, UnsubscribeRequest } from '../shared/protocol.js';
import { normalizeSymbol, SYMBOL_RULE } from '../shared/symbols.js';
import { BadRequestException } from './wire-errors.js';

/** Longest `symbols` array one request may carry (before de-duplication). */
export const MAX_SYMBOLS_PER_REQUEST = 500;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Validates the `symbols` field shared by both requests. Error messages name
 * the field and index but never quote the client's value back.
 */
function parseSymbols(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new BadRequestException('"symbols" must be a non-empty array of strings');
  }
  if (value.length > MAX_SYMBOLS_PER_REQUEST) {
    throw new BadRequestException(
      `"symbols" has too many entries (at most ${MAX_SYMBOLS_PER_REQUEST} per request)`,
    );
  }
  const seen = new Set<string>();
  const symbols: string[] = [];
  value.forEach((entry: unknown, index) => {
    if (typeof entry !== 'string') {
      throw new BadRequestException(`"symbols[${index}]" must be a string`);
    }
    const symbol = normalizeSymbol(entry);
    if (symbol === undefined) {
      throw new BadRequestException(`"symbols[${index}]" is not a ticker symbol (${SYMBOL_RULE})`);
    }
    if (!seen.has(symbol)) {
      seen.add(symbol);
      symbols.push(symbol);
    }
  });
  return symbols;
}

/** Parses an untrusted `subscribe` payload; symbols come back upper-case and de-duplicated. */
export function parseSubscribeRequest(body: unknown): Required<
  Pick<SubscribeRequest, 'symbols'>
> & {
  intervalMs: number | undefined;
} {
  if (!isPlainObject(body)) {
    throw new BadRequestException(
      'subscribe expects an object { symbols: string[], intervalMs?: number }',
    );
  }
  const symbols = parseSymbols(body.symbols);
  let intervalMs: number | undefined;
  if (body.intervalMs !== undefined) {
    if (typeof body.intervalMs !== 'number' || !Number.isFinite(body.intervalMs)) {
      throw new BadRequestException('"intervalMs" must be a finite number of milliseconds');
    }
    if (body.intervalMs <= 0) {
      throw new BadRequestException('"intervalMs" must be greater than 0');
    }
    intervalMs = body.intervalMs;
  }
  return { symbols, intervalMs };
}

/** Parses an untrusted `unsubscribe` payload. */
export function parseUnsubscribeRequest(body: unknown): UnsubscribeRequest {
  if (!isPlainObject(body)) {
    throw new BadRequestException('unsubscribe expects an object { symbols: string[] }');
  }
  return { symbols: parseSymbols(body.symbols) };
}
