import { Module } from '@nestjs/common';
import { FanOutModule } from '../fanout/fanout.module.js';
import { MarketModule } from '../market/market.module.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { StreamingModule } from '../streaming/streaming.module.js';
import { ClientPolicyService } from './client-policy.service.js';
import { MarketGateway } from './market.gateway.js';

@Module({
  imports: [MarketModule, StreamingModule, MetricsModule, FanOutModule],
  providers: [MarketGateway, ClientPolicyService],
  exports: [MarketGateway, ClientPolicyService],
})
export class GatewayModule {}
