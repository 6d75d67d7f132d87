import { Inject, Module, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { MARKET_FEED, MARKET_SCHEDULER, type MarketFeed } from './market-feed.js';
import { createMarketFeed } from './market-feed.factory.js';
import { MarketStateService } from './market-state.service.js';

/**
 * The market feed (the simulator, or a replay: FEED) and its state. The feed starts once the whole application
 * is bootstrapped (every subscriber is wired, so no opening tick is lost) and
 * stops when the module is destroyed, leaving no timer behind.
 *
 * Tests swap the clock with `.overrideProvider(MARKET_SCHEDULER).useValue(scheduler)`,
 * or the whole feed with `.overrideProvider(MARKET_FEED)`.
 */
@Module({
  providers: [
    { provide: MARKET_SCHEDULER, useValue: asyncScheduler },
    {
      provide: MARKET_FEED,
      inject: [APP_CONFIG, MARKET_SCHEDULER],
      // FEED picks the implementation; nothing downstream depends on which.
      useFactory: (config: AppConfig, scheduler: SchedulerLike): Promise<MarketFeed> =>
        createMarketFeed(config, scheduler),
    },
    MarketStateService,
  ],
  exports: [MARKET_FEED, MARKET_SCHEDULER, MarketStateService],
})
export class MarketModule implements OnApplicationBootstrap, OnModuleDestroy {
  constructor(@Inject(MARKET_FEED) private readonly feed: MarketFeed) {}

  onApplicationBootstrap(): void {
    this.feed.start();
  }

  onModuleDestroy(): void {
    this.feed.stop();
  }
}
