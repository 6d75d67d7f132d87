import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Instrument } from '../shared/market.js';
import { normalizeSymbol, SYMBOL_RULE } from '../shared/symbols.js';
import { DEFAULT_INSTRUMENTS } from './instruments.js';

/** Largest accepted annualised volatility: 500 %, beyond any listed stock. */
const MAX_VOLATILITY = 5;

/**
 * Raised when an instrument file cannot be read, is not JSON, or holds bad
 * entries. Lists every problem at once (with the entry's index and field), so
 * one edit fixes the file.
 */
export class InstrumentFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`Invalid instrument file ${file}:\n  - ${problems.join('\n  - ')}`);
    this.name = 'InstrumentFileError';
  }
}

/**
 * The instrument universe: the built-in {@link DEFAULT_INSTRUMENTS} without a
 * path, else the JSON file at `symbolsFile` (relative to the working
 * directory): an array of instruments or `{ "instruments": [...] }`.
 * Throws {@link InstrumentFileError} naming every problem.
 */
export function loadInstruments(symbolsFile?: string): Instrument[] {
  if (symbolsFile === undefined) return DEFAULT_INSTRUMENTS.map((i) => ({ ...i }));
  const path = resolve(symbolsFile);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? 'error'})`;
    throw new InstrumentFileError(path, [reason]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new InstrumentFileError(path, [`not valid JSON: ${(err as Error).message}`]);
  }
  return parseInstruments(raw, path);
}

/**
 * Validates already-parsed JSON into instruments (symbols upper-cased, unknown
 * fields dropped). `source` only names the origin in the error.
 */
export function parseInstruments(raw: unknown, source: string): Instrument[] {
  let entries: unknown = raw;
  if (isRecord(raw) && !Array.isArray(raw)) {
    if (!('instruments' in raw)) {
      throw new InstrumentFileError(source, [
        'expected an array of instruments or an object with an "instruments" array',
      ]);
    }
    entries = raw.instruments;
  }
  if (!Array.isArray(entries)) {
    throw new InstrumentFileError(source, [
      'expected an array of instruments or an object with an "instruments" array',
    ]);
  }
  if (entries.length === 0) throw new InstrumentFileError(source, ['no instruments listed']);

  const problems: string[] = [];
  const instruments: Instrument[] = [];
  const firstIndex = new Map<string, number>();
  entries.forEach((entry: unknown, index) => {
    const at = `[${index}]`;
    if (!isRecord(entry) || Array.isArray(entry)) {
      problems.push(`${at}: expected an object, got ${describe(entry)}`);
      return;
    }
    const before = problems.length;

    let symbol = '';
    if (typeof entry.symbol !== 'string') {
      problems.push(`${at}.symbol: expected a string, got ${describe(entry.symbol)}`);
    } else {
      // The wire's symbol rule (src/shared/symbols.ts): a file can only list what clients can ask for.
      const normalized = normalizeSymbol(entry.symbol);
      symbol = normalized ?? entry.symbol;
      if (normalized === undefined) {
        problems.push(`${at}.symbol: ${describe(entry.symbol)} is not a ticker (${SYMBOL_RULE})`);
      } else {
        const first = firstIndex.get(symbol);
        if (first !== undefined) {
          problems.push(`${at}.symbol: duplicate of ${JSON.stringify(symbol)} at [${first}]`);
        } else {
          firstIndex.set(symbol, index);
        }
      }
    }
    const text = (field: 'name' | 'sector'): string => {
      const value = entry[field];
      if (typeof value !== 'string' || value.trim() === '') {
        problems.push(`${at}.${field}: expected a non-empty string, got ${describe(value)}`);
        return '';
      }
      return value.trim();
    };
    const name = text('name');
    const sector = text('sector');
    const number = (
      field: keyof Instrument,
      ok: (v: number) => boolean,
      expected: string,
    ): number => {
      const value = entry[field];
      if (typeof value !== 'number' || !Number.isFinite(value) || !ok(value)) {
        problems.push(`${at}.${field}: expected ${expected}, got ${describe(value)}`);
        return NaN;
      }
      return value;
    };
    const refPrice = number('refPrice', (v) => v > 0, 'a finite number > 0');
    const volatility = number(
      'volatility',
      (v) => v > 0 && v <= MAX_VOLATILITY,
      `a number in (0, ${MAX_VOLATILITY}] (annualised, 0.25 = 25 %)`,
    );
    const tradeIntensity = number('tradeIntensity', (v) => v > 0, 'a finite number > 0');

    if (problems.length === before) {
      instruments.push({ symbol, name, sector, refPrice, volatility, tradeIntensity });
    }
  });

  if (problems.length > 0) throw new InstrumentFileError(source, problems);
  return instruments;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** Short, bounded rendering of a bad value for an error message. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string': {
      const text = JSON.stringify(value);
      return text.length > 40 ? `${text.slice(0, 37)}..."` : text;
    }
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value);
    default:
      return `a ${typeof value}`;
  }
}
