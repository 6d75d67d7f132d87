import { Module } from '@nestjs/common';
import { HealthController } from '../api/health.controller.js';
import { MetricsController } from '../api/metrics.controller.js';
import { ClientPolicyService } from '../gateway/client-policy.service.js';
import { MarketModule } from '../market/market.module.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { BusMetricsService } from './bus-metrics.service.js';
import { BusPublisher } from './bus-publisher.service.js';

/**
 * ROLE=feed: the market feed, its publication to Redis, and only `/health`
 * and `/metrics` (no client is served: gateways serve them).
 */
@Module({
  imports: [MarketModule, MetricsModule],
  controllers: [HealthController, MetricsController],
  // ClientPolicyService: /metrics is behind AUTH_TOKENS like everywhere else.
  providers: [BusPublisher, BusMetricsService, ClientPolicyService],
})
export class BusFeedRoleModule {}

/** ROLE=gateway: the bus's metrics (its feed, a BusFeed, comes from MarketModule). */
@Module({
  imports: [MarketModule, MetricsModule],
  providers: [BusMetricsService],
})
export class BusGatewayRoleModule {}
