import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, ROOT } from '../support/build.js';
import {
  browserAvailable,
  launchChromium,
  paintedPixels,
  pixelsOfColor,
  watchErrors,
} from './support/chromium.js';
import { freePort, startServer, type ServerProcess } from './support/server-process.js';

const ARTIFACTS = join(ROOT, 'test/browser/artifacts');
const TEN = 'AAPL,MSFT,NVDA,AMZN,GOOGL,META,TSLA,JPM,V,NFLX';
/** Enough trades that every 100 ms window of every watched symbol has some. */
const FEED_ENV = { FEED_TICKS_PER_SECOND: '4000', SEED: '42' };

interface Opened {
  context: BrowserContext;
  page: Page;
  errors: string[];
}

/** Last-price text of every row, by symbol. */
function lastPrices(page: Page): Promise<Record<string, string>> {
  return page.$$eval('#watchlist tbody tr[data-symbol]', (rows) =>
    Object.fromEntries(
      rows.map((r) => [
        r.getAttribute('data-symbol') ?? '',
        r.querySelector('td.c-last')?.textContent ?? '',
      ]),
    ),
  );
}

/** Resolves when some row's last price differs from `before`. */
async function waitForPriceChange(page: Page, before: Record<string, string>, timeout: number) {
  await page.waitForFunction(
    (prev) =>
      [...document.querySelectorAll('#watchlist tbody tr[data-symbol]')].some((r) => {
        const sym = r.getAttribute('data-symbol') ?? '';
        const now = r.querySelector('td.c-last')?.textContent ?? '';
        return prev[sym] !== undefined && now !== '—' && now !== prev[sym];
      }),
    before,
    { timeout, polling: 50 },
  );
}

/**
 * Resolves once the main chart is loaded and drawn and the sparkline of every
 * symbol in `symbols` has more than `minPixels` painted (a line of a few points).
 */
async function chartAndSparklinesDrawn(
  page: Page,
  symbols: readonly string[],
  minPixels = 20,
): Promise<void> {
  await page.locator('#chart-overlay').waitFor({ state: 'hidden', timeout: 10_000 });
  await expect
    .poll(() => paintedPixels(page, '#main-chart'), { timeout: 5000 })
    .toBeGreaterThan(2000);
  const thinnest = async () => {
    let min = Infinity;
    for (const symbol of symbols) {
      const sel = `#watchlist tbody tr[data-symbol="${symbol}"] canvas`;
      min = Math.min(min, await paintedPixels(page, sel));
    }
    return min;
  };
  await expect.poll(thinnest, { timeout: 10_000 }).toBeGreaterThan(minPixels);
}

