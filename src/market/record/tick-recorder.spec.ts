import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { filter, firstValueFrom, Subject, VirtualTimeScheduler } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Tick } from '../../shared/market.js';
import { DEFAULT_INSTRUMENTS } from '../instruments.js';
import { MarketSimulator } from '../market-simulator.js';
import { ReplayFeed } from '../replay/replay-feed.js';
import { ReplayReader } from '../replay/replay-reader.js';
import type { ReplayRow } from '../replay/replay-row.js';
import { replayInstruments, scanReplayFile } from '../replay/replay-scan.js';
import {
  checkRecordFile,
  RECORDING_HEADER,
  RecordFileError,
  recordLine,
  rotatedName,
  TickRecorder,
} from './tick-recorder.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tickstream-record-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** `count` ticks of the seeded simulator on a virtual clock. */
function simulatedTicks(count: number): Tick[] {
  const scheduler = new VirtualTimeScheduler();
  const sim = new MarketSimulator({
    instruments: DEFAULT_INSTRUMENTS,
    seed: 7,
    ticksPerSecond: 2000,
    scheduler,
  });
  const ticks: Tick[] = [];
  sim.ticks$.subscribe((tick) => ticks.push(tick));
  sim.start();
  scheduler.maxFrames = Math.ceil((count / 2000) * 1000) + 1000;
  scheduler.flush();
  sim.stop();
  expect(ticks.length).toBeGreaterThanOrEqual(count);
  return ticks.slice(0, count);
}

/** Every row of a recording, as the replay reader reads it. */
function readRows(file: string): Promise<ReplayRow[]> {
  return new Promise((resolve, reject) => {
    const rows: ReplayRow[] = [];
    new ReplayReader(
      { file, format: 'tickstream', symbols: [] },
      {
        rows: (batch) => rows.push(...batch),
        end: (error) => (error ? reject(error) : resolve(rows)),
      },
    ).start();
  });
}

function logger() {
  const lines: string[] = [];
  return {
    lines,
    log: (m: string) => lines.push(`log ${m}`),
    warn: (m: string) => lines.push(`warn ${m}`),
    error: (m: string) => lines.push(`error ${m}`),
  };
}

/** A disk that takes writes only when told to: `release()` lets every held write complete. */
class SlowDisk extends Writable {
  readonly written: string[] = [];
  private held: (() => void)[] = [];
  constructor() {
    super({ decodeStrings: false, highWaterMark: 1 });
  }
  override _write(chunk: string, _enc: BufferEncoding, done: (err?: Error) => void): void {
    this.held.push(() => {
      this.written.push(chunk);
      done();
    });
  }
  release(): void {
    while (this.held.length > 0) this.held.shift()!();
  }
}

