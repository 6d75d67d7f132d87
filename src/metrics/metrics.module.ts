import { Module } from '@nestjs/common';
import { MarketModule } from '../market/market.module.js';
import { StreamingModule } from '../streaming/streaming.module.js';
import { MetricsService } from './metrics.service.js';

@Module({
  imports: [MarketModule, StreamingModule],
  providers: [MetricsService],
  exports: [MetricsService],
})
export class MetricsModule {}
