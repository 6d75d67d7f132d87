import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { BehaviorSubject, distinctUntilChanged, type Observable, type Subscription } from 'rxjs';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import type { FeedState } from '../shared/market.js';
import type { MarketStatus } from '../shared/protocol.js';
import { MARKET_FEED, type MarketFeed } from './market-feed.js';

/** Same status: the same feed state, source, session and halted symbols in the same order. */
function sameStatus(a: MarketStatus, b: MarketStatus): boolean {
  return (
    a.feed === b.feed &&
    a.source === b.source &&
    a.session === b.session &&
    a.halted.length === b.halted.length &&
    a.halted.every((symbol, i) => symbol === b.halted[i])
  );
}

/**
 * The market's state as every client sees it (the `status` event, `/ws`'s
 * `status` message, `GET /api/status`, `/health`): the feed's state, its
 * source (FEED), the session and the halted symbols. One place holds it;
 * the transports send it on connect and broadcast each change, encoded once.
 *
 * The session is `always` and nothing is halted until the market calendar
 * (MARKET_CALENDAR=nyse) and simulated halts exist; the feed state follows
 * the feed's `state$`.
 */
@Injectable()
export class MarketStatusService implements OnModuleDestroy {
  private readonly subject: BehaviorSubject<MarketStatus>;
  private readonly subscription: Subscription | undefined;
  /** The current status first, then each change (never a repeat). */
  readonly status$: Observable<MarketStatus>;

  constructor(@Inject(MARKET_FEED) feed: MarketFeed, @Inject(APP_CONFIG) config: AppConfig) {
    this.subject = new BehaviorSubject<MarketStatus>({
      feed: feed.state ?? 'live',
      source: config.feed,
      session: 'always',
      halted: [],
    });
    this.status$ = this.subject.pipe(distinctUntilChanged(sameStatus));
    this.subscription = feed.state$?.subscribe((state) => this.setFeedState(state));
  }

  /** The status now. */
  get current(): MarketStatus {
    return this.subject.value;
  }

  onModuleDestroy(): void {
    this.subscription?.unsubscribe();
    this.subject.complete();
  }

  private setFeedState(feed: FeedState): void {
    const current = this.subject.value;
    if (current.feed !== feed) this.subject.next({ ...current, feed });
  }
}
