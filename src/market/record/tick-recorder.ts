import {
  closeSync,
  createWriteStream,
  existsSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import type { Writable } from 'node:stream';
import type { Observable, Subscription } from 'rxjs';
import type { Tick } from '../../shared/market.js';
import { TICKSTREAM_HEADER } from '../replay/tickstream.format.js';

/** The first line of every recording: a tickstream CSV that FEED=replay reads back. */
export const RECORDING_HEADER = `${TICKSTREAM_HEADER.join(',')}\n`;

/**
 * Bytes a recording may hold in memory, written or waiting to be: 8 MiB is
 * ~200,000 ticks, two seconds of the feed's busiest setting, which rides out
 * a disk stall of that long; past it ticks are dropped, counted and logged.
 */
export const RECORD_BUFFER_BYTES = 8 * 1024 * 1024;

/** Text gathered before it is handed to the stream in one write (~1,600 ticks). */
const WRITE_BYTES = 64 * 1024;

/** A RECORD_FILE that cannot be recorded to; the message says which and why. */
export class RecordFileError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`Cannot record to RECORD_FILE: ${file}: ${reason}`);
    this.name = 'RecordFileError';
    this.stack = `${this.name}: ${this.message}`;
  }
}

/**
 * Checks at boot that `file` can be recorded to: its folder exists, it can be
 * opened for appending, and if it already holds data, that is a tickstream
 * recording (its first line is the header), so a recording never appends to
 * some other file. Throws {@link RecordFileError}.
 */
export function checkRecordFile(file: string): void {
  let fd: number;
  try {
    fd = openSync(file, 'a+');
  } catch (err) {
    throw new RecordFileError(file, openFailure(err as NodeJS.ErrnoException));
  }
  try {
    const head = Buffer.alloc(RECORDING_HEADER.length);
    const read = readSync(fd, head, 0, head.length, 0);
    if (read > 0 && head.toString('utf8', 0, read) !== RECORDING_HEADER) {
      throw new RecordFileError(
        file,
        `it exists and is not a tickstream recording (its first line is not "${RECORDING_HEADER.trim()}"); choose another file or move it away`,
      );
    }
  } finally {
    closeSync(fd);
  }
}

/** The name rotated file `n` gets: `ticks.csv` → `ticks.1.csv`, `ticks` → `ticks.1`. */
export function rotatedName(file: string, n: number): string {
  const ext = extname(file);
  const stem = basename(file, ext);
  return join(dirname(file), `${stem}.${n}${ext}`);
}

/** One CSV line of a tick; numbers as JavaScript prints them, which read back to the same value. */
export function recordLine(tick: Tick): string {
  return `${tick.ts},${tick.symbol},${tick.price},${tick.size},${tick.bid},${tick.ask}\n`;
}

/** Construction options of {@link TickRecorder}. */
export interface TickRecorderOptions {
  /** RECORD_FILE: the file recorded to (appended to when it exists). */
  file: string;
  /** RECORD_MAX_BYTES: the size at which the file is rotated. */
  maxBytes: number;
  /** RECORD_MAX_FILES: rotated files kept (`.1` the newest); older ones are deleted. */
  maxFiles: number;
  /** In-memory bound ({@link RECORD_BUFFER_BYTES} by default). */
  maxBufferedBytes?: number;
  log?: { log(message: string): void; warn(message: string): void; error(message: string): void };
  /** Opens the stream a file is appended through; a test passes a slow one. */
  openStream?: (file: string) => Writable;
}

/**
 * Writes every tick of a feed to a tickstream CSV (RECORD_FILE), in the
 * background: lines are gathered and handed to the file stream once per turn
 * of the event loop (or per 64 KiB), never with a write per tick, and never a
 * synchronous write. What the disk has not taken yet is bounded
 * ({@link TickRecorderOptions.maxBufferedBytes}); a tick that would pass the
 * bound is dropped, counted ({@link dropped}) and logged, once when dropping
 * starts and once, with the count, when it stops, so a slow disk never grows
 * memory and never drops silently.
 *
 * At `maxBytes` the file rotates: `ticks.csv` becomes `ticks.1.csv` (the older
 * ones shift up, the oldest past `maxFiles` is deleted) and a new `ticks.csv`
 * starts with the header. Renaming an open file keeps its pending writes going
 * to it, so nothing is lost across a rotation. A write error (disk full,
 * permissions) stops the recording with one log line; the feed goes on.
 */
export class TickRecorder {
  private readonly maxBuffered: number;
  private readonly openStream: (file: string) => Writable;
  private stream: Writable | undefined;
  private subscription: Subscription | undefined;
  private pending = '';
  /** Ticks in `pending`. */
  private pendingRows = 0;
  private flushScheduled: NodeJS.Immediate | undefined;
  /** Bytes in the current file, written or queued. */
  private size = 0;
  private droppedNow = 0;
  private failed = false;
  /** Streams of rotated files, still writing what they were given. */
  private readonly closing = new Map<Writable, Promise<void>>();

  /** Ticks recorded: handed to the file stream, or gathered to be. */
  rows = 0;
  /** Ticks dropped because the disk fell behind (or the recording failed). */
  dropped = 0;
  /** Rotations done. */
  rotations = 0;