/** Subscriptions the server holds, over all symbols and tiers, from its `/metrics` text. */
function subscriptionsHeld(metrics: string): number {
  return metrics
    .split('\n')
    .filter((l) => l.startsWith('tickstream_subscriptions{'))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

function updatesPerSec(page: Page): Promise<number> {
  return page.$eval('#statusbar', (el) =>
    Number((el as HTMLElement).dataset.updatesPerSec ?? 'NaN'),
  );
}

const available = browserAvailable();

describe.skipIf(!available)('dashboard in Chromium', () => {
  let server: ServerProcess;
  let port: number;
  let browser: Browser;
  let serverStarted = 0;
  const opened: Opened[] = [];

  beforeAll(async () => {
    ensureBuilt({ web: true });
    port = await freePort();
    server = await startServer(port, FEED_ENV);
    serverStarted = Date.now();
    browser = await launchChromium();
  });

  afterEach(async () => {
    for (const o of opened.splice(0)) await o.context.close();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** A fresh context (empty localStorage) with the dashboard open and its first quotes in. */
  async function open(query = '', viewport = { width: 1440, height: 900 }): Promise<Opened> {
    const context = await browser.newContext({ viewport, colorScheme: 'dark' });
    const page = await context.newPage();
    const { errors } = watchErrors(page);
    const o = { context, page, errors };
    opened.push(o);
    await page.goto(`${server.url}/${query}`);
    await page.locator('#statusbar[data-state="connected"]').waitFor({ timeout: 10_000 });
    await page.waitForFunction(
      () => {
        const cell = document.querySelector('#watchlist tbody tr[data-symbol] td.c-last');
        return cell !== null && cell.textContent !== '—';
      },
      undefined,
      { timeout: 10_000 },
    );
    return o;
  }

  it('loads with no console errors and no layout shift while prices tick', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    const { errors } = watchErrors(page);
    opened.push({ context, page, errors });
    await page.addInitScript(() => {
      const w = window as unknown as { __shifts: number[] };
      w.__shifts = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries() as unknown as {
          value: number;
          hadRecentInput: boolean;
        }[]) {
          if (!e.hadRecentInput) w.__shifts.push(e.value);
        }
      }).observe({ type: 'layout-shift', buffered: true });
    });
    await page.goto(`${server.url}/`);
    await expect.poll(() => page.title()).toContain('tickstream');
    // First visit: the default watchlist of well-known names.
    await page.locator('#watchlist tbody tr[data-symbol="AAPL"]').waitFor();
    await page.locator('#chart-overlay').waitFor({ state: 'hidden', timeout: 10_000 });
    // Settled: fonts in, the chart drawn and the first prices painted.
    await page.evaluate(() => document.fonts.ready.then(() => undefined));
    await expect
      .poll(() => paintedPixels(page, '#main-chart'), { timeout: 5000 })
      .toBeGreaterThan(2000);
    await waitForPriceChange(page, await lastPrices(page), 5000);
    const settled = await page.evaluate(
      () => (window as unknown as { __shifts: number[] }).__shifts.length,
    );
    // Watch while prices tick: ten successive repaints of changed prices (~3 s at 250 ms).
    for (let i = 0; i < 10; i++) await waitForPriceChange(page, await lastPrices(page), 3000);
    const shifts = await page.evaluate(
      (from) => (window as unknown as { __shifts: number[] }).__shifts.slice(from),
      settled,
    );
    expect(await page.locator('#watchlist tbody tr[data-symbol]').count()).toBe(10);
    expect(shifts.reduce((a, b) => a + b, 0)).toBeLessThan(0.001);
    expect(errors).toEqual([]);
  });

  it('says where the prices come from, and shows no feed banner while the feed is live', async () => {
    const { page } = await open(`?symbols=${TEN}`);
    await page.locator('#statusbar[data-feed="live"]').waitFor({ timeout: 5000 });
    expect(await page.locator('#stat-market').textContent()).toBe('Simulated · 24/7');
    expect(await page.locator('#banner').isVisible()).toBe(false);
  });

  it('changes watchlist prices within 2 s', async () => {
    const { page, errors } = await open();
    const before = await lastPrices(page);
    const started = Date.now();
    await waitForPriceChange(page, before, 2000);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(errors).toEqual([]);
  });

  it('draws the main chart and the sparklines', async () => {
    const { page, errors } = await open();
    await chartAndSparklinesDrawn(page, ['AAPL']);
    expect(errors).toEqual([]);
  });

  it('adds and removes symbols, and keeps the watchlist after a reload', async () => {
    const { page, errors } = await open(`?symbols=AAPL,MSFT,NVDA`);
    const input = page.locator('#symbol-input');

    await input.fill('am');
    await page.locator('#symbol-options li[data-symbol="AMD"]').waitFor();
    await input.fill('AMD');
    await input.press('Enter');
    await page.locator('#watchlist tbody tr[data-symbol="AMD"]').waitFor();
    await expect.poll(() => page.url()).toContain('symbols=AAPL,MSFT,NVDA,AMD');

    await input.fill('ZZZZ');
    await input.press('Enter');
    await expect
      .poll(() => page.locator('#add-message').textContent())
      .toContain('Unknown symbol ZZZZ');
    expect(await page.locator('#watchlist tbody tr[data-symbol="ZZZZ"]').count()).toBe(0);

    // The reload carries no query string: the list comes back from localStorage.
    await page.goto(`${server.url}/`);
    await page.locator('#watchlist tbody tr[data-symbol="AMD"]').waitFor();

    // Remove with the keyboard (Delete on the focused row) and with the row's button.
    await page.locator('#watchlist tbody tr[data-symbol="AMD"] td.c-sym').click();
    await page.keyboard.press('Delete');
    await page.locator('#watchlist tbody tr[data-symbol="AMD"]').waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Remove MSFT' }).click();
    await page.locator('#watchlist tbody tr[data-symbol="MSFT"]').waitFor({ state: 'detached' });

    await page.reload();
    await page.locator('#watchlist tbody tr[data-symbol="AAPL"]').waitFor();
    const symbols = await page.$$eval('#watchlist tbody tr[data-symbol]', (rows) =>
      rows.map((r) => r.getAttribute('data-symbol')),
    );
    expect(symbols).toEqual(['AAPL', 'NVDA']);
    expect(errors).toEqual([]);
  });

  it('switches the chart to candlesticks', async () => {
    const { page, errors } = await open(`?symbols=${TEN}&chart=line&range=1m`);
    await page.locator('#chart-overlay').waitFor({ state: 'hidden', timeout: 10_000 });
    // The price line drawn: what candles must then add to.
    await expect
      .poll(() => paintedPixels(page, '#main-chart'), { timeout: 5000 })
      .toBeGreaterThan(2000);
    const candleColors = async () =>
      (await pixelsOfColor(page, '#main-chart', '--up')) +
      (await pixelsOfColor(page, '#main-chart', '--down'));
    const inLine = await candleColors();

    await page.locator('#chart-mode button[data-value="1s"]').click();
    expect(
      await page.locator('#chart-mode button[data-value="1s"]').getAttribute('aria-pressed'),
    ).toBe('true');
    await expect.poll(() => page.url()).toContain('chart=1s');
    await expect.poll(candleColors, { timeout: 5000 }).toBeGreaterThan(inLine + 200);

    await page.locator('#chart-mode button[data-value="1m"]').click();
    await expect.poll(() => page.url()).toContain('chart=1m');
    await expect
      .poll(() => paintedPixels(page, '#main-chart'), { timeout: 5000 })
      .toBeGreaterThan(2000);
    expect(errors).toEqual([]);
  });

  it('changes the measured update rate with the rate selector', async () => {
    const { page, errors } = await open(`?symbols=${TEN}&interval=1000`);
    // 10 symbols: ~10 quotes/s at 1 s, up to ~100/s at 100 ms. The meter averages
    // over 2 s, so it climbs to the new rate within about that.
    await expect.poll(() => updatesPerSec(page), { timeout: 6000 }).toBeGreaterThan(3);
    const slow = await updatesPerSec(page);
    expect(slow).toBeLessThan(15);
    await page.selectOption('#rate', '100');
    await expect.poll(() => page.url()).toContain('interval=100');
    await expect.poll(() => updatesPerSec(page), { timeout: 6000 }).toBeGreaterThan(slow * 4);
    expect(errors).toEqual([]);
  });

  it('pauses and resumes the stream', async () => {
    const { page, errors } = await open(`?symbols=${TEN}&interval=250`);
    const pause = page.locator('#pause');
    await pause.click();
    expect(await pause.getAttribute('aria-pressed')).toBe('true');
    await page.locator('.paused-badge').waitFor({ state: 'visible' });
    // Unsubscribed: nothing arrives, so the meter falls to zero once its 2 s window passes.
    await expect.poll(() => updatesPerSec(page), { timeout: 5000 }).toBe(0);
    const frozen = await lastPrices(page);
    // The server holds nothing for this page (the only one open) once it is paused.
    await expect
      .poll(async () => subscriptionsHeld(await (await fetch(`${server.url}/metrics`)).text()))
      .toBe(0);
    expect(await lastPrices(page)).toEqual(frozen);

    await pause.click();
    expect(await pause.textContent()).toBe('Pause');
    await waitForPriceChange(page, frozen, 3000);
    expect(errors).toEqual([]);
  });

  it('ends up with exactly the server’s candles', async () => {
    const { page, errors } = await open(`?symbols=${TEN}&interval=250&chart=1s&range=1m&sel=AAPL`);
    await page.locator('#chart-overlay').waitFor({ state: 'hidden', timeout: 10_000 });
    // Two reconcile rounds (every 5 s, the last 8 buckets each: 7 closed compared per round).
    await expect
      .poll(
        () =>
          page.evaluate(
            () =>
              (
                window as unknown as {
                  __tickstream: { candleAccuracy(): Record<'1s', { compared: number }> };
                }
              ).__tickstream.candleAccuracy()['1s'].compared,
          ),
        { timeout: 20_000, interval: 250 },
      )
      .toBeGreaterThanOrEqual(14);
    type C = { t: number; o: number; h: number; l: number; c: number; v: number };
    const local = await page.evaluate(() =>
      (window as unknown as { __tickstream: { candles(r: '1s'): C[] } }).__tickstream.candles('1s'),
    );
    const res = await fetch(`${server.url}/api/history/AAPL?resolution=1s&limit=120`);
    const body = (await res.json()) as { candles: C[] };
    // Closed for long enough to have been reconciled: older than the last 8 s.
    const cutoff = body.candles[body.candles.length - 1].t - 8000;
    const settled = (cs: C[]) => cs.filter((c) => c.t >= body.candles[0].t && c.t < cutoff);
    expect(settled(local).length).toBeGreaterThan(10);
    expect(settled(local)).toEqual(settled(body.candles));
    expect(errors).toEqual([]);
  });

  it('is keyboard driven: arrows select, headers sort', async () => {
    const { page, errors } = await open(`?symbols=AAPL,MSFT,NVDA&sel=AAPL`);
    await page.locator('#watchlist tbody tr[data-symbol="AAPL"]').focus();
    await page.keyboard.press('ArrowDown');
    await expect.poll(() => page.locator('#chart-symbol').textContent()).toBe('MSFT');
    expect(await page.locator('tr[data-symbol="MSFT"]').getAttribute('aria-current')).toBe('true');
    await expect.poll(() => page.url()).toContain('sel=MSFT');

    const header = page.locator('#watchlist th.c-sym');
    await header.locator('button').click();
    expect(await header.getAttribute('aria-sort')).toBe('ascending');
    await header.locator('button').press('Enter');
    expect(await header.getAttribute('aria-sort')).toBe('descending');
    const order = () =>
      page.$$eval('#watchlist tbody tr[data-symbol]', (rows) =>
        rows.map((r) => r.getAttribute('data-symbol')),
      );
    // Rows move in the next frame that repaints the table.
    await expect.poll(order).toEqual(['NVDA', 'MSFT', 'AAPL']);

    await page.keyboard.press('/');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('symbol-input');
    expect(errors).toEqual([]);
  });

  it('fits a 375 px phone without horizontal scrolling', async () => {
    const { page, errors } = await open(`?symbols=${TEN}`, { width: 375, height: 812 });
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-375.png'), fullPage: true });
    expect(errors).toEqual([]);
  });

  it('saves a screenshot for the README', async () => {
    const { page, errors } = await open(
      `?symbols=${TEN},AMD,JNJ,XOM,KO&interval=250&chart=1s&range=1m&sel=NVDA`,
    );
    // Every row has a line (a quiet name like KO may hold only a few points yet).
    await chartAndSparklinesDrawn(page, `${TEN},AMD,JNJ,XOM,KO`.split(','), 0);
    if (process.env.UPDATE_SCREENSHOT === '1') {
      // For the README copy only: until the sparklines are long and the server has a
      // full minute of 1 s candles to show. The picture is about elapsed time.
      await page.waitForTimeout(Math.max(6000, 65_000 - (Date.now() - serverStarted)));
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    const path = join(ARTIFACTS, 'dashboard-1440x900.png');
    await page.screenshot({ path });
    if (process.env.UPDATE_SCREENSHOT === '1') copyFileSync(path, join(ROOT, 'web/screenshot.png'));
    expect(errors).toEqual([]);
  });

  // Last: it replaces the server every other test uses.
  it('shows a banner while the server is down and recovers without a reload', async () => {
    const { page, errors } = await open(`?symbols=${TEN}`);
    await page.evaluate(
      () => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true),
    );
    const banner = page.locator('#banner');
    expect(await banner.isVisible()).toBe(false);

    await server.stop();
    await banner.waitFor({ state: 'visible', timeout: 5000 });
    expect(await banner.getAttribute('role')).toBe('alert');
    await expect.poll(() => page.locator('#conn-state').textContent()).toBe('Reconnecting…');

    server = await startServer(port, FEED_ENV);
    await banner.waitFor({ state: 'hidden', timeout: 15_000 });
    await expect.poll(() => page.locator('#conn-state').textContent()).toBe('Connected');
    await waitForPriceChange(page, await lastPrices(page), 3000);
    expect(
      await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument),
    ).toBe(true);
    // The only errors allowed are the browser's own reports of the refused reconnects.
    const unexpected = errors.filter(
      (e) =>
        !/WebSocket connection to .* failed|ERR_CONNECTION_REFUSED|Failed to load resource/.test(e),
    );
    expect(unexpected).toEqual([]);
  });
});

