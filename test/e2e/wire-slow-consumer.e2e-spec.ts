import type { Server as HttpServer } from 'node:http';
import type { Socket } from 'socket.io';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MarketGateway } from '../../src/gateway/market.gateway.js';
import { type OutboundBacklog, outboundBacklog } from '../../src/gateway/socket-internals.js';
import { MetricsService } from '../../src/metrics/metrics.service.js';
import type { SymbolInfo } from '../../src/shared/market.js';
import type { Quote, SubscribeAck } from '../../src/shared/protocol.js';
import { StreamRegistry } from '../../src/streaming/stream-registry.service.js';
import { closeAllRawSockets, RawSocket, sampleMemory } from '../support/raw-socket.js';
import { encodeEvent } from '../support/socket-io-codec.js';
import {
  closeAllClients,
  connectClient,
  createTestApp,
  elapse,
  type MarketClient,
  requestSubscribe,
  type TestApp,
  waitFor,
} from '../support/test-app.js';

/**
 * Packets, and a packet is one frame per tier window holding all of a client's
 * changed symbols (~27 kB for 82 symbols at 100 ms): 20 is ~2 s of updates.
 */
const MAX_QUEUE = 20;
const GRACE_MS = 2000;
/** The congestion sweep runs every 250 ms; allow that plus scheduling slack on a busy 2-core box. */
const CUTOFF_SLACK_MS = 1500;
/**
 * Loopback TCP buffers (server send buffer up to `tcp_wmem` max, 4 MB here, plus
 * the client's receive window) absorb several MB before Engine.IO's own queue
 * grows at all: at ~800 quotes/s of ~350 B that is ~20 s. Bounded well under
 * the 45 s a missed heartbeat would take to drop the peer anyway.
 */
const FILL_BUDGET_MS = 35_000;
/** Length of each of the two baseline phases. */
const BASELINE_MS = 5000;
const RSS_GROWTH_LIMIT_MB = 40;
const HEAP_GROWTH_LIMIT_MB = 10;

