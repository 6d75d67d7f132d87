import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { AppModule } from '../../src/app.module.js';
import { configureApp } from '../../src/app.setup.js';
import { type AppConfig, parseConfig } from '../../src/config/app-config.js';
import { MARKET_FEED, type MarketFeed } from '../../src/market/market-feed.js';
import {
  type ClientToServerEvents,
  MARKET_NAMESPACE,
  type ServerToClientEvents,
  type SubscribeAck,
  type UnsubscribeAck,
} from '../../src/shared/protocol.js';

export type MarketClient = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface TestApp {
  app: INestApplication;
  url: string;
  config: AppConfig;
  close(): Promise<void>;
}

export interface TestAppOverrides {
  /** Replaces the simulator, e.g. with a ManualFeed so that every tick is the test's own. */
  feed?: MarketFeed;
}

/** Boots the real AppModule on 127.0.0.1, port 0, with a fixed seed. */
export async function createTestApp(
  env: Record<string, string> = {},
  overrides: TestAppOverrides = {},
): Promise<TestApp> {
  const config = parseConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    SEED: '7',
    FEED_TICKS_PER_SECOND: '2000',
    SERVE_DASHBOARD: 'false',
    LOG_LEVEL: 'warn',
    ...env,
  });
  const builder = Test.createTestingModule({ imports: [AppModule.forRoot(config)] });
  if (overrides.feed) builder.overrideProvider(MARKET_FEED).useValue(overrides.feed);
  const moduleRef = await builder.compile();
  const app = moduleRef.createNestApplication({ logger: ['error', 'warn'] });
  configureApp(app, config);
  await app.listen(config.port, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return { app, url, config, close: () => app.close() };
}

const openClients = new Set<MarketClient>();

/** Connects a typed socket.io-client to `/market` and waits for the connection. */
export async function connectClient(
  url: string,
  options: Partial<ManagerOptions & SocketOptions> = {},
): Promise<MarketClient> {
  const socket: MarketClient = io(`${url}${MARKET_NAMESPACE}`, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    ...options,
  });
  openClients.add(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}

/** Disconnects every client opened with {@link connectClient}. */
export function closeAllClients(): void {
  for (const socket of openClients) socket.disconnect();
  openClients.clear();
}

/**
 * Resolves when `predicate` holds (it may be async, e.g. an HTTP probe),
 * polling on a short interval; rejects after `timeoutMs`.
 */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Resolves after `ms` of real time: only where the test is *about* elapsed time. */
export function elapse(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** `subscribe` with an ack, typed (payload `unknown` so tests can send malformed ones). */
export function requestSubscribe(client: MarketClient, req: unknown): Promise<SubscribeAck> {
  return client.timeout(5000).emitWithAck('subscribe', req) as Promise<SubscribeAck>;
}

/** `unsubscribe` with an ack, typed. */
export function requestUnsubscribe(client: MarketClient, req: unknown): Promise<UnsubscribeAck> {
  return client.timeout(5000).emitWithAck('unsubscribe', req) as Promise<UnsubscribeAck>;
}

/** Reads one sample of a Prometheus text exposition: `name{labels} value`. */
export function metricSample(text: string, name: string, labels = ''): number | undefined {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(labels ? `${name}{${labels}}` : `${name} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Scrapes `/metrics` once (with `token` when the app runs with AUTH_TOKENS) and reads one sample. */
export async function scrapeMetric(
  url: string,
  name: string,
  labels = '',
  token?: string,
): Promise<number | undefined> {
  const headers = token ? { Authorization: `Bearer ${token}` } : undefined;
  return metricSample(await (await fetch(`${url}/metrics`, { headers })).text(), name, labels);
}
