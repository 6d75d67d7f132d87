import { Module } from '@nestjs/common';
import { MarketModule } from '../market/market.module.js';
import { StreamingModule } from '../streaming/streaming.module.js';
import { GatewayModule } from '../gateway/gateway.module.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { AsyncApiController } from './asyncapi.controller.js';
import { DebugController } from './debug.controller.js';
import { MetricsController } from './metrics.controller.js';
import { HealthController } from './health.controller.js';
import { MarketController } from './market.controller.js';

@Module({
  imports: [MarketModule, StreamingModule, GatewayModule, MetricsModule],
  controllers: [
    MarketController,
    HealthController,
    MetricsController,
    DebugController,
    AsyncApiController,
  ],
})
export class ApiModule {}
