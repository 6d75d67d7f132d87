import type { ReplayFormatSetting } from '../../config/app-config.js';
import type { RowParser } from './replay-row.js';

/** A concrete file format (REPLAY_FORMAT without `auto`). */
export type ReplayFormatName = Exclude<ReplayFormatSetting, 'auto'>;

/** What a format may need to know about the file beyond its records. */
export interface FormatContext {
  /** The path as configured, for messages. */
  file: string;
  /** FEED_SYMBOLS (upper-case): a binance-trades file takes its symbol from here. */
  symbols: readonly string[];
  /** Symbols to keep; others are left out unread. Undefined keeps every one. */
  accept?: ReadonlySet<string>;
}

/** One file format: how to recognise it by its first record, and how to read its rows. */
export interface ReplayFormat {
  readonly name: ReplayFormatName;
  /** Sector of its instruments when SYMBOLS_FILE does not say. */
  readonly sector: string;
  /** Whether the first record (header, or first data row of a headerless format) is this format's. */
  looksLike(first: readonly string[]): boolean;
  /**
   * A parser for a file whose first record is `first`, and whether that record
   * is a header (skipped). Throws RowError for a header that does not fit (the
   * reader reports it at its line), ReplayFileError for a file-level problem.
   */
  open(first: readonly string[], context: FormatContext): { parser: RowParser; header: boolean };
}

/** Lower-cased, trimmed header names: their column index, for formats read by name. */
export function headerIndex(fields: readonly string[]): Map<string, number> {
  const index = new Map<string, number>();
  fields.forEach((name, i) => {
    const key = name.trim().toLowerCase();
    if (!index.has(key)) index.set(key, i);
  });
  return index;
}
