import { existsSync } from 'node:fs';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import { sourceMappedStack } from './source-mapped-stack.js';

/** Debian's Chromium (`apt-get install chromium`); CHROMIUM_PATH overrides. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Whether the browser tests can run. Without Chromium they are skipped with a
 * loud warning, except under `REQUIRE_BROWSER=1` (set by `.ci/run`), where a
 * missing browser is an error.
 */
export function browserAvailable(): boolean {
  if (existsSync(CHROMIUM_PATH)) return true;
  const message =
    `\n${'!'.repeat(78)}\n` +
    `!! Browser tests SKIPPED: no Chromium at ${CHROMIUM_PATH}.\n` +
    `!! Install it with: apt-get install -y chromium   (or set CHROMIUM_PATH)\n` +
    `${'!'.repeat(78)}\n`;
  if (process.env.REQUIRE_BROWSER === '1') {
    throw new Error(`REQUIRE_BROWSER=1 but Chromium is missing.${message}`);
  }
  console.warn(message);
  return false;
}

/** Headless Chromium with the flags that keep it quiet and offline-safe in CI. */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    // Playwright gives every launch a fresh temporary profile (user-data-dir) and deletes it on close.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...extraArgs,
    ],
  });
}

/**
 * Collects console errors and uncaught page errors of a page. A page error
 * carries its stack, mapped back to the TypeScript sources, so a failing
 * `expect(errors).toEqual([])` shows where in `web/src` (or in a library) it
 * was thrown; a console error carries where it was logged from.
 */
export function watchErrors(page: Page): { errors: string[] } {
  const sink = { errors: [] as string[] };
  page.on('console', (msg: ConsoleMessage) => {
    if (msg.type() !== 'error') return;
    const { url, lineNumber, columnNumber } = msg.location();
    const where = url ? `\n    at ${url}:${lineNumber + 1}:${columnNumber + 1}` : '';
    sink.errors.push(`console.error: ${msg.text()}${sourceMappedStack(where)}`);
  });
  page.on('pageerror', (error) => {
    const stack = error.stack ? sourceMappedStack(error.stack) : error.message;
    sink.errors.push(
      `pageerror: ${stack.startsWith(error.name) ? stack : `${error.message}\n${stack}`}`,
    );
  });
  return sink;
}

/** Number of non-transparent pixels of a canvas: a drawn chart has thousands. */
export function paintedPixels(page: Page, selector: string): Promise<number> {
  return page.evaluate((sel) => {
    const canvas = document.querySelector<HTMLCanvasElement>(sel);
    const ctx = canvas?.getContext('2d');
    if (!canvas || !ctx || canvas.width === 0 || canvas.height === 0) return 0;
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
    return painted;
  }, selector);
}

/**
 * Pixels of a canvas close to a CSS colour (given as a custom property of the
 * page): tells candles (up/down colours) from a price line (accent colour).
 */
export function pixelsOfColor(page: Page, selector: string, cssVar: string): Promise<number> {
  return page.evaluate(
    ({ sel, name }) => {
      const canvas = document.querySelector<HTMLCanvasElement>(sel);
      const ctx = canvas?.getContext('2d');
      if (!canvas || !ctx) return 0;
      const probe = document.createElement('canvas').getContext('2d');
      if (!probe) return 0;
      probe.fillStyle = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
      probe.fillRect(0, 0, 1, 1);
      const [r, g, b] = probe.getImageData(0, 0, 1, 1).data;
      const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (
          data[i + 3] > 200 &&
          Math.abs(data[i] - r) < 24 &&
          Math.abs(data[i + 1] - g) < 24 &&
          Math.abs(data[i + 2] - b) < 24
        ) {
          n++;
        }
      }
      return n;
    },
    { sel: selector, name: cssVar },
  );
}
