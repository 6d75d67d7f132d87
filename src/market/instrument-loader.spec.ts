import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InstrumentFileError, loadInstruments } from './instrument-loader.js';
import { DEFAULT_INSTRUMENTS } from './instruments.js';

const dir = mkdtempSync(join(tmpdir(), 'tickstream-instruments-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
function file(content: unknown): string {
  const path = join(dir, `universe-${++fileCount}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

function loadError(path: string): InstrumentFileError {
  try {
    loadInstruments(path);
  } catch (err) {
    if (err instanceof InstrumentFileError) return err;
    throw err;
  }
  throw new Error('expected an InstrumentFileError');
}

const good = {
  symbol: 'acme',
  name: 'Acme Corp.',
  sector: 'Industrials',
  refPrice: 12.5,
  volatility: 0.3,
  tradeIntensity: 2,
};

describe(loadInstruments.name, () => {
  it('returns the built-in universe without a file, as copies', () => {
    const instruments = loadInstruments();
    expect(instruments).toEqual(DEFAULT_INSTRUMENTS);
    expect(instruments[0]).not.toBe(DEFAULT_INSTRUMENTS[0]);
  });

  it('reads a bare array and upper-cases symbols', () => {
    expect(loadInstruments(file([good, { ...good, symbol: 'BRK.B' }]))).toEqual([
      { ...good, symbol: 'ACME' },
      { ...good, symbol: 'BRK.B' },
    ]);
  });

  it('reads { "instruments": [...] } and drops unknown fields', () => {
    expect(loadInstruments(file({ instruments: [{ ...good, isin: 'X', extra: 1 }] }))).toEqual([
      { ...good, symbol: 'ACME' },
    ]);
  });

  it('lists every problem with its index and field', () => {
    const error = loadError(
      file([
        good,
        { ...good, symbol: 'ACME' },
        { ...good, symbol: 'BAD$', refPrice: 0 },
        { ...good, symbol: 'TOOLONGSYMBOL', name: '', volatility: 6 },
        { ...good, symbol: 'OK', sector: 3, tradeIntensity: -1, volatility: 0 },
        { ...good, symbol: 42, refPrice: '12' },
        'AAPL',
      ]),
    );
    expect(error.name).toBe('InstrumentFileError');
    expect(error.problems).toEqual([
      '[1].symbol: duplicate of "ACME" at [0]',
      `[2].symbol: "BAD$" is not a ticker (1-12 letters, digits, '.' or '-')`,
      '[2].refPrice: expected a finite number > 0, got 0',
      `[3].symbol: "TOOLONGSYMBOL" is not a ticker (1-12 letters, digits, '.' or '-')`,
      '[3].name: expected a non-empty string, got ""',
      '[3].volatility: expected a number in (0, 5] (annualised, 0.25 = 25 %), got 6',
      '[4].sector: expected a non-empty string, got 3',
      '[4].volatility: expected a number in (0, 5] (annualised, 0.25 = 25 %), got 0',
      '[4].tradeIntensity: expected a finite number > 0, got -1',
      '[5].symbol: expected a string, got 42',
      '[5].refPrice: expected a finite number > 0, got "12"',
      '[6]: expected an object, got "AAPL"',
    ]);
    expect(error.message).toContain(error.file);
    expect(error.message).toContain('\n  - [1].symbol: duplicate of "ACME" at [0]');
  });

  it('names missing fields', () => {
    expect(loadError(file([{ symbol: 'X' }])).problems).toEqual([
      '[0].name: expected a non-empty string, got nothing',
      '[0].sector: expected a non-empty string, got nothing',
      '[0].refPrice: expected a finite number > 0, got nothing',
      '[0].volatility: expected a number in (0, 5] (annualised, 0.25 = 25 %), got nothing',
      '[0].tradeIntensity: expected a finite number > 0, got nothing',
    ]);
  });

  it('rejects a missing file', () => {
    const error = loadError(join(dir, 'nope.json'));
    expect(error.problems).toEqual(['file not found']);
    expect(error.message).toMatch(/nope\.json/);
  });

  it('rejects a file that is not JSON', () => {
    expect(loadError(file('[{"symbol": "A",')).problems[0]).toMatch(/^not valid JSON: /);
  });

  it('rejects JSON of the wrong shape, or an empty universe', () => {
    const shape = 'expected an array of instruments or an object with an "instruments" array';
    expect(loadError(file({ symbols: [good] })).problems).toEqual([shape]);
    expect(loadError(file({ instruments: 'AAPL' })).problems).toEqual([shape]);
    expect(loadError(file('42')).problems).toEqual([shape]);
    expect(loadError(file([])).problems).toEqual(['no instruments listed']);
  });

  it('keeps a long bad value out of the message', () => {
    const [problem] = loadError(file([{ ...good, name: 7, symbol: 'X'.repeat(500) }])).problems;
    expect(problem.length).toBeLessThan(120);
  });
});
