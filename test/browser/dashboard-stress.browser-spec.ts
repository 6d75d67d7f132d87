import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../support/build.js';
import { browserAvailable, launchChromium, watchErrors } from './support/chromium.js';
import { freePort, startServer, type ServerProcess } from './support/server-process.js';

/**
 * Drives the dashboard's state changes many times, quickly and interleaved, the
 * way an impatient user does (and faster): pause/resume, select another symbol,
 * switch chart type and range, add and remove a symbol, change the rate, move
 * the pointer over the chart, with the server restarted underneath. Any page
 * error or console error fails the test, with its source-mapped stack.
 *
 * STRESS_ROUNDS sets the number of rounds (default 30) for a longer local run.
 */
const ROUNDS = Number(process.env.STRESS_ROUNDS ?? '30');
/** A restart every this many rounds. */
const RESTART_EVERY = 10;
const SYMBOLS = 'AAPL,MSFT,NVDA,AMZN,GOOGL,META,TSLA,JPM,V,NFLX';
const EXTRA = ['AMD', 'JNJ', 'XOM', 'KO'];
const MODES = ['line', '1s', '1m'] as const;
const RANGES = ['1m', '5m', '15m', '1h'] as const;
const RATES = ['100', '250', '1000'] as const;
const FEED_ENV = { FEED_TICKS_PER_SECOND: '4000', SEED: '7' };

/** The browser's own reports of refused connections while the server is down. */
const NETWORK_NOISE =
  /WebSocket connection to .* failed|ERR_CONNECTION_REFUSED|Failed to load resource/;

/** Sweeps the pointer across the chart so Chart.js hit-tests and draws tooltips mid-change. */
async function hoverChart(page: Page, steps: number): Promise<void> {
  const box = await page.locator('#main-chart').boundingBox();
  if (!box) return;
  for (let i = 0; i <= steps; i++) {
    await page.mouse.move(box.x + (box.width * i) / steps, box.y + box.height * 0.4);
  }
}

async function waitConnected(page: Page): Promise<void> {
  await page.locator('#statusbar[data-state="connected"]').waitFor({ timeout: 20_000 });
}

describe.skipIf(!browserAvailable())('dashboard under rapid state changes', () => {
  let server: ServerProcess;
  let port: number;
  let browser: Browser;

  beforeAll(async () => {
    ensureBuilt({ web: true });
    port = await freePort();
    server = await startServer(port, FEED_ENV);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it(
    `throws no page error and logs no console error over ${ROUNDS} rounds`,
    { timeout: 60_000 + ROUNDS * 8_000 },
    async () => {
      const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
      const page = await context.newPage();
      const { errors } = watchErrors(page);
      try {
        await page.goto(`${server.url}/?symbols=${SYMBOLS}&interval=100&chart=line&range=1m`);
        await waitConnected(page);
        await page.locator('#chart-overlay').waitFor({ state: 'hidden', timeout: 10_000 });
        const rows = page.locator('#watchlist tbody tr[data-symbol] td.c-sym');
        const input = page.locator('#symbol-input');

        for (let round = 0; round < ROUNDS; round++) {
          const extra = EXTRA[round % EXTRA.length];
          // The pointer stays over the chart while its data is swapped below it.
          await hoverChart(page, 6);
          await page.locator('#pause').click();
          await hoverChart(page, 3);
          await page.locator('#pause').click();
          await rows.nth((round * 3 + 1) % 10).click();
          await hoverChart(page, 3);
          await page.locator(`#chart-mode button[data-value="${MODES[round % 3]}"]`).click();
          await hoverChart(page, 3);
          await page.locator(`#chart-range button[data-value="${RANGES[round % 4]}"]`).click();
          await page.keyboard.press('ArrowDown');
          await page.selectOption('#rate', RATES[round % 3]);
          await input.fill(extra);
          await input.press('Enter');
          await page.locator(`#watchlist tbody tr[data-symbol="${extra}"]`).waitFor();
          await page.locator(`#watchlist tbody tr[data-symbol="${extra}"] td.c-sym`).click();
          await hoverChart(page, 3);
          await page.getByRole('button', { name: `Remove ${extra}` }).click();
          await page
            .locator(`#watchlist tbody tr[data-symbol="${extra}"]`)
            .waitFor({ state: 'detached' });
          // Resize while a chart is live (the layout switches at narrow widths).
          if (round % 5 === 4) {
            await page.setViewportSize({ width: 700, height: 800 });
            await hoverChart(page, 3);
            await page.setViewportSize({ width: 1440, height: 900 });
          }
          if (round % RESTART_EVERY === RESTART_EVERY - 1) {
            await server.stop();
            await hoverChart(page, 3);
            await page.locator('#pause').click();
            await page.locator('#pause').click();
            server = await startServer(port, FEED_ENV);
            await waitConnected(page);
          }
          // Let a few frames and quote batches land between rounds.
          await page.evaluate(
            () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))),
          );
        }

        // Still alive: connected, the chart loaded, and prices move.
        await waitConnected(page);
        await page.locator('#chart-overlay').waitFor({ state: 'hidden', timeout: 10_000 });
        const frames = () =>
          page.evaluate(() =>
            (window as unknown as { __tickstream: { frames(): number } }).__tickstream.frames(),
          );
        const before = await frames();
        await expect.poll(frames, { timeout: 5000 }).toBeGreaterThan(before);
        expect(errors.filter((e) => !NETWORK_NOISE.test(e))).toEqual([]);
      } finally {
        await context.close();
      }
    },
  );
});