describe.skipIf(!available)('dashboard against a server with AUTH_TOKENS', () => {
  const TOKEN = 'browser-test-token-42';
  let server: ServerProcess;
  let browser: Browser;

  beforeAll(async () => {
    ensureBuilt({ web: true });
    server = await startServer(await freePort(), { ...FEED_ENV, AUTH_TOKENS: TOKEN });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  async function pricesTick(page: Page): Promise<void> {
    await page.locator('#statusbar[data-state="connected"]').waitFor({ timeout: 10_000 });
    await page.locator('#watchlist tbody tr[data-symbol="AAPL"]').waitFor({ timeout: 10_000 });
    await waitForPriceChange(page, await lastPrices(page), 5000);
  }

  it('takes the token from ?token= and drops it from the address bar', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${server.url}/?token=${TOKEN}`);
      await pricesTick(page);
      expect(page.url()).not.toContain('token');
      // It is kept for the session: a reload without it still connects.
      await page.reload();
      await pricesTick(page);
    } finally {
      await context.close();
    }
  });

  it('asks for the token when the server refuses the connection, then connects', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const asked: string[] = [];
      page.on('dialog', (dialog) => {
        asked.push(dialog.message());
        void dialog.accept(TOKEN);
      });
      await page.goto(`${server.url}/`);
      await pricesTick(page);
      expect(asked.length).toBeGreaterThanOrEqual(1);
      expect(asked[0]).toContain('access token');
    } finally {
      await context.close();
    }
  });
});

describe.skipIf(!available)('dashboard of a replay that has ended', () => {
  let server: ServerProcess;
  let browser: Browser;

  beforeAll(async () => {
    ensureBuilt({ web: true });
    server = await startServer(await freePort(), {
      FEED: 'replay',
      REPLAY_FILE: join(ROOT, 'test/fixtures/replay/tickstream.csv'),
      REPLAY_SPEED: 'max',
    });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('says plainly that prices are not live, and still shows the last ones', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    try {
      const page = await context.newPage();
      await page.goto(`${server.url}/?symbols=AAPL`);
      await page.locator('#statusbar[data-state="connected"]').waitFor({ timeout: 10_000 });
      await page.locator('#statusbar[data-feed="closed"]').waitFor({ timeout: 10_000 });
      expect(await page.locator('#stat-market').textContent()).toBe('Replay · 24/7');
      const banner = page.locator('#banner');
      await banner.waitFor({ state: 'visible', timeout: 5000 });
      expect(await banner.textContent()).toBe(
        'The feed has ended (no more ticks): prices shown are the last ones.',
      );
      await page.waitForFunction(
        () => {
          const cell = document.querySelector('#watchlist tbody tr[data-symbol="AAPL"] td.c-last');
          return cell !== null && cell.textContent !== '—';
        },
        undefined,
        { timeout: 10_000 },
      );
    } finally {
      await context.close();
    }
  });
});

describe.skipIf(!available)('dashboard with simulated halts', () => {
  let server: ServerProcess;
  let browser: Browser;

  beforeAll(async () => {
    ensureBuilt({ web: true });
    // A 0.3 % band at 600× market time: a symbol moves that far within seconds.
    server = await startServer(await freePort(), {
      ...FEED_ENV,
      FEED_TIME_SCALE: '600',
      HALT_BAND_PCT: '0.3',
    });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('badges each halted row, as /api/status lists them', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    try {
      const page = await context.newPage();
      await page.goto(`${server.url}/?symbols=${TEN}`);
      const badge = page.locator('#watchlist tbody tr[data-halted="true"] .halt-badge').first();
      await badge.waitFor({ state: 'visible', timeout: 20_000 });
      expect(await badge.textContent()).toBe('Halted');
      const shown = await page.$$eval('#watchlist tbody tr[data-halted="true"]', (rows) =>
        rows.map((r) => r.getAttribute('data-symbol') ?? ''),
      );
      const status = (await (await fetch(`${server.url}/api/status`)).json()) as {
        halted: string[];
      };
      // Halts last 5 minutes: the list the page shows is still the server's.
      expect(shown.length).toBeGreaterThan(0);
      for (const symbol of shown) expect(status.halted).toContain(symbol);
    } finally {
      await context.close();
    }
  });
});
