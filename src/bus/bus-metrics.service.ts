import { Inject, Injectable, Optional } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { MARKET_FEED, type MarketFeed } from '../market/market-feed.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { BusFeed } from './bus-feed.js';
import { BusPublisher } from './bus-publisher.service.js';

/**
 * The bus's Prometheus metrics, labelled by role: Redis connection state,
 * batches (published, dropped and failed on the feed; received on a
 * gateway), gaps, resyncs, and the bus lag (feed write → gateway receive).
 */
@Injectable()
export class BusMetricsService {
  constructor(
    metrics: MetricsService,
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(MARKET_FEED) feed: MarketFeed,
    @Optional() publisher?: BusPublisher,
  ) {
    const registers = [metrics.registry];
    const role = config.role;
    const gateway = feed instanceof BusFeed ? feed : undefined;
    new Gauge({
      name: 'tickstream_bus_redis_up',
      help: 'Whether the Redis connection of the bus is up (1) or not (0)',
      labelNames: ['role'],
      registers,
      collect() {
        const up = gateway?.redisUp ?? publisher?.redisUp ?? false;
        this.set({ role }, up ? 1 : 0);
      },
    });
    new Counter({
      name: 'tickstream_bus_batches_total',
      help: 'Bus batches by outcome: published, dropped (Redis down or stalled) or failed on the feed; received on a gateway',
      labelNames: ['role', 'outcome'],
      registers,
      collect() {
        this.reset();
        if (publisher) {
          this.inc({ role, outcome: 'published' }, publisher.batchesPublished);
          this.inc({ role, outcome: 'dropped' }, publisher.batchesDropped);
          this.inc({ role, outcome: 'failed' }, publisher.writeFailures);
        }
        if (gateway) this.inc({ role, outcome: 'received' }, gateway.batchesReceived);
      },
    });
    new Counter({
      name: 'tickstream_bus_gaps_total',
      help: 'Batches a gateway found out of sequence (another epoch or a skipped number)',
      labelNames: ['role'],
      registers,
      collect() {
        this.reset();
        if (gateway) this.inc({ role }, gateway.gaps);
      },
    });
    new Counter({
      name: 'tickstream_bus_resyncs_total',
      help: 'Snapshots a gateway read from Redis (at start, after a gap, after a reconnect); on the feed, full rewrites of the snapshot',
      labelNames: ['role'],
      registers,
      collect() {
        this.reset();
        if (gateway) this.inc({ role }, gateway.resyncs);
        if (publisher) this.inc({ role }, publisher.fullWrites);
      },
    });
    if (gateway) {
      const lag = new Histogram({
        name: 'tickstream_bus_lag_seconds',
        help: "Time from the feed writing a batch to this gateway receiving it (the two processes' clocks)",
        labelNames: ['role'],
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
        registers,
      });
      const child = lag.labels({ role });
      gateway.onLag = (seconds) => child.observe(seconds);
    }
  }
}
