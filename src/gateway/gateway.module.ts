import { Module } from '@nestjs/common';
import { MarketModule } from '../market/market.module.js';
import { StreamingModule } from '../streaming/streaming.module.js';
import { MarketGateway } from './market.gateway.js';

@Module({
  imports: [MarketModule, StreamingModule],
  providers: [MarketGateway],
  exports: [MarketGateway],
})
export class GatewayModule {}
