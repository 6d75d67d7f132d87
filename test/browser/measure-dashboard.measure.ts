/**
 * Measures the dashboard under the load: 50 symbols at the 100 ms
 * tier, in headless Chromium, for MEASURE_MINUTES (10 by default).
 *
 *   npx vitest run --config test/browser/vitest.measure.config.ts
 *
 * Frame rate: a requestAnimationFrame counter in the page, read as frames per
 * second over consecutive 1 s buckets. A frame the page's own work (socket
 * messages, table and chart repaints) delays past 16.7 ms shows up as fewer
 * frames in that second.
 * Heap: JS heap used after a forced GC (CDP HeapProfiler.collectGarbage, then
 * Runtime.getHeapUsage), once a minute; growth = last − first.
 * Also recorded: updates/s and latency as the status bar shows them, the
 * fraction of closed candles the live build got wrong before reconciliation,
 * and long tasks (> 50 ms).
 * Prints a table and writes test/browser/artifacts/measure-dashboard.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, ROOT } from '../support/build.js';
import { browserAvailable, launchChromium, watchErrors } from './support/chromium.js';
import { freePort, startServer, type ServerProcess } from './support/server-process.js';

const MINUTES = Number(process.env.MEASURE_MINUTES ?? '10');
const SYMBOLS = Number(process.env.MEASURE_SYMBOLS ?? '50');
const INTERVAL = process.env.MEASURE_INTERVAL ?? '100';
const CHART = process.env.MEASURE_CHART ?? 'line';
const RANGE = process.env.MEASURE_RANGE ?? '5m';
/** Enough trades that every 100 ms window of 50 symbols has some (~120 per symbol per second). */
const TICKS_PER_SECOND = process.env.MEASURE_TICKS ?? '10000';
const WARMUP_MS = 20_000;
const OUT = join(ROOT, 'test/browser/artifacts/measure-dashboard.json');

interface Sample {
  minute: number;
  fpsMedian: number;
  fpsMin: number;
  heapMB: number;
  updatesPerSec: number;
  latencyMs: number | null;
  longTasks: number;
}

interface Probe {
  updatesPerSec(): number;
  latencyMs(): number | undefined;
  candleAccuracy(): Record<'1s' | '1m', { compared: number; corrected: number }>;
  frames(): number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? NaN
    : s.length % 2
      ? s[s.length >> 1]
      : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function heapMB(cdp: CDPSession): Promise<number> {
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize } = await cdp.send('Runtime.getHeapUsage');
  return usedSize / 2 ** 20;
}

