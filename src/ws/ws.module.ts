import { Module } from '@nestjs/common';
import { FanOutModule } from '../fanout/fanout.module.js';
import { GatewayModule } from '../gateway/gateway.module.js';
import { MarketModule } from '../market/market.module.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { WsEndpoint } from './ws-endpoint.js';

/** The plain WebSocket transport at `/ws`. */
@Module({
  imports: [MarketModule, MetricsModule, FanOutModule, GatewayModule],
  providers: [WsEndpoint],
  exports: [WsEndpoint],
})
export class WsModule {}
