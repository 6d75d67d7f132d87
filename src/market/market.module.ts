import { Inject, Module, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { MARKET_FEED, MARKET_SCHEDULER, type MarketFeed } from './market-feed.js';
import { createMarketFeed } from './market-feed.factory.js';
import { MarketStateService } from './market-state.service.js';
import { MarketStatusService } from './market-status.service.js';
import { RecordingService } from './record/recording.service.js';
import { FeedTimeScheduler } from '../bus/feed-time.scheduler.js';

/**
 * The market feed (the simulator, a replay or a live source: FEED), its state and its
 * recording (RECORD_FILE). The feed starts once the whole application is
 * bootstrapped (every subscriber is wired, so no opening tick is lost) and
 * stops when the module is destroyed, leaving no timer behind; the recording
 * is on disk before the module is gone.
 *
 * Tests swap the clock with `.overrideProvider(MARKET_SCHEDULER).useValue(scheduler)`,
 * or the whole feed with `.overrideProvider(MARKET_FEED)`.
 */
@Module({
  providers: [
    {
      provide: MARKET_SCHEDULER,
      inject: [APP_CONFIG],
      // A gateway's windows close on the feed's time (see FeedTimeScheduler), everyone else's
      // on this process's clock.
      useFactory: (config: AppConfig): SchedulerLike =>
        config.role === 'gateway' ? new FeedTimeScheduler() : asyncScheduler,
    },
    {
      provide: MARKET_FEED,
      inject: [APP_CONFIG, MARKET_SCHEDULER],
      // FEED picks the implementation; nothing downstream depends on which.
      useFactory: (config: AppConfig, scheduler: SchedulerLike): Promise<MarketFeed> =>
        createMarketFeed(config, scheduler),
    },
    MarketStateService,
    MarketStatusService,
    RecordingService,
  ],
  exports: [
    MARKET_FEED,
    MARKET_SCHEDULER,
    MarketStateService,
    MarketStatusService,
    RecordingService,
  ],
})
export class MarketModule implements OnApplicationBootstrap, OnModuleDestroy {
  constructor(
    @Inject(MARKET_FEED) private readonly feed: MarketFeed,
    private readonly recording: RecordingService,
  ) {}

  onApplicationBootstrap(): void {
    this.recording.start();
    this.feed.start();
  }

  async onModuleDestroy(): Promise<void> {
    this.feed.stop();
    await this.recording.stop();
  }
}