  constructor(private readonly options: TickRecorderOptions) {
    this.maxBuffered = options.maxBufferedBytes ?? RECORD_BUFFER_BYTES;
    // Opened synchronously (one syscall, at start and per rotation): a stream
    // that opened its path later could land in a file a rotation has just
    // moved away, or find no file to rotate.
    this.openStream =
      options.openStream ?? ((file) => createWriteStream('', { fd: openSync(file, 'a') }));
  }

  /** Bytes the recording holds in memory: gathered, or queued in the file streams. */
  get buffered(): number {
    let bytes = this.pending.length + (this.stream?.writableLength ?? 0);
    for (const stream of this.closing.keys()) bytes += stream.writableLength;
    return bytes;
  }

  /** Opens the file (appending) and records every tick of `ticks$` from now on. */
  start(ticks$: Observable<Tick>): void {
    if (this.subscription) return;
    try {
      this.open(existsSync(this.options.file) ? statSync(this.options.file).size : 0);
    } catch (err) {
      this.fail(err);
    }
    // The error boundary: nothing the recording does may throw into the feed.
    this.subscription = ticks$.subscribe((tick) => {
      try {
        this.record(tick);
      } catch (err) {
        this.fail(err);
      }
    });
    this.options.log?.log(
      `recording ticks to ${this.options.file} (rotated at ${this.options.maxBytes} bytes, ${this.options.maxFiles} kept)`,
    );
  }

  /** Stops recording and resolves once everything gathered is on disk and the file is closed. */
  async stop(): Promise<void> {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
    if (this.flushScheduled) clearImmediate(this.flushScheduled);
    this.flushScheduled = undefined;
    this.flush();
    this.noteRecovered();
    const stream = this.stream;
    this.stream = undefined;
    if (stream) this.close(stream);
    await Promise.all(this.closing.values());
  }

  /** Ends `stream`; it is in {@link closing} until everything given to it is written. */
  private close(stream: Writable): void {
    if (stream.destroyed) return;
    const closed = new Promise<void>((resolve) => {
      stream.once('close', resolve);
      stream.once('error', () => resolve());
    }).then(() => {
      this.closing.delete(stream);
    });
    this.closing.set(stream, closed);
    stream.end();
  }

  private record(tick: Tick): void {
    if (this.failed) {
      this.dropped++;
      return;
    }
    const line = recordLine(tick);
    if (this.buffered + line.length > this.maxBuffered) {
      this.dropped++;
      if (this.droppedNow++ === 0) {
        this.options.log?.warn(
          `recording to ${this.options.file} falls behind the disk: ${this.maxBuffered} bytes wait to be written; dropping ticks until it catches up`,
        );
      }
      return;
    }
    this.noteRecovered();
    if (
      this.size + this.pending.length + line.length > this.options.maxBytes &&
      this.size + this.pending.length > RECORDING_HEADER.length
    ) {
      this.flush();
      this.rotate();
      if (this.failed) {
        this.dropped++;
        return;
      }
    }
    this.pending += line;
    this.pendingRows++;
    this.rows++;
    if (this.pending.length >= WRITE_BYTES) this.flush();
    else this.flushScheduled ??= setImmediate(() => this.flushSoon());
  }

  private flushSoon(): void {
    this.flushScheduled = undefined;
    try {
      this.flush();
    } catch (err) {
      this.fail(err);
    }
  }

  private flush(): void {
    if (this.pending.length === 0 || !this.stream) return;
    const text = this.pending;
    this.pending = '';
    this.pendingRows = 0;
    this.size += text.length;
    this.stream.write(text);
  }

  private noteRecovered(): void {
    if (this.droppedNow === 0) return;
    this.options.log?.warn(
      `recording to ${this.options.file} caught up with the disk after dropping ${this.droppedNow} ticks`,
    );
    this.droppedNow = 0;
  }

  /** Moves the current file to `.1` (shifting the older ones) and starts a new one. */
  private rotate(): void {
    const { file, maxFiles } = this.options;
    const old = this.stream;
    try {
      rmSync(rotatedName(file, maxFiles), { force: true });
      for (let n = maxFiles - 1; n >= 1; n--) {
        const from = rotatedName(file, n);
        if (existsSync(from)) renameSync(from, rotatedName(file, n + 1));
      }
      renameSync(file, rotatedName(file, 1));
    } catch (err) {
      this.fail(err);
      return;
    }
    // The old stream's queued writes still go to the renamed file.
    if (old) this.close(old);
    this.stream = undefined;
    this.rotations++;
    this.open(0);
  }

  private open(size: number): void {
    const stream = this.openStream(this.options.file);
    stream.on('error', (err) => this.fail(err));
    this.stream = stream;
    this.size = size;
    if (size === 0) {
      this.size = RECORDING_HEADER.length;
      stream.write(RECORDING_HEADER);
    }
  }

  private fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    // What was gathered but not handed to the stream is lost with it.
    this.dropped += this.pendingRows;
    this.rows -= this.pendingRows;
    this.pending = '';
    this.pendingRows = 0;
    const reason = err instanceof Error ? err.message : String(err);
    this.options.log?.error(
      `recording to ${this.options.file} stopped: ${reason}; the feed goes on, ticks are no longer recorded`,
    );
    this.stream?.destroy();
  }
}

function openFailure(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT':
      return 'its folder does not exist';
    case 'EISDIR':
      return 'is a directory, not a file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    default:
      return `cannot open it for appending (${err.code ?? err.message})`;
  }
}
