import { Module } from '@nestjs/common';
import { MarketModule } from '../market/market.module.js';
import { StreamRegistry } from './stream-registry.service.js';

/** Conflation pipelines and the client → (symbol, tier) registry the gateway fans out from. */
@Module({
  imports: [MarketModule],
  providers: [StreamRegistry],
  exports: [StreamRegistry],
})
export class StreamingModule {}
