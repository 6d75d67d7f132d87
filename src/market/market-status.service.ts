import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { BehaviorSubject, type Observable, type Subscription } from 'rxjs';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import type { MarketStatus } from '../shared/protocol.js';
import { MARKET_FEED, type MarketFeed } from './market-feed.js';

/** Same status: the same feed state, source, session and halted symbols in the same order. */
function sameStatus(a: MarketStatus, b: MarketStatus): boolean {
  return (
    a.feed === b.feed &&
    a.epoch === b.epoch &&
    a.reason === b.reason &&
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
 * The feed state follows the feed's `state$` (with `since` the time it
 * entered it, and the feed's `reason$`), the epoch the feed's, the session its `session$`
 * (the simulator's calendar; `always` for a feed without one), the halted
 * symbols its `halted$` (the simulator's halts).
 */
@Injectable()
export class MarketStatusService implements OnModuleDestroy {
  private readonly subject: BehaviorSubject<MarketStatus>;
  private readonly subscriptions: Subscription[] = [];
  /** The current status first, then each change (never a repeat). */
  readonly status$: Observable<MarketStatus>;

  constructor(
    @Inject(MARKET_FEED) private readonly feed: MarketFeed,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.subject = new BehaviorSubject<MarketStatus>({
      feed: feed.state ?? 'live',
      source: feed.sourceName ?? config.feed,
      session: 'always',
      halted: [],
      epoch: feed.epoch,
      since: Date.now(),
    });
    this.status$ = this.subject.asObservable();
    if (feed.state$) {
      this.subscriptions.push(
        feed.state$.subscribe((feedState) => this.update({ feed: feedState })),
      );
    }
    if (feed.reason$) {
      this.subscriptions.push(feed.reason$.subscribe((reason) => this.update({ reason })));
    }
    // A new epoch: a gateway's resync, or a replay starting its file again (seq 1).
    if (feed.resync$) {
      this.subscriptions.push(feed.resync$.subscribe(() => this.update({})));
    }
    this.subscriptions.push(
      feed.ticks$.subscribe((tick) => {
        if (tick.seq === 1 && feed.epoch !== this.subject.value.epoch) this.update({});
      }),
    );
    if (feed.halted$) {
      this.subscriptions.push(
        feed.halted$.subscribe((halted) => this.update({ halted: [...halted] })),
      );
    }
    if (feed.session$) {
      this.subscriptions.push(feed.session$.subscribe((session) => this.update({ session })));
    }
  }

  /** The status now. */
  get current(): MarketStatus {
    return this.subject.value;
  }

  onModuleDestroy(): void {
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    this.subject.complete();
  }

  /** Applies a change (the epoch is always read afresh); a new feed state restarts `since`. */
  private update(change: Partial<MarketStatus>): void {
    const current = this.subject.value;
    const next: MarketStatus = { ...current, ...change, epoch: this.feed.epoch };
    if (next.reason === undefined) delete next.reason;
    if (next.feed !== current.feed) next.since = Date.now();
    if (!sameStatus(next, current)) this.subject.next(next);
  }
}
