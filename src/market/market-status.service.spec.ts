import { BehaviorSubject, NEVER } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/app-config.js';
import type { FeedState, MarketSession } from '../shared/market.js';
import type { MarketStatus } from '../shared/protocol.js';
import type { MarketFeed } from './market-feed.js';
import { MarketStatusService } from './market-status.service.js';

function setup(feed: Partial<MarketFeed> = {}) {
  const service = new MarketStatusService(
    { ticks$: NEVER, epoch: 'e', instruments: [], start() {}, stop() {}, ...feed },
    parseConfig({}),
  );
  const seen: MarketStatus[] = [];
  service.status$.subscribe((status) => seen.push(status));
  return { service, seen };
}

describe(MarketStatusService.name, () => {
  it('takes a feed that says nothing to be live, around the clock, and never changes', () => {
    const { service, seen } = setup();
    expect(service.current).toEqual({
      feed: 'live',
      source: 'simulated',
      session: 'always',
      halted: [],
      epoch: expect.any(String) as string,
      since: expect.any(Number) as number,
    });
    expect(seen).toEqual([service.current]);
  });

  it('follows the feed’s state and session, emitting each change once', () => {
    const state$ = new BehaviorSubject<FeedState>('connecting');
    const session$ = new BehaviorSubject<MarketSession>('pre');
    const { service, seen } = setup({ state$, session$ });
    state$.next('live');
    state$.next('live');
    session$.next('regular');
    session$.next('regular');
    state$.next('stale');
    expect(seen.map((s) => [s.feed, s.session])).toEqual([
      ['connecting', 'pre'],
      ['live', 'pre'],
      ['live', 'regular'],
      ['stale', 'regular'],
    ]);
    expect(service.current).toMatchObject({ feed: 'stale', session: 'regular' });
    service.onModuleDestroy();
    state$.next('live');
    expect(seen).toHaveLength(4);
  });
});
