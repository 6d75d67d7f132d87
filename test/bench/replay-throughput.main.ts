/**
 * Replay throughput: how many rows per second FEED=replay turns into ticks at
 * REPLAY_SPEED=max, on one core (parsing, validation and tick emission; the
 * ticks go to one subscriber that counts them, as MarketStateService would
 * take them). Also times the boot scan of the same file.
 *
 *   tsc -p test/bench/tsconfig.json
 *   node dist-bench/test/bench/replay-throughput.main.js [--rows 1000000] [--runs 3] [--file /tmp/x.csv]
 *
 * The file (a tickstream CSV of 20 symbols, default /tmp/tickstream-replay-<rows>.csv) is
 * generated once and reused. Prints each run and the median.
 */
import { createWriteStream, existsSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { filter, firstValueFrom } from 'rxjs';
import { ReplayFeed } from '../../src/market/replay/replay-feed.js';
import { replayInstruments, scanReplayFile } from '../../src/market/replay/replay-scan.js';

interface Options {
  rows: number;
  runs: number;
  file: string;
}

function parseArgs(argv: readonly string[]): Options {
  const value = (name: string): string | undefined => {
    const at = argv.indexOf(name);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const rows = Number(value('--rows') ?? 1_000_000);
  const runs = Number(value('--runs') ?? 3);
  if (!(Number.isInteger(rows) && rows > 0) || !(Number.isInteger(runs) && runs > 0)) {
    throw new Error('usage: --rows N --runs N --file PATH');
  }
  return { rows, runs, file: value('--file') ?? `/tmp/tickstream-replay-${rows}.csv` };
}

/** Writes `rows` rows of a plausible 20-symbol tape, ~4 ms apart on average (seeded LCG). */
async function generate(file: string, rows: number): Promise<void> {
  const symbols = Array.from({ length: 20 }, (_, i) => `SYM${String(i).padStart(2, '0')}`);
  const prices = symbols.map((_, i) => 20 + i * 17.5);
  let seed = 42;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) >>> 0) / 2 ** 32;
  const out = createWriteStream(file);
  let ts = 1_735_732_800_000;
  let text = 'ts,symbol,price,size,bid,ask\n';
  for (let i = 0; i < rows; i++) {
    ts += Math.floor(random() * 8);
    const s = Math.floor(random() * symbols.length);
    prices[s] = Math.max(1, prices[s] * (1 + (random() - 0.5) * 0.002));
    const price = prices[s].toFixed(2);
    const withQuote = i % 4 !== 0;
    const bid = withQuote ? (prices[s] - 0.01).toFixed(2) : '';
    const ask = withQuote ? (prices[s] + 0.01).toFixed(2) : '';
    text += `${ts},${symbols[s]},${price},${1 + Math.floor(random() * 500)},${bid},${ask}\n`;
    if (text.length > 1 << 16) {
      if (!out.write(text)) await once(out, 'drain');
      text = '';
    }
  }
  out.end(text);
  await once(out, 'finish');
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  if (!existsSync(options.file)) {
    process.stdout.write(`generating ${options.rows} rows into ${options.file}\n`);
    await generate(options.file, options.rows);
  }
  const mb = statSync(options.file).size / 1e6;
  const source = { file: options.file, format: 'auto', symbols: [] } as const;
  const scanRates: number[] = [];
  const playRates: number[] = [];
  for (let run = 1; run <= options.runs; run++) {
    const scanStarted = process.hrtime.bigint();
    const scan = await scanReplayFile(source);
    const scanS = Number(process.hrtime.bigint() - scanStarted) / 1e9;

    const feed = new ReplayFeed({
      scan,
      instruments: replayInstruments(scan, 'Bench'),
      feedSymbols: [],
      speed: 'max',
      loop: false,
    });
    let ticks = 0;
    let volume = 0;
    feed.ticks$.subscribe((tick) => {
      ticks++;
      volume += tick.size;
    });
    const closed = firstValueFrom(feed.state$.pipe(filter((state) => state === 'closed')));
    const cpuStarted = process.cpuUsage();
    const started = process.hrtime.bigint();
    feed.start();
    await closed;
    const playS = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = process.cpuUsage(cpuStarted);
    const cpuS = (cpu.user + cpu.system) / 1e6;
    if (ticks !== scan.rows) throw new Error(`played ${ticks} of ${scan.rows} rows`);
    const totalVolume = scan.symbols.reduce((sum, s) => sum + s.volume, 0);
    if (volume !== totalVolume) throw new Error(`volume ${volume}, scanned ${totalVolume}`);
    scanRates.push(scan.rows / scanS);
    playRates.push(scan.rows / playS);
    process.stdout.write(
      `run ${run}: ${scan.rows} rows (${mb.toFixed(1)} MB): playback ${playS.toFixed(3)} s = ${Math.round(scan.rows / playS).toLocaleString('en')} rows/s (CPU ${cpuS.toFixed(3)} s), boot scan ${scanS.toFixed(3)} s = ${Math.round(scan.rows / scanS).toLocaleString('en')} rows/s\n`,
    );
  }
  process.stdout.write(
    `median of ${options.runs}: playback ${Math.round(median(playRates)).toLocaleString('en')} rows/s, boot scan ${Math.round(median(scanRates)).toLocaleString('en')} rows/s\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
