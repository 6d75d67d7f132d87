import { Module } from '@nestjs/common';
import { MarketModule } from '../market/market.module.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { StreamingModule } from '../streaming/streaming.module.js';
import { ControlSessionService } from './control-session.service.js';
import { SubscriptionHub } from './subscription-hub.js';

/** The transport-neutral core: the subscription hub and the control session rules. */
@Module({
  imports: [MarketModule, StreamingModule, MetricsModule],
  providers: [SubscriptionHub, ControlSessionService],
  exports: [SubscriptionHub, ControlSessionService],
})
export class FanOutModule {}
