import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { ReplayFileError } from './replay-file.error.js';
import type { ReplaySourceOptions } from './replay-reader.js';
import { replayInstruments, scanReplayFile, scanReplayFileCached } from './replay-scan.js';

const FIXTURES = relative(
  process.cwd(),
  join(import.meta.dirname, '../../../test/fixtures/replay'),
);
const fixture = (name: string) => join(FIXTURES, name);
const dir = mkdtempSync(join(tmpdir(), 'replay-scan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function options(file: string, overrides: Partial<ReplaySourceOptions> = {}): ReplaySourceOptions {
  return { file, format: 'auto', symbols: [], ...overrides };
}

/** The message of the ReplayFileError a scan rejects with. */
async function scanError(opts: ReplaySourceOptions): Promise<string> {
  const error: unknown = await scanReplayFile(opts).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(ReplayFileError);
  return (error as ReplayFileError).message;
}

describe(scanReplayFile.name, () => {
  it.each([
    ['tickstream.csv', 'tickstream', ['BTC-USD', 'MSFT', 'AAPL'], 40],
    ['BTCUSDT-trades-2025-01-01.csv', 'binance-trades', ['BTCUSDT'], 30],
    ['massive-trades.csv', 'massive-trades', ['BRK.B', 'MSFT', 'AAPL'], 36],
  ] as const)('detects %s as %s and finds its universe', async (name, format, symbols, rows) => {
    const plain = await scanReplayFile(options(fixture(name)));
    expect(plain.format).toBe(format);
    expect(plain.symbols.map((s) => s.symbol)).toEqual(symbols);
    expect(plain.rows).toBe(rows);
    expect(plain.symbols.reduce((sum, s) => sum + s.rows, 0)).toBe(rows);
    // The gzip-compressed copy reads the same, through gunzip.
    const gz = await scanReplayFile(options(fixture(`${name}.gz`)));
    expect({ ...gz, file: '' }).toEqual({ ...plain, file: '' });
  });

  it('keeps only FEED_SYMBOLS and refuses one the file does not hold', async () => {
    const scan = await scanReplayFile(
      options(fixture('tickstream.csv'), { symbols: ['AAPL', 'BTC-USD'] }),
    );
    expect(scan.symbols.map((s) => s.symbol)).toEqual(['BTC-USD', 'AAPL']);
    expect(await scanError(options(fixture('tickstream.csv'), { symbols: ['AAPL', 'TSLA'] }))).toBe(
      `Cannot replay REPLAY_FILE: ${fixture('tickstream.csv')}: FEED_SYMBOLS lists TSLA, not in the file (it holds AAPL)`,
    );
  });

  it('names a binance-trades file by FEED_SYMBOLS when given one symbol', async () => {
    const scan = await scanReplayFile(
      options(fixture('BTCUSDT-trades-2025-01-01.csv.gz'), { symbols: ['BTC-USDT'] }),
    );
    expect(scan.symbols.map((s) => s.symbol)).toEqual(['BTC-USDT']);
  });

  it('sums sizes and keeps the first price per symbol', async () => {
    const file = write(
      'sums.csv',
      'ts,symbol,price,size,bid,ask\n1000,AAPL,10,1.5,,\n1001,MSFT,20,2,,\n1002,AAPL,11,2.25,,\n',
    );
    const scan = await scanReplayFile(options(file));
    expect(scan.symbols).toEqual([
      { symbol: 'AAPL', firstPrice: 10, rows: 2, volume: 3.75 },
      { symbol: 'MSFT', firstPrice: 20, rows: 1, volume: 2 },
    ]);
    expect(scan.spanMs).toBe(2);
  });

  it('stops at a malformed row with the file name and line', async () => {
    expect(await scanError(options(fixture('bad-row.csv')))).toBe(
      `Cannot replay REPLAY_FILE: ${fixture('bad-row.csv')}:4: price: expected a number, got "abc"`,
    );
  });

  it('stops at a row going back in time', async () => {
    expect(await scanError(options(fixture('back-in-time.csv')))).toBe(
      `Cannot replay REPLAY_FILE: ${fixture('back-in-time.csv')}:5: time goes back: 2025-01-01T12:00:00.015Z is before 2025-01-01T12:00:00.020Z on line 4`,
    );
  });

  it('reports a truncated .gz as an error, not as the end of the file', async () => {
    expect(await scanError(options(fixture('truncated.csv.gz')))).toMatch(
      new RegExp(
        `^Cannot replay REPLAY_FILE: ${fixture('truncated.csv.gz').replaceAll('.', '\\.')}:\\d+: the gzip data ends here, in the middle of the stream: the file is truncated$`,
      ),
    );
  });

  it('reports a missing file, a directory, bad gzip, an empty and an unknown file', async () => {
    expect(await scanError(options(join(dir, 'nope.csv')))).toBe(
      `Cannot replay REPLAY_FILE: ${join(dir, 'nope.csv')}: file not found`,
    );
    expect(await scanError(options(dir))).toBe(
      `Cannot replay REPLAY_FILE: ${dir}: is a directory, not a file`,
    );
    const fake = write('fake.csv.gz', 'ts,symbol,price,size\n');
    expect(await scanError(options(fake))).toBe(
      `Cannot replay REPLAY_FILE: ${fake}: not valid gzip data (incorrect header check)`,
    );
    const empty = write('empty.csv', '\n\n');
    expect(await scanError(options(empty))).toBe(
      `Cannot replay REPLAY_FILE: ${empty}: the file is empty`,
    );
    const header = write('header.csv.gz', gzipSync('ts,symbol,price,size,bid,ask\r\n'));
    expect(await scanError(options(header))).toBe(
      `Cannot replay REPLAY_FILE: ${header}: no rows, only a header`,
    );
    const unknown = write('unknown.csv', 'date,open,high,low,close\n2025-01-01,1,2,0.5,1.5\n');
    expect(await scanError(options(unknown))).toMatch(
      `Cannot replay REPLAY_FILE: ${unknown}:1: unknown format: expected a tickstream header`,
    );
  });

  it('lists up to ten problems at once, each with its line', async () => {
    const lines = ['ts,symbol,price,size,bid,ask'];
    for (let i = 0; i < 30; i++) lines.push(`${1000 + i},AAPL,${i % 2 ? 'x' : '1'},1,,`);
    const file = write('many.csv', `${lines.join('\n')}\n`);
    const message = await scanError(options(file));
    expect(message.split('\n')).toEqual([
      'Cannot replay REPLAY_FILE:',
      ...[3, 5, 7, 9, 11, 13, 15, 17, 19, 21].map(
        (line) => `  - ${file}:${line}: price: expected a number, got "x"`,
      ),
      '  - (stopped after 10 problems; the rest is unchecked)',
    ]);
  });

  it('checks a REPLAY_FORMAT that does not fit the file at its first line', async () => {
    expect(await scanError(options(fixture('massive-trades.csv'), { format: 'tickstream' }))).toBe(
      `Cannot replay REPLAY_FILE: ${fixture('massive-trades.csv')}:1: tickstream header must name ts, symbol, price, size (expected ts,symbol,price,size,bid,ask); missing ts, symbol`,
    );
  });
});

describe(scanReplayFileCached.name, () => {
  it('scans a file once for the same options, again when the file changes', async () => {
    const file = write('cached.csv', 'ts,symbol,price,size\n1000,AAPL,10,1\n');
    const first = scanReplayFileCached(options(file));
    expect(scanReplayFileCached(options(file))).toBe(first);
    expect(scanReplayFileCached(options(file, { symbols: ['AAPL'] }))).not.toBe(first);
    await first;
    writeFileSync(file, 'ts,symbol,price,size\n1000,AAPL,10,1\n1001,MSFT,20,1\n');
    expect((await scanReplayFileCached(options(file))).rows).toBe(2);
  });
});

describe(replayInstruments.name, () => {
  it('takes prevClose from the first trade and names from SYMBOLS_FILE when it has them', async () => {
    const scan = await scanReplayFile(options(fixture('tickstream.csv')));
    const instruments = replayInstruments(scan, 'Replay', [
      {
        symbol: 'AAPL',
        name: 'Apple Inc.',
        sector: 'Technology',
        refPrice: 1,
        volatility: 0.26,
        tradeIntensity: 9,
      },
    ]);
    expect(instruments.map(({ symbol, name, sector }) => ({ symbol, name, sector }))).toEqual([
      { symbol: 'BTC-USD', name: 'BTC-USD', sector: 'Replay' },
      { symbol: 'MSFT', name: 'MSFT', sector: 'Replay' },
      { symbol: 'AAPL', name: 'Apple Inc.', sector: 'Technology' },
    ]);
    expect(instruments.map((i) => i.refPrice)).toEqual(scan.symbols.map((s) => s.firstPrice));
    expect(instruments.reduce((sum, i) => sum + i.tradeIntensity, 0)).toBeCloseTo(1);
  });
});
