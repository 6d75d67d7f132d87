import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Instrument } from '../../shared/market.js';
import { ReplayFileError, type ReplayProblem } from './replay-file.error.js';
import type { ReplayFormatName } from './replay-format.js';
import { ReplayReader, type ReplaySourceOptions } from './replay-reader.js';
import { offsetMs, type ReplayRow } from './replay-row.js';

/** What the boot scan found of one symbol. */
export interface ReplaySymbolSummary {
  symbol: string;
  /** Price of its first trade in the file: its prevClose. */
  firstPrice: number;
  rows: number;
  /** Sum of its sizes. */
  volume: number;
}

/** A replay file checked end to end: its format and universe. */
export interface ReplayScan {
  file: string;
  format: ReplayFormatName;
  /** In order of first appearance in the file. */
  symbols: ReplaySymbolSummary[];
  rows: number;
  /** File time from the first row to the last, in ms. */
  spanMs: number;
}

/**
 * Problems the boot scan lists before it stops: enough to show a pattern
 * (every row of a column bad) without flooding the terminal.
 */
export const MAX_SCAN_PROBLEMS = 10;

/**
 * The boot pass over a replay file: reads it all as a stream (a multi-GB
 * `.gz` is never in memory; only one summary per symbol is kept), checks
 * every row, and returns the universe. Rejects with a {@link ReplayFileError}
 * naming the file and line of up to {@link MAX_SCAN_PROBLEMS} problems; also
 * when the file has no rows (of FEED_SYMBOLS) or FEED_SYMBOLS names a symbol
 * it does not hold.
 */
export function scanReplayFile(options: ReplaySourceOptions): Promise<ReplayScan> {
  return new Promise((resolvePromise, reject) => {
    const bySymbol = new Map<string, ReplaySymbolSummary>();
    let first: ReplayRow | undefined;
    let last: ReplayRow | undefined;
    const reader = new ReplayReader(
      options,
      {
        rows(batch) {
          first ??= batch[0];
          last = batch[batch.length - 1];
          for (const row of batch) {
            const summary = bySymbol.get(row.symbol);
            if (summary) {
              summary.rows++;
              summary.volume += row.size;
            } else {
              bySymbol.set(row.symbol, {
                symbol: row.symbol,
                firstPrice: row.price,
                rows: 1,
                volume: row.size,
              });
            }
          }
        },
        end(error) {
          if (error) {
            reject(error);
            return;
          }
          const problems = universeProblems(options, bySymbol);
          if (problems.length > 0 || !first || !last || !reader.format) {
            reject(new ReplayFileError(options.file, problems));
            return;
          }
          resolvePromise({
            file: options.file,
            format: reader.format.name,
            symbols: [...bySymbol.values()],
            rows: reader.rowsRead,
            spanMs: offsetMs(last, first),
          });
        },
      },
      MAX_SCAN_PROBLEMS,
    );
    reader.start();
  });
}

function universeProblems(
  options: ReplaySourceOptions,
  found: ReadonlyMap<string, ReplaySymbolSummary>,
): ReplayProblem[] {
  if (found.size === 0) {
    return [
      {
        message:
          options.symbols.length > 0
            ? `no rows of FEED_SYMBOLS (${options.symbols.join(', ')})`
            : 'no rows, only a header',
      },
    ];
  }
  const missing = options.symbols.filter((symbol) => !found.has(symbol));
  if (missing.length === 0) return [];
  return [
    {
      message: `FEED_SYMBOLS lists ${missing.join(', ')}, not in the file (it holds ${[...found.keys()].slice(0, 20).join(', ')}${found.size > 20 ? ', …' : ''})`,
    },
  ];
}

/** The last scan made, with what identifies the file it read. */
let lastScan: { key: string; scan: Promise<ReplayScan> } | undefined;

/**
 * {@link scanReplayFile}, remembered for the same options and the same file
 * (path, size, modification time): main.ts scans at boot to report a bad file
 * the way it reports bad configuration, and MarketModule then builds the feed
 * from that scan instead of reading a large file twice.
 */
export function scanReplayFileCached(options: ReplaySourceOptions): Promise<ReplayScan> {
  let key: string;
  try {
    const path = resolve(options.file);
    const stat = statSync(path);
    key = JSON.stringify([path, options.format, options.symbols, stat.size, stat.mtimeMs]);
  } catch {
    // Missing or unreadable: the scan says so, with the file's name.
    return scanReplayFile(options);
  }
  if (lastScan?.key !== key) {
    const scan = scanReplayFile(options);
    lastScan = { key, scan };
    // A failed scan is not kept: the next attempt reads the file again.
    scan.catch(() => {
      if (lastScan?.scan === scan) lastScan = undefined;
    });
  }
  return lastScan.scan;
}

/**
 * The instruments of a scanned replay, in the file's order: name and sector
 * from `metadata` (SYMBOLS_FILE) when it lists the symbol, else the symbol as
 * its name and the format's sector. refPrice (prevClose) is the first trade's
 * price; tradeIntensity the symbol's share of the rows; volatility, unknown
 * for a recording, is the metadata's or 0 (only the simulator reads it).
 */
export function replayInstruments(
  scan: ReplayScan,
  sector: string,
  metadata: readonly Instrument[] = [],
): Instrument[] {
  const known = new Map(metadata.map((instrument) => [instrument.symbol, instrument]));
  return scan.symbols.map(({ symbol, firstPrice, rows }) => {
    const meta = known.get(symbol);
    return {
      symbol,
      name: meta?.name ?? symbol,
      sector: meta?.sector ?? sector,
      refPrice: firstPrice,
      volatility: meta?.volatility ?? 0,
      tradeIntensity: rows / scan.rows,
    };
  });
}
