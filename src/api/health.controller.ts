import { Controller, Get } from '@nestjs/common';
import { MarketStateService } from '../market/market-state.service.js';
import { MarketStatusService } from '../market/market-status.service.js';
import type { HealthResponse } from '../shared/market.js';
import { MetricsService } from '../metrics/metrics.service.js';

@Controller()
export class HealthController {
  private readonly startedAt = Date.now();

  constructor(
    private readonly state: MarketStateService,
    private readonly metrics: MetricsService,
    private readonly status: MarketStatusService,
  ) {}

  @Get('health')
  health(): HealthResponse {
    return {
      status: 'ok',
      uptimeSec: Math.round((Date.now() - this.startedAt) / 1000),
      symbols: this.state.instruments().length,
      clients: this.metrics.connectedClients,
      ticksTotal: this.state.ticksTotal,
      feed: this.status.current.feed,
      source: this.status.current.source,
      session: this.status.current.session,
    };
  }
}
