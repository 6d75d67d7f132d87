import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { MarketStateService } from '../market/market-state.service.js';
import { RecordingService } from '../market/record/recording.service.js';
import { StreamRegistry } from '../streaming/stream-registry.service.js';

/**
 * Prometheus metrics of one application instance (its own registry, so tests
 * can boot several apps in one process). Hot-path counters are plain numbers
 * read at scrape time; only per-update work is a counter increment.
 */
@Injectable()
export class MetricsService implements OnModuleDestroy {
  readonly registry = new Registry();
  private readonly loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });

  /** Connections currently open on `/market` (set by the gateway). */
  connectedClients = 0;
  /** Connections currently open on `/ws` (set by the WebSocket endpoint). */
  wsConnectedClients = 0;
  /**
   * Engine.IO connections holding a per-IP slot (set by the client policy):
   * from the accepted handshake until the transport closes, which can be after
   * the namespace disconnect that `connectedClients` counts.
   */
  transportConnections = 0;
  /** Quotes written to clients (a frame may batch several). */
  quotesSent = 0;
  /** Socket.IO frames written to clients. */
  framesSent = 0;
  /** Updates not written to a client because its outbound queue was over the cap. */
  slowClientSkips = 0;
  /** Updates serialised (once each, however many clients receive them). */
  encodedUpdates = 0;
  /** Throws caught by the fan-out's error boundary (a send, a deferred flush, the sweep). */
  fanOutErrors = 0;

  readonly disconnects: Counter<'reason'>;
  readonly rejectedRequests: Counter<'code'>;
  readonly refusedConnections: Counter<'reason'>;
  readonly staleness: Histogram;
  readonly fanOutDuration: Histogram;

  constructor(
    private readonly state: MarketStateService,
    private readonly streams: StreamRegistry,
    private readonly recording: RecordingService,
  ) {
    this.loopDelay.enable();
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });

    // prom-client calls collect() with the metric as `this`; the service is captured here.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    new Gauge({
      name: 'tickstream_connected_clients',
      help: 'Socket.IO connections open on /market',
      registers,
      collect() {
        this.set(self.connectedClients);
      },
    });
    new Gauge({
      name: 'tickstream_ws_connected_clients',
      help: 'Plain WebSocket connections open on /ws',
      registers,
      collect() {
        this.set(self.wsConnectedClients);
      },
    });
    new Gauge({
      name: 'tickstream_transport_connections',
      help: 'Engine.IO connections open (each holds a MAX_CONNECTIONS_PER_IP slot)',
      registers,
      collect() {
        this.set(self.transportConnections);
      },
    });
    new Gauge({
      name: 'tickstream_subscriptions',
      help: 'Client subscriptions per symbol and tier',
      labelNames: ['symbol', 'tier'],
      registers,
      collect() {
        this.reset();
        for (const p of self.streams.pipelineStats()) {
          this.set({ symbol: p.symbol, tier: String(p.tier) }, p.subscribers);
        }
      },
    });
    new Gauge({
      name: 'tickstream_pipelines',
      help: 'Live (symbol, tier) conflation pipelines',
      registers,
      collect() {
        this.set(self.streams.pipelineCount());
      },
    });
    new Counter({
      name: 'tickstream_ticks_total',
      help: 'Trades received from the feed',
      registers,
      collect() {
        this.reset();
        this.inc(self.state.ticksTotal);
      },
    });
    new Counter({
      name: 'tickstream_updates_published_total',
      help: 'Conflated updates produced (one per symbol, tier and window)',
      registers,
      collect() {
        this.reset();
        this.inc(self.streams.quotesPublished);
      },
    });
    new Counter({
      name: 'tickstream_updates_conflated_total',
      help: 'Ticks superseded inside a window (folded into a later update)',
      registers,
      collect() {
        this.reset();
        this.inc(self.streams.ticksConflated);
      },
    });
    new Counter({
      name: 'tickstream_quotes_sent_total',
      help: 'Quotes written to clients (a frame may carry several)',
      registers,
      collect() {
        this.reset();
        this.inc(self.quotesSent);
      },
    });
    new Counter({
      name: 'tickstream_frames_sent_total',
      help: 'Socket.IO frames written to clients',
      registers,
      collect() {
        this.reset();
        this.inc(self.framesSent);
      },
    });
    new Counter({
      name: 'tickstream_updates_encoded_total',
      help: 'Updates serialised to JSON (once each, then fanned out)',
      registers,
      collect() {
        this.reset();
        this.inc(self.encodedUpdates);
      },
    });
    new Counter({
      name: 'tickstream_fanout_errors_total',
      help: 'Errors caught by the fan-out error boundary (the process carries on)',
      registers,
      collect() {
        this.reset();
        this.inc(self.fanOutErrors);
      },
    });
    new Counter({
      name: 'tickstream_slow_client_skips_total',
      help: 'Updates skipped for clients whose outbound queue was over the cap',
      registers,
      collect() {
        this.reset();
        this.inc(self.slowClientSkips);
      },
    });
    new Counter({
      name: 'tickstream_record_rows_total',
      help: 'Ticks written to RECORD_FILE',
      registers,
      collect() {
        this.reset();
        this.inc(self.recording.rows);
      },
    });
    new Counter({
      name: 'tickstream_record_dropped_total',
      help: 'Ticks not written to RECORD_FILE because the disk fell behind or a write failed',
      registers,
      collect() {
        this.reset();
        this.inc(self.recording.dropped);
      },
    });
    new Gauge({
      name: 'tickstream_record_buffered_bytes',
      help: 'Bytes of RECORD_FILE waiting in memory to be written',
      registers,
      collect() {
        this.set(self.recording.buffered);
      },
    });
    new Gauge({
      name: 'tickstream_event_loop_lag_seconds',
      help: 'Event-loop delay since the last scrape',
      labelNames: ['quantile'],
      registers,
      collect() {
        const h = self.loopDelay;
        this.set({ quantile: '0.5' }, h.percentile(50) / 1e9);
        this.set({ quantile: '0.99' }, h.percentile(99) / 1e9);
        this.set({ quantile: '1' }, h.max / 1e9);
        h.reset();
      },
    });
    this.disconnects = new Counter({
      name: 'tickstream_disconnects_total',
      help: 'Client disconnections by reason',
      labelNames: ['reason'],
      registers,
    });
    this.rejectedRequests = new Counter({
      name: 'tickstream_rejected_requests_total',
      help: 'Socket requests rejected, by error code',
      labelNames: ['code'],
      registers,
    });
    this.refusedConnections = new Counter({
      name: 'tickstream_refused_connections_total',
      help: 'Connections refused, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.staleness = new Histogram({
      name: 'tickstream_staleness_seconds',
      help: 'Age of the last trade in an update when it is broadcast (send time - quote ts)',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.fanOutDuration = new Histogram({
      name: 'tickstream_fanout_duration_seconds',
      help: 'Time from a batch of updates being published to its last frame written, yields between slices included',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
  }

  /** Prometheus text exposition. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  onModuleDestroy(): void {
    this.loopDelay.disable();
    this.registry.clear();
  }
}
