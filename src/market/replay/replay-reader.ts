import { createReadStream, type ReadStream } from 'node:fs';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip, type Gunzip } from 'node:zlib';
import type { ReplayFormatSetting } from '../../config/app-config.js';
import { splitCsvFields } from './csv-fields.js';
import { CsvLineSplitter } from './csv-line-splitter.js';
import { ReplayFileError, type ReplayProblem, RowError } from './replay-file.error.js';
import type { FormatContext, ReplayFormat } from './replay-format.js';
import { chooseReplayFormat } from './replay-formats.js';
import { describeTime, notBefore, type ReplayRow, type RowParser } from './replay-row.js';

/** Which file to read, and how. */
export interface ReplaySourceOptions {
  /** The path as configured (REPLAY_FILE), relative to the working directory; named in messages. */
  file: string;
  format: ReplayFormatSetting;
  /** FEED_SYMBOLS (wire symbols; a binance-trades file takes its symbol from here). */
  symbols: readonly string[];
  /** Only rows of these symbols; undefined: FEED_SYMBOLS when given, else every symbol. */
  accept?: ReadonlySet<string>;
}

/** Where a {@link ReplayReader} delivers. */
export interface ReplayReaderSink {
  /** The rows of one chunk of the file, in file order; never empty. */
  rows(batch: ReplayRow[]): void;
  /** The pass is over: `error` is undefined at a clean end of the file. Called once. */
  end(error: ReplayFileError | undefined): void;
}

/** Something that delivers rows and can be held back: a file reader, or a test's rows. */
export interface ReplayRowSource {
  start(): void;
  pause(): void;
  resume(): void;
  /** Stops reading without calling `end`. */
  close(): void;
}

/**
 * Bytes per read. 64 KiB of CSV is ~1,500 rows: the most one event-loop turn
 * parses, so a fast replay never holds the loop for more than a few ms.
 */
const CHUNK_BYTES = 64 * 1024;

/**
 * One streaming pass over a replay file: reads it in chunks (through gunzip
 * for a `.gz` name, never whole), splits records, detects or applies the
 * format, parses rows, and checks they never go back in time. Rows go to the
 * sink a chunk at a time; `pause()` holds the file stream (back-pressure).
 *
 * Problems (a malformed row, time going back, an unclosed quote, a cut-off
 * gzip stream) are collected with their line; after `maxProblems` of them, or
 * at the end of the file, the pass ends with one {@link ReplayFileError}
 * listing them. The boot scan collects several so one edit fixes a file; the
 * playback pass stops at the first.
 */
export class ReplayReader implements ReplayRowSource {
  private readonly splitter: CsvLineSplitter;
  private readonly context: FormatContext;
  private readonly problems: ReplayProblem[] = [];
  private file: ReadStream | undefined;
  private gunzip: Gunzip | undefined;
  private text: Readable | undefined;
  private chosen: ReplayFormat | undefined;
  private parser: RowParser | undefined;
  private last: ReplayRow | undefined;
  private lastLine = 0;
  private batch: ReplayRow[] = [];
  private rowCount = 0;
  private done = false;

  constructor(
    private readonly options: ReplaySourceOptions,
    private readonly sink: ReplayReaderSink,
    private readonly maxProblems = 1,
  ) {
    const accept =
      options.accept ?? (options.symbols.length > 0 ? new Set(options.symbols) : undefined);
    this.context = { file: options.file, symbols: options.symbols, accept };
    this.splitter = new CsvLineSplitter((record, line) => this.record(record, line));
  }

  /** The format in use, once the first record has been read. */
  get format(): ReplayFormat | undefined {
    return this.chosen;
  }

  /** Rows delivered so far. */
  get rowsRead(): number {
    return this.rowCount;
  }

  /** Lines read so far. */
  get linesRead(): number {
    return this.splitter.linesRead;
  }