describe(TickRecorder.name, () => {
  it('round-trips: a recording replays to the same ticks, every field and seq', async () => {
    const file = join(tempDir(), 'ticks.csv');
    const ticks = simulatedTicks(5000);
    const ticks$ = new Subject<Tick>();
    const recorder = new TickRecorder({ file, maxBytes: 1 << 30, maxFiles: 1 });
    recorder.start(ticks$);
    for (const tick of ticks) ticks$.next(tick);
    await recorder.stop();
    expect(recorder.rows).toBe(5000);
    expect(recorder.dropped).toBe(0);

    const text = readFileSync(file, 'utf8');
    expect(text.startsWith(RECORDING_HEADER)).toBe(true);
    expect(text.split('\n').length - 1).toBe(5001);
    // The reader gives back exactly the recorded times and values.
    const rows = await readRows(file);
    expect(rows.map((r) => [r.ms, r.symbol, r.price, r.size, r.bid, r.ask])).toEqual(
      ticks.map((t) => [t.ts, t.symbol, t.price, t.size, t.bid, t.ask]),
    );

    // And the replay numbers them as the simulator did.
    const scan = await scanReplayFile({ file, format: 'auto', symbols: [] });
    const feed = new ReplayFeed({
      scan,
      instruments: replayInstruments(scan, 'Replay'),
      feedSymbols: [],
      speed: 'max',
      loop: false,
    });
    const replayed: Tick[] = [];
    feed.ticks$.subscribe((tick) => replayed.push(tick));
    const closed = firstValueFrom(feed.state$.pipe(filter((s) => s === 'closed')));
    feed.start();
    await closed;
    const strip = ({ symbol, seq, price, size, bid, ask }: Tick) => ({
      symbol,
      seq,
      price,
      size,
      bid,
      ask,
    });
    expect(replayed.map(strip)).toEqual(ticks.map(strip));
  });

  it('appends to an existing recording without a second header', async () => {
    const file = join(tempDir(), 'ticks.csv');
    const ticks = simulatedTicks(20);
    for (const part of [ticks.slice(0, 10), ticks.slice(10)]) {
      checkRecordFile(file);
      const ticks$ = new Subject<Tick>();
      const recorder = new TickRecorder({ file, maxBytes: 1 << 30, maxFiles: 1 });
      recorder.start(ticks$);
      for (const tick of part) ticks$.next(tick);
      await recorder.stop();
    }
    expect(readFileSync(file, 'utf8')).toBe(RECORDING_HEADER + ticks.map(recordLine).join(''));
  });

  it('rotates at maxBytes, keeps maxFiles rotated files, and loses nothing it keeps', async () => {
    const dir = tempDir();
    const file = join(dir, 'ticks.csv');
    const ticks = simulatedTicks(3000);
    const ticks$ = new Subject<Tick>();
    const recorder = new TickRecorder({ file, maxBytes: 16_384, maxFiles: 2 });
    recorder.start(ticks$);
    // Ticks in several event-loop turns, so rotation meets pending writes.
    for (let i = 0; i < ticks.length; i += 250) {
      for (const tick of ticks.slice(i, i + 250)) ticks$.next(tick);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await recorder.stop();

    expect(readdirSync(dir).sort()).toEqual(['ticks.1.csv', 'ticks.2.csv', 'ticks.csv']);
    expect(recorder.rotations).toBeGreaterThan(2);
    const kept = [rotatedName(file, 2), rotatedName(file, 1), file];
    const lines: string[] = [];
    for (const path of kept) {
      expect(statSync(path).size).toBeLessThanOrEqual(16_384);
      const text = readFileSync(path, 'utf8');
      expect(text.startsWith(RECORDING_HEADER)).toBe(true);
      lines.push(...text.slice(RECORDING_HEADER.length).split('\n').filter(Boolean));
    }
    // The kept files hold the newest ticks, in order, with no gap.
    const all = ticks.map((t) => recordLine(t).trimEnd());
    expect(lines).toEqual(all.slice(all.length - lines.length));
  });

  it('drops ticks while the disk is behind, counts them, logs when it starts and stops', async () => {
    const disk = new SlowDisk();
    const log = logger();
    const ticks = simulatedTicks(200);
    const ticks$ = new Subject<Tick>();
    const recorder = new TickRecorder({
      file: join(tempDir(), 'ticks.csv'),
      maxBytes: 1 << 30,
      maxFiles: 1,
      maxBufferedBytes: 2000,
      log,
      openStream: () => disk,
    });
    recorder.start(ticks$);
    for (const tick of ticks.slice(0, 100)) ticks$.next(tick);
    await new Promise((resolve) => setImmediate(resolve));
    expect(recorder.dropped).toBeGreaterThan(0);
    expect(recorder.rows + recorder.dropped).toBe(100);
    expect(recorder.buffered).toBeLessThanOrEqual(2000);
    expect(log.lines.filter((l) => l.includes('falls behind'))).toHaveLength(1);

    disk.release();
    for (const tick of ticks.slice(100, 110)) ticks$.next(tick);
    await new Promise((resolve) => setImmediate(resolve));
    disk.release();
    expect(log.lines.filter((l) => l.includes('caught up'))).toEqual([
      expect.stringContaining(`after dropping ${recorder.dropped} ticks`),
    ]);
    expect(recorder.rows + recorder.dropped).toBe(110);
    const stopped = recorder.stop();
    disk.release();
    await stopped;
    expect(disk.written.join('').split('\n').length - 2).toBe(recorder.rows);
  });

  it('stops recording on a write error with one log line; ticks go on being counted', async () => {
    const log = logger();
    const broken = new Writable({
      write: (_chunk, _enc, done) => done(new Error('ENOSPC: no space left on device')),
    });
    const ticks$ = new Subject<Tick>();
    const recorder = new TickRecorder({
      file: join(tempDir(), 'ticks.csv'),
      maxBytes: 1 << 30,
      maxFiles: 1,
      log,
      openStream: () => broken,
    });
    recorder.start(ticks$);
    const ticks = simulatedTicks(30);
    for (const tick of ticks.slice(0, 10)) ticks$.next(tick);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    for (const tick of ticks.slice(10)) ticks$.next(tick);
    await recorder.stop();
    expect(log.lines.filter((l) => l.startsWith('error'))).toEqual([
      expect.stringContaining('stopped: ENOSPC: no space left on device'),
    ]);
    expect(recorder.dropped).toBeGreaterThanOrEqual(20);
  });
});

describe(checkRecordFile.name, () => {
  it('refuses a missing folder and a file that is not a recording, naming the file', () => {
    const dir = tempDir();
    const missing = join(dir, 'nope', 'ticks.csv');
    expect(() => checkRecordFile(missing)).toThrow(
      new RecordFileError(missing, 'its folder does not exist'),
    );
    const other = join(dir, 'notes.csv');
    writeFileSync(other, 'a,b,c\n1,2,3\n');
    expect(() => checkRecordFile(other)).toThrow(
      /notes\.csv: it exists and is not a tickstream recording/,
    );
    expect(readFileSync(other, 'utf8')).toBe('a,b,c\n1,2,3\n');
    expect(() => checkRecordFile(dir)).toThrow(RecordFileError);
  });

  it('accepts a new file (creating it empty) and an existing recording', () => {
    const file = join(tempDir(), 'ticks.csv');
    checkRecordFile(file);
    expect(statSync(file).size).toBe(0);
    writeFileSync(file, `${RECORDING_HEADER}1,AAPL,1,1,1,1\n`);
    expect(() => checkRecordFile(file)).not.toThrow();
  });
});