interface Staleness {
  at: number;
  ms: number;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** One client's outbound backlog (Engine.IO's queue + the WebSocket's buffer), as the policy counts it. */
function backlogOf(t: TestApp, sid: string): OutboundBacklog | undefined {
  const gateway = t.app.get<MarketGateway, { server: { sockets: Map<string, Socket> } }>(
    MarketGateway,
  );
  const socket = gateway.server.sockets.get(sid);
  return socket && outboundBacklog(socket);
}

function openConnections(server: HttpServer): Promise<number> {
  return new Promise((resolve, reject) =>
    server.getConnections((err, count) => (err ? reject(err) : resolve(count))),
  );
}

/** Open TCP connections once they are down to `target`, or whatever is open after `timeoutMs`. */
async function settledConnections(
  server: HttpServer,
  target: number,
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let count = await openConnections(server);
  while (count > target && Date.now() < deadline) {
    await elapse(20);
    count = await openConnections(server);
  }
  return count;
}

describe('Slow consumer (e2e)', () => {
  let t: TestApp;
  let healthy: MarketClient;
  const staleness: Staleness[] = [];

  beforeAll(async () => {
    t = await createTestApp({
      FEED_TICKS_PER_SECOND: '20000',
      SLOW_CLIENT_MAX_QUEUE: String(MAX_QUEUE),
      SLOW_CLIENT_GRACE_MS: String(GRACE_MS),
      MAX_SYMBOLS_PER_CLIENT: '1000',
      // Under test here is the backlog cap, not the heartbeat: at the default 10 s + 10 s a
      // ping timeout can cut the stalled client first when the kernel buffers fill slowly
      // (a loaded machine). stalled-reader.e2e-spec.ts covers the defaults.
      PING_INTERVAL_MS: '120000',
      PING_TIMEOUT_MS: '120000',
      // The recovery case fills the pipe with large acks; the rate limiter is not under test here.
      RATE_LIMIT_PER_SEC: '1000',
      RATE_LIMIT_BURST: '1000',
    });
  });
  afterEach(() => closeAllRawSockets());
  afterAll(async () => {
    closeAllRawSockets();
    closeAllClients();
    await t.close();
  });

  it('cuts off a client that stops reading, within grace, without hurting the others', async () => {
    const registry = t.app.get(StreamRegistry);
    const metrics = t.app.get(MetricsService);
    const http = t.app.getHttpServer() as HttpServer;
    const universe = (await (await fetch(`${t.url}/api/symbols`)).json()) as SymbolInfo[];
    const symbols = universe.map((s) => s.symbol);

    healthy = await connectClient(t.url);
    healthy.on('quotes', (batch) => {
      const at = Date.now();
      for (const q of batch) staleness.push({ at, ms: at - q.ts });
    });
    const ack = await requestSubscribe(healthy, { symbols: symbols.slice(0, 10), intervalMs: 100 });
    expect(ack.ok).toBe(true);
    await elapse(1000); // warm-up, not measured

    // Phase 1: baseline without the other client.
    const aloneStart = Date.now();
    await elapse(BASELINE_MS);
    const aloneEnd = Date.now();
    // Let the REST call's keep-alive socket go, then count what stays open.
    await waitFor(() => registry.clientCount() === 1, 1000, 'one client');
    const connectionsBefore = await openConnections(http);

    // Phase 2: a raw client subscribes to everything at 100 ms and reads normally:
    // the baseline with the same fan-out work, so phase 3 measures the stall alone.
    const slow = await RawSocket.connect(t.url);
    const slowSid = await slow.joinNamespace();
    const slowAck = (await slow.request('subscribe', { symbols, intervalMs: 100 })) as SubscribeAck;
    expect(slowAck.ok && slowAck.snapshot.length).toBe(symbols.length);
    slow.recording = false;
    const memoryBefore = sampleMemory();
    const baselineStart = Date.now();
    await elapse(BASELINE_MS);
    const baselineEnd = Date.now();

    // Phase 3: it stops reading.
    slow.pauseReading();
    const stalledAt = Date.now();
    const skipsBefore = metrics.slowClientSkips;

    // Track the slow client's own Engine.IO backlog: when it first went over the cap,
    // and since when it has stayed over (a busy box can push it over for a moment).
    const over: {
      firstAt?: number;
      since?: number;
      backlogAtCap?: { packets: number; bytes: number };
    } = {};
    let peakRssMb = 0;
    const probe = setInterval(() => {
      peakRssMb = Math.max(peakRssMb, process.memoryUsage().rss / 2 ** 20);
      const backlog = backlogOf(t, slowSid);
      if (backlog === undefined) return;
      if (backlog.packets >= MAX_QUEUE) {
        over.since ??= Date.now();
        over.firstAt ??= over.since;
        over.backlogAtCap ??= backlog;
      } else {
        over.since = undefined;
      }
    }, 20);
    try {
      await waitFor(
        () => registry.clientCount() === 1,
        FILL_BUDGET_MS + GRACE_MS + CUTOFF_SLACK_MS,
        'the slow client to be cut off',
      );
      const droppedAt = Date.now();
      clearInterval(probe);
      // The TCP connection itself is gone too, not left draining until a heartbeat timeout.
      const connectionsNow = await settledConnections(http, connectionsBefore, 1000);
      const stalledEnd = Date.now();
      expect(over.since, 'the slow client was over the cap when it was cut off').toBeDefined();
      const congestedAt = over.since ?? NaN;
      const backlogAtCap = over.backlogAtCap;

      const memoryAfter = sampleMemory();
      const baseline = staleness
        .filter((s) => s.at >= baselineStart && s.at < baselineEnd)
        .map((s) => s.ms);
      const stalled = staleness
        .filter((s) => s.at >= stalledAt && s.at < stalledEnd)
        .map((s) => s.ms);
      const alone = staleness.filter((s) => s.at >= aloneStart && s.at < aloneEnd).map((s) => s.ms);
      const p99Alone = percentile(alone, 99);
      const p99Base = percentile(baseline, 99);
      const p99Stalled = percentile(stalled, 99);
      const report = {
        fillMs: (over.firstAt ?? NaN) - stalledAt,
        cutoffAfterCongestionMs: droppedAt - congestedAt,
        skipped: metrics.slowClientSkips - skipsBefore,
        backlogAtCap: backlogAtCap && {
          ...backlogAtCap,
          // The same frames at the default SLOW_CLIENT_MAX_QUEUE of 1000 packets.
          bytesAtDefaultCap: Math.round((backlogAtCap.bytes / backlogAtCap.packets) * 1000),
        },
        stalenessP50: {
          alone: percentile(alone, 50),
          baseline: percentile(baseline, 50),
          stalled: percentile(stalled, 50),
        },
        stalenessP99: { alone: p99Alone, baseline: p99Base, stalled: p99Stalled },
        samples: { alone: alone.length, baseline: baseline.length, stalled: stalled.length },
        rssMb: {
          before: +memoryBefore.rssMb.toFixed(1),
          peak: +peakRssMb.toFixed(1),
          after: +memoryAfter.rssMb.toFixed(1),
        },
        heapAfterGcMb: {
          before: +memoryBefore.heapUsedMb.toFixed(1),
          after: +memoryAfter.heapUsedMb.toFixed(1),
        },
        connections: { before: connectionsBefore, after: connectionsNow },
      };
      console.info(`[slow-consumer] ${JSON.stringify(report)}`);

      expect(droppedAt - congestedAt).toBeLessThanOrEqual(GRACE_MS + CUTOFF_SLACK_MS);
      expect(droppedAt - congestedAt).toBeGreaterThanOrEqual(GRACE_MS - 300);
      expect(connectionsNow).toBeLessThanOrEqual(connectionsBefore);
      expect(baseline.length).toBeGreaterThan(100);
      expect(stalled.length).toBeGreaterThan(100);
      // Within 1.5x (+30 ms for a busy 2-core box) of the same load with everyone reading,
      // and of the healthy client alone.
      expect(p99Stalled).toBeLessThanOrEqual(1.5 * p99Base + 30);
      expect(p99Stalled).toBeLessThanOrEqual(1.5 * p99Alone + 30);
      expect(peakRssMb - memoryBefore.rssMb).toBeLessThan(RSS_GROWTH_LIMIT_MB);
      expect(memoryAfter.heapUsedMb - memoryBefore.heapUsedMb).toBeLessThan(HEAP_GROWTH_LIMIT_MB);
    } finally {
      clearInterval(probe);
    }

    // Once it reads again, the stalled peer finds its connection closed.
    slow.resumeReading();
    await slow.waitForClose(5000);
    // The healthy client never noticed.
    expect(healthy.connected).toBe(true);
    const mark = staleness.length;
    await waitFor(() => staleness.length > mark + 10, 2000, 'the healthy client to keep receiving');
  }, 90_000);

  it('keeps a client that catches up within the grace period, and it gets the latest values', async () => {
    const registry = t.app.get(StreamRegistry);
    const metrics = t.app.get(MetricsService);
    const universe = (await (await fetch(`${t.url}/api/symbols`)).json()) as SymbolInfo[];
    const symbols = universe.map((s) => s.symbol);
    const lagging = await RawSocket.connect(t.url);
    const sid = await lagging.joinNamespace();
    expect(
      ((await lagging.request('subscribe', { symbols, intervalMs: 100 })) as SubscribeAck).ok,
    ).toBe(true);
    lagging.recording = false;
    lagging.pauseReading();
    // Instead of waiting ~20 s for quotes to fill the kernel buffers, fill them with
    // big acks (each subscribe answers a snapshot of every symbol, ~27 kB), 50 at a time.
    const skipsBefore = metrics.slowClientSkips;
    for (let sent = 0; (backlogOf(t, sid)?.packets ?? 0) < MAX_QUEUE; sent += 50) {
      if (sent >= 1000) throw new Error('1000 snapshot acks did not fill the pipe');
      for (let i = 0; i < 50; i++) {
        lagging.send(encodeEvent('subscribe', [{ symbols, intervalMs: 100 }], sent + i));
      }
      await elapse(100);
    }
    await waitFor(
      () => metrics.slowClientSkips > skipsBefore,
      2000,
      'the server to skip an update',
    );

    // Back to reading well within the grace period.
    await elapse(GRACE_MS / 4);
    const resumedAt = Date.now();
    const after: { symbol: string; seq: number; staleMs: number }[] = [];
    lagging.ws.on('message', (data, isBinary) => {
      const text = isBinary ? '' : (data as Buffer).toString('utf8');
      if (!text.startsWith('42/market,["quotes"')) return;
      const at = Date.now();
      const [, batch] = JSON.parse(text.slice('42/market,'.length)) as [string, Quote[]];
      for (const q of batch) after.push({ symbol: q.symbol, seq: q.seq, staleMs: at - q.ts });
    });
    lagging.resumeReading();
    await elapse(GRACE_MS + CUTOFF_SLACK_MS);

    expect(lagging.isClosed).toBe(false);
    expect(registry.clientSymbols(sid).size).toBe(symbols.length);
    // Skipped windows are skipped, not queued: per symbol seq never goes back, and once
    // caught up every symbol is fresh again (the latest value won).
    const bySymbol = new Map<string, { seq: number; staleMs: number }[]>();
    for (const q of after) bySymbol.set(q.symbol, [...(bySymbol.get(q.symbol) ?? []), q]);
    for (const [symbol, quotes] of bySymbol) {
      for (let i = 1; i < quotes.length; i++) {
        expect(quotes[i].seq, symbol).toBeGreaterThanOrEqual(quotes[i - 1].seq);
      }
    }
    const fresh = after.filter((q) => q.staleMs < 250);
    expect(new Set(fresh.map((q) => q.symbol)).size).toBe(symbols.length);
    console.info(
      `[slow-consumer] recovered ${Date.now() - resumedAt} ms after resuming: ` +
        `${after.length} quotes since, ${metrics.slowClientSkips - skipsBefore} updates skipped while congested`,
    );
  });
});
