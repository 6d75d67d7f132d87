import { Logger } from '@nestjs/common';
import type { SchedulerLike } from 'rxjs';
import type { AppConfig } from '../config/app-config.js';
import { nextSessionChange, nyseSession } from './calendar/nyse-calendar.js';
import { BusFeed } from '../bus/bus-feed.js';
import { FeedTimeScheduler } from '../bus/feed-time.scheduler.js';
import { redisAddress } from '../bus/redis-connection.js';
import { loadInstruments } from './instrument-loader.js';
import type { MarketFeed } from './market-feed.js';
import {
  AlpacaFeed,
  alpacaDefaultSymbols,
  alpacaInstruments,
  alpacaStreamUrl,
} from './live/alpaca-feed.js';
import {
  COINBASE_DEFAULT_PRODUCTS,
  CoinbaseFeed,
  coinbaseInstruments,
} from './live/coinbase-feed.js';
import { MarketSimulator } from './market-simulator.js';
import { ReplayFeed } from './replay/replay-feed.js';
import { replayFormatNamed } from './replay/replay-formats.js';
import type { ReplaySourceOptions } from './replay/replay-reader.js';
import { replayInstruments, scanReplayFileCached } from './replay/replay-scan.js';

/** LULD's windows: a move measured over 5 minutes halts trading for 5 minutes. */
const LULD_HALT = { windowMs: 5 * 60_000, durationMs: 5 * 60_000 } as const;

/** The replay file and format FEED=replay reads (REPLAY_FILE is required with it). */
export function replaySourceOf(config: AppConfig): ReplaySourceOptions {
  if (config.replayFile === undefined) throw new Error('FEED=replay needs REPLAY_FILE');
  return { file: config.replayFile, format: config.replayFormat, symbols: config.feedSymbols };
}

/**
 * The {@link MarketFeed} that `config.feed` names. A replay first scans its
 * whole file (streaming; see scanReplayFile) so the universe is known before
 * the application serves; main.ts has usually done that scan already, to
 * report a bad file cleanly, and it is not repeated.
 */
export async function createMarketFeed(
  config: AppConfig,
  scheduler: SchedulerLike,
): Promise<MarketFeed> {
  if (config.role === 'gateway') {
    // A gateway runs no feed: it follows the cluster's feed through Redis.
    if (config.redisUrl === undefined) throw new Error('ROLE=gateway needs REDIS_URL');
    if (!(scheduler instanceof FeedTimeScheduler)) {
      throw new Error('ROLE=gateway runs its streams on a FeedTimeScheduler');
    }
    const logger = new Logger('BusFeed');
    logger.log(`following the cluster's feed on redis ${redisAddress(config.redisUrl)}`);
    return BusFeed.connect({
      redisUrl: config.redisUrl,
      scheduler,
      staleMs: config.busStaleMs,
      log: logger,
    });
  }
  switch (config.feed) {
    case 'simulated':
      return new MarketSimulator({
        instruments: loadInstruments(config.symbolsFile),
        seed: config.seed,
        ticksPerSecond: config.feedTicksPerSecond,
        scheduler,
        model: { timeScale: config.feedTimeScale },
        calendar:
          config.marketCalendar === 'nyse'
            ? { session: nyseSession, nextChange: nextSessionChange }
            : undefined,
        halts: config.haltBandPct > 0 ? { ...LULD_HALT, bandPct: config.haltBandPct } : undefined,
      });
    case 'replay': {
      const scan = await scanReplayFileCached(replaySourceOf(config));
      const metadata = config.symbolsFile === undefined ? [] : loadInstruments(config.symbolsFile);
      const logger = new Logger('ReplayFeed');
      logger.log(
        `replaying ${scan.file} (${scan.format}): ${scan.rows} rows of ${scan.symbols.length} symbols over ${Math.round(scan.spanMs / 1000)} s of file time, speed ${config.replaySpeed}${config.replayLoop ? ', looping' : ''}`,
      );
      return new ReplayFeed({
        scan,
        instruments: replayInstruments(scan, replayFormatNamed(scan.format).sector, metadata),
        feedSymbols: config.feedSymbols,
        speed: config.replaySpeed,
        loop: config.replayLoop,
        scheduler,
        log: logger,
      });
    }
    case 'coinbase': {
      const products =
        config.feedSymbols.length > 0 ? config.feedSymbols : [...COINBASE_DEFAULT_PRODUCTS];
      const metadata = config.symbolsFile === undefined ? [] : loadInstruments(config.symbolsFile);
      const logger = new Logger('CoinbaseFeed');
      logger.log(`streaming ${products.join(', ')} from ${config.coinbaseWsUrl}`);
      return new CoinbaseFeed({
        url: config.coinbaseWsUrl,
        instruments: coinbaseInstruments(products, metadata),
        scheduler,
        log: logger,
      });
    }
    case 'alpaca': {
      if (config.alpacaKeyId === undefined || config.alpacaSecretKey === undefined) {
        throw new Error('FEED=alpaca needs ALPACA_KEY_ID and ALPACA_SECRET_KEY');
      }
      const symbols =
        config.feedSymbols.length > 0
          ? config.feedSymbols
          : alpacaDefaultSymbols(config.alpacaFeed);
      const url = config.alpacaWsUrl ?? alpacaStreamUrl(config.alpacaFeed);
      const metadata = config.symbolsFile === undefined ? [] : loadInstruments(config.symbolsFile);
      const logger = new Logger('AlpacaFeed');
      // The URL and symbols only: the key id and secret are never logged.
      logger.log(`streaming ${symbols.join(', ')} from ${url}`);
      return new AlpacaFeed({
        url,
        keyId: config.alpacaKeyId,
        secretKey: config.alpacaSecretKey,
        instruments: alpacaInstruments(symbols, metadata),
        scheduler,
        log: logger,
      });
    }
  }
}