  /** Opens the file and starts reading. */
  start(): void {
    if (this.file || this.done) return;
    const file = createReadStream(resolve(this.options.file), { highWaterMark: CHUNK_BYTES });
    this.file = file;
    file.on('error', (err: NodeJS.ErrnoException) => this.fail([{ message: readFailure(err) }]));
    let text: Readable = file;
    if (/\.gz$/i.test(this.options.file)) {
      const gunzip = createGunzip({ chunkSize: CHUNK_BYTES });
      this.gunzip = gunzip;
      gunzip.on('error', (err: NodeJS.ErrnoException) =>
        this.fail([
          err.code === 'Z_BUF_ERROR'
            ? {
                line: this.splitter.linesRead + 1,
                message:
                  'the gzip data ends here, in the middle of the stream: the file is truncated',
              }
            : { message: `not valid gzip data (${err.message})` },
        ]),
      );
      file.pipe(gunzip);
      text = gunzip;
    }
    this.text = text;
    text.setEncoding('utf8');
    text.on('data', (chunk: string) => this.chunk(chunk));
    text.on('end', () => this.finish());
  }

  /** Holds the file stream: nothing more is read until {@link resume}. */
  pause(): void {
    this.text?.pause();
  }

  resume(): void {
    if (!this.done) this.text?.resume();
  }

  /** Stops reading and releases the file; the sink hears nothing more. */
  close(): void {
    this.done = true;
    this.release();
  }

  private chunk(chunk: string): void {
    if (this.done) return;
    this.splitter.push(chunk);
    this.flush();
  }

  private record(record: string, line: number): void {
    if (this.done) return;
    try {
      const parser = this.parser ?? this.open(record);
      if (parser === undefined) return;
      const row = parser.parse(splitCsvFields(record));
      if (row === undefined) return;
      const last = this.last;
      if (last !== undefined && !notBefore(row, last)) {
        throw new RowError(
          `time goes back: ${describeTime(row)} is before ${describeTime(last)} on line ${this.lastLine}`,
        );
      }
      this.last = row;
      this.lastLine = line;
      this.batch.push(row);
    } catch (err) {
      if (err instanceof ReplayFileError) {
        this.fail(err.problems);
        return;
      }
      if (!(err instanceof RowError)) throw err;
      this.problem({ line, message: err.message });
      // Without a format nothing else can be read.
      if (this.parser === undefined) this.fail();
    }
  }

  /** Chooses the format from the first record; undefined when that record is a header. */
  private open(first: string): RowParser | undefined {
    const fields = splitCsvFields(first);
    const format = chooseReplayFormat(this.options.format, fields);
    this.chosen = format;
    const { parser, header } = format.open(fields, this.context);
    this.parser = parser;
    return header ? undefined : parser;
  }

  private problem(problem: ReplayProblem): void {
    this.problems.push(problem);
    // Stopped at the limit with the file partly read: the rest is unchecked.
    if (this.problems.length >= this.maxProblems) this.fail([], this.maxProblems > 1);
  }

  private flush(): void {
    if (this.batch.length === 0) return;
    const batch = this.batch;
    this.batch = [];
    this.rowCount += batch.length;
    this.sink.rows(batch);
  }

  private finish(): void {
    if (this.done) return;
    const openLine = this.splitter.end();
    if (openLine !== undefined) {
      this.problems.push({ line: openLine, message: 'a quoted field is never closed' });
    }
    if (this.chosen === undefined && this.problems.length === 0) {
      this.problems.push({ message: 'the file is empty' });
    }
    if (this.problems.length > 0) {
      this.fail();
      return;
    }
    this.flush();
    this.done = true;
    this.release();
    this.sink.end(undefined);
  }

  /** Ends the pass with every problem so far (plus `more`); rows before them are delivered. */
  private fail(more: readonly ReplayProblem[] = [], truncated = false): void {
    if (this.done) return;
    this.problems.push(...more);
    this.flush();
    this.done = true;
    this.release();
    this.sink.end(new ReplayFileError(this.options.file, this.problems, truncated));
  }

  private release(): void {
    this.text?.removeAllListeners('data');
    this.file?.destroy();
    this.gunzip?.destroy();
  }
}

function readFailure(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT':
      return 'file not found';
    case 'EISDIR':
      return 'is a directory, not a file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    default:
      return `cannot read the file (${err.code ?? err.message})`;
  }
}
