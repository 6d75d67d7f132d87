import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Test, type TestingModule } from '@nestjs/testing';
import { asyncScheduler, filter, firstValueFrom, VirtualTimeScheduler } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { type AppConfig, parseConfig } from '../config/app-config.js';
import { ConfigModule } from '../config/config.module.js';
import { DEFAULT_INSTRUMENTS } from './instruments.js';
import { MARKET_FEED, MARKET_SCHEDULER } from './market-feed.js';
import { MarketSimulator } from './market-simulator.js';
import { MarketStateService } from './market-state.service.js';
import { MarketStatusService } from './market-status.service.js';
import { MarketModule } from './market.module.js';
import { ReplayFeed } from './replay/replay-feed.js';
import { ReplayFileError } from './replay/replay-file.error.js';

const REPLAY_FIXTURES = join(import.meta.dirname, '../../test/fixtures/replay');

function config(overrides: Partial<AppConfig> = {}): AppConfig {
  return { ...parseConfig({}), seed: 7, feedTicksPerSecond: 1000, ...overrides };
}

let app: TestingModule | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function boot(
  appConfig: AppConfig,
  scheduler?: VirtualTimeScheduler,
): Promise<TestingModule> {
  let builder = Test.createTestingModule({
    imports: [ConfigModule.forRoot(appConfig), MarketModule],
  });
  if (scheduler) builder = builder.overrideProvider(MARKET_SCHEDULER).useValue(scheduler);
  app = await builder.compile();
  await app.init();
  return app;
}

describe(MarketModule.name, () => {
  it('builds the simulator from the config and starts it once the app is bootstrapped', async () => {
    const scheduler = new VirtualTimeScheduler();
    const moduleRef = await boot(config(), scheduler);
    const feed = moduleRef.get<MarketSimulator>(MARKET_FEED);
    const state = moduleRef.get(MarketStateService);
    expect(feed).toBeInstanceOf(MarketSimulator);
    expect(moduleRef.get(MARKET_SCHEDULER)).toBe(scheduler);
    expect(feed.running).toBe(true);
    expect(state.epoch).toBe(feed.epoch);
    expect(state.instruments()).toEqual(DEFAULT_INSTRUMENTS);
    // Every symbol has a value from the first instant.
    expect(DEFAULT_INSTRUMENTS.every((i) => state.lastTick(i.symbol)?.seq === 1)).toBe(true);

    scheduler.maxFrames = 2000;
    scheduler.flush();
    expect(state.ticksTotal).toBeGreaterThan(DEFAULT_INSTRUMENTS.length + 1500);
    expect(state.ticksTotal).toBe(feed.ticksEmitted);
  });

  it('stops the feed and leaves no timer on close', async () => {
    const scheduler = new VirtualTimeScheduler();
    const moduleRef = await boot(config(), scheduler);
    const feed = moduleRef.get<MarketSimulator>(MARKET_FEED);
    await moduleRef.close();
    app = undefined;
    expect(feed.running).toBe(false);
    expect(scheduler.actions).toHaveLength(0);
  });

  it('runs on the real asyncScheduler by default', async () => {
    const moduleRef = await boot(config());
    const feed = moduleRef.get<MarketSimulator>(MARKET_FEED);
    expect(moduleRef.get(MARKET_SCHEDULER)).toBe(asyncScheduler);
    expect(feed.running).toBe(true);
    await moduleRef.close();
    app = undefined;
    expect(feed.running).toBe(false);
  });

  it('loads the universe from SYMBOLS_FILE when configured', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tickstream-module-'));
    try {
      const file = join(dir, 'universe.json');
      writeFileSync(
        file,
        JSON.stringify({
          instruments: [
            {
              symbol: 'abc',
              name: 'ABC Co.',
              sector: 'X',
              refPrice: 10,
              volatility: 0.2,
              tradeIntensity: 1,
            },
          ],
        }),
      );
      const moduleRef = await boot(config({ symbolsFile: file }), new VirtualTimeScheduler());
      const state = moduleRef.get(MarketStateService);
      expect(state.instruments().map((i) => i.symbol)).toEqual(['ABC']);
      expect(state.snapshot('ABC')).toMatchObject({ symbol: 'ABC', seq: 1, prevClose: 10 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('builds a replay from FEED=replay: the universe from the file, closed after its last row', async () => {
    const file = join(REPLAY_FIXTURES, 'massive-trades.csv.gz');
    const moduleRef = await boot(
      config({
        feed: 'replay',
        replayFile: file,
        replaySpeed: 'max',
        feedSymbols: ['MSFT', 'AAPL'],
      }),
      new VirtualTimeScheduler(),
    );
    const feed = moduleRef.get<ReplayFeed>(MARKET_FEED);
    const state = moduleRef.get(MarketStateService);
    expect(feed).toBeInstanceOf(ReplayFeed);
    expect(
      state.instruments().map(({ symbol, name, sector }) => ({ symbol, name, sector })),
    ).toEqual([
      { symbol: 'MSFT', name: 'MSFT', sector: 'Stocks' },
      { symbol: 'AAPL', name: 'AAPL', sector: 'Stocks' },
    ]);
    await firstValueFrom(feed.state$.pipe(filter((s) => s === 'closed')));
    expect(moduleRef.get(MarketStatusService).current).toEqual({
      feed: 'closed',
      source: 'replay',
      session: 'always',
      halted: [],
      epoch: feed.epoch,
      since: expect.any(Number) as number,
    });
    expect(state.ticksTotal).toBe(feed.ticksEmitted);
    // The first trade's price, in the whole cents MarketStateService keeps prevClose in.
    const prevClose = Math.round(state.instrument('AAPL')!.refPrice * 100) / 100;
    expect(state.snapshot('AAPL')).toMatchObject({ symbol: 'AAPL', prevClose });
    expect(state.lastTick('BRK.B')).toBeUndefined();
  });

  it('refuses to build a replay of a bad file, naming the file and line', async () => {
    const file = join(REPLAY_FIXTURES, 'bad-row.csv');
    await expect(boot(config({ feed: 'replay', replayFile: file }))).rejects.toThrow(
      new ReplayFileError(file, [{ line: 4, message: 'price: expected a number, got "abc"' }]),
    );
  });
});
