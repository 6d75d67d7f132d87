import { Controller, Get, Inject, Optional } from '@nestjs/common';
import { BusPublisher } from '../bus/bus-publisher.service.js';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { MarketStateService } from '../market/market-state.service.js';
import { MarketStatusService } from '../market/market-status.service.js';
import type { FeedState, HealthResponse } from '../shared/market.js';
import { MetricsService } from '../metrics/metrics.service.js';

/** Feed states in which prices are not live for a reason worth an operator's look. */
const DEGRADED_STATES: ReadonlySet<FeedState> = new Set(['stale', 'reconnecting', 'down']);

@Controller()
export class HealthController {
  private readonly startedAt = Date.now();

  constructor(
    private readonly state: MarketStateService,
    private readonly metrics: MetricsService,
    private readonly status: MarketStatusService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    // Only ROLE=feed has one.
    @Optional() private readonly publisher?: BusPublisher,
  ) {}

  @Get('health')
  health(): HealthResponse {
    const status = this.status.current;
    let reason: string | undefined;
    if (this.publisher !== undefined && !this.publisher.redisUp) {
      reason = 'redis unreachable';
    } else if (DEGRADED_STATES.has(status.feed)) {
      reason = status.reason ?? `feed ${status.feed}`;
    }
    return {
      status: reason === undefined ? 'ok' : 'degraded',
      ...(reason === undefined ? {} : { reason }),
      role: this.config.role,
      uptimeSec: Math.round((Date.now() - this.startedAt) / 1000),
      symbols: this.state.instruments().length,
      clients: this.metrics.connectedClients,
      ticksTotal: this.state.ticksTotal,
      feed: status.feed,
      source: status.source,
      session: status.session,
    };
  }
}
