import { Module } from '@nestjs/common';
import { MarketModule } from '../market/market.module.js';
import { StreamingModule } from '../streaming/streaming.module.js';
import { HealthController } from './health.controller.js';
import { MarketController } from './market.controller.js';

@Module({
  imports: [MarketModule, StreamingModule],
  controllers: [MarketController, HealthController],
})
export class ApiModule {}