/** Installs the rAF counter: per-second frame counts accumulate in window.__fps. */
function installFrameCounter(page: Page): Promise<void> {
  return page.evaluate(() => {
    const w = window as unknown as { __fps: number[]; __longTasks: number };
    w.__fps = [];
    w.__longTasks = 0;
    new PerformanceObserver((list) => (w.__longTasks += list.getEntries().length)).observe({
      type: 'longtask',
      buffered: false,
    });
    let second = Math.floor(performance.now() / 1000);
    let count = 0;
    const tick = (now: number) => {
      const s = Math.floor(now / 1000);
      if (s !== second) {
        // Seconds without a single frame count as zeros.
        w.__fps.push(count);
        for (let i = second + 1; i < s; i++) w.__fps.push(0);
        second = s;
        count = 0;
      }
      count++;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
}

/** Takes the per-second frame counts gathered since the last call. */
function drainFps(page: Page): Promise<number[]> {
  return page.evaluate(() => {
    const w = window as unknown as { __fps: number[] };
    return w.__fps.splice(0);
  });
}

const available = browserAvailable();

describe.skipIf(!available)('dashboard frame rate and heap', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    ensureBuilt({ web: true });
    server = await startServer(await freePort(), {
      FEED_TICKS_PER_SECOND: TICKS_PER_SECOND,
      MAX_SYMBOLS_PER_CLIENT: '200',
    });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it(`holds ≥ 55 fps and a flat heap with ${SYMBOLS} symbols at ${INTERVAL} ms for ${MINUTES} min`, async () => {
    const universe = (await (await fetch(`${server.url}/api/symbols`)).json()) as {
      symbol: string;
    }[];
    const symbols = universe.slice(0, SYMBOLS).map((s) => s.symbol);
    const browser = await launchChromium();
    try {
      const context = await browser.newContext({
        viewport: { width: 1440, height: 900 },
        colorScheme: 'dark',
      });
      const page = await context.newPage();
      const { errors } = watchErrors(page);
      const cdp = await context.newCDPSession(page);
      const query = `?symbols=${symbols.join(',')}&interval=${INTERVAL}&chart=${CHART}&range=${RANGE}&sel=${symbols[0]}`;
      await page.goto(`${server.url}/${query}`);
      await page.locator('#statusbar[data-state="connected"]').waitFor({ timeout: 15_000 });
      await page.waitForTimeout(WARMUP_MS);
      await installFrameCounter(page);
      const probe = () =>
        page.evaluate(() => {
          const p = (window as unknown as { __tickstream: Probe }).__tickstream;
          return {
            updatesPerSec: p.updatesPerSec(),
            latencyMs: p.latencyMs() ?? null,
            accuracy: p.candleAccuracy(),
            frames: p.frames(),
          };
        });

      const heapStart = await heapMB(cdp);
      const allFps: number[] = [];
      const samples: Sample[] = [];
      const started = Date.now();
      let longTasksSeen = 0;
      for (let minute = 1; minute <= MINUTES; minute++) {
        await page.waitForTimeout(started + minute * 60_000 - Date.now());
        const fps = await drainFps(page);
        // The first second after installing and the GC pause of the heap probe are not steady state.
        const steady = fps.slice(1);
        allFps.push(...steady);
        const stats = await probe();
        const longTasks = await page.evaluate(
          () => (window as unknown as { __longTasks: number }).__longTasks,
        );
        samples.push({
          minute,
          fpsMedian: median(steady),
          fpsMin: Math.min(...steady),
          heapMB: await heapMB(cdp),
          updatesPerSec: Math.round(stats.updatesPerSec),
          latencyMs: stats.latencyMs === null ? null : Math.round(stats.latencyMs),
          longTasks: longTasks - longTasksSeen,
        });
        longTasksSeen = longTasks;
        console.log(`minute ${minute}:`, JSON.stringify(samples[samples.length - 1]));
      }
      const heapEnd = samples[samples.length - 1]?.heapMB ?? heapStart;
      const final = await probe();
      const sorted = [...allFps].sort((a, b) => a - b);
      const result = {
        config: {
          minutes: MINUTES,
          symbols: SYMBOLS,
          intervalMs: Number(INTERVAL),
          chart: CHART,
          range: RANGE,
          feedTicksPerSecond: Number(TICKS_PER_SECOND),
          viewport: '1440x900',
          chromium: browser.version(),
        },
        fps: {
          median: median(allFps),
          p5: sorted[Math.floor(sorted.length * 0.05)],
          min: sorted[0],
          seconds: allFps.length,
          secondsBelow55: allFps.filter((f) => f < 55).length,
        },
        heapMB: { start: heapStart, end: heapEnd, growth: heapEnd - heapStart },
        updatesPerSec: final.updatesPerSec,
        latencyMs: final.latencyMs,
        candleAccuracy: final.accuracy,
        samples,
      };
      mkdirSync(join(ROOT, 'test/browser/artifacts'), { recursive: true });
      writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`);
      console.table(samples);
      console.log(
        JSON.stringify(
          { fps: result.fps, heapMB: result.heapMB, candleAccuracy: result.candleAccuracy },
          null,
          2,
        ),
      );
      await page.screenshot({ path: join(ROOT, 'test/browser/artifacts/measure-dashboard.png') });

      expect(errors).toEqual([]);
      expect(result.fps.median).toBeGreaterThanOrEqual(55);
      expect(result.heapMB.growth).toBeLessThan(10);
    } finally {
      await browser.close();
    }
  });
});
