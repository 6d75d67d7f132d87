import type { Logger } from '@nestjs/common';
import { createClient } from 'redis';
import { BehaviorSubject, type Observable } from 'rxjs';

function makeClient(url: string, name: string) {
  return createClient({
    url,
    name,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 2000,
      reconnectStrategy: (retries: number) => redisReconnectDelay(retries),
    },
  });
}

/** A node-redis client as this code uses it (raw commands, MULTI; RESP3 replies). */
export type RedisConnection = ReturnType<typeof makeClient>;

/** Longest wait between two reconnect attempts (ms): Redis back means data again within ~2 s. */
export const REDIS_RECONNECT_MAX_MS = 2000;

/**
 * The delay before reconnect attempt `retries` (from 0): exponential from
 * 100 ms to {@link REDIS_RECONNECT_MAX_MS} with full jitter (so N gateways
 * cut off together do not knock in the same millisecond), at least 50 ms.
 */
export function redisReconnectDelay(retries: number, random: () => number = Math.random): number {
  const ceiling = Math.min(REDIS_RECONNECT_MAX_MS, 100 * 2 ** Math.min(retries, 16));
  return Math.max(50, Math.floor(random() * ceiling));
}

/** `host:port` of a Redis URL, for logs: never its password. */
export function redisAddress(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || '6379'}`;
}

/** A Redis connection and whether it is usable now. */
export interface ManagedRedis {
  readonly client: RedisConnection;
  /** True while connected and ready, the current value first. */
  readonly up$: Observable<boolean>;
  readonly up: boolean;
  /** Connects (resolves once ready; keeps retrying with backoff until then). */
  connect(): Promise<void>;
  /** Closes for good (pending commands are rejected). */
  close(): Promise<void>;
}

/**
 * A node-redis client the way every bus connection needs it:
 *
 * - an `error` listener (without one an error event kills the process), its
 *   log throttled to one line per state change, not one per retry;
 * - reconnect with jittered backoff, forever (a gateway outlives Redis);
 * - no offline queue: a command while disconnected fails at once instead of
 *   piling up in memory for as long as Redis is away (bounded by design);
 * - `name` shows in `CLIENT LIST` (`tickstream-feed`, `tickstream-gateway-reader`…).
 */
export function createRedis(url: string, name: string, log: Logger): ManagedRedis {
  const up = new BehaviorSubject(false);
  const client = makeClient(url, name);
  const address = redisAddress(url);
  let reportedDown = false;
  client.on('error', (err: unknown) => {
    if (reportedDown) return;
    reportedDown = true;
    log.warn(
      `redis ${address} (${name}): ${err instanceof Error ? err.message || err.name : String(err)}; reconnecting`,
    );
  });
  client.on('ready', () => {
    if (reportedDown) log.log(`redis ${address} (${name}): connected again`);
    reportedDown = false;
    up.next(true);
  });
  client.on('end', () => up.next(false));
  client.on('reconnecting', () => up.next(false));
  return {
    client,
    up$: up.asObservable(),
    get up() {
      return up.value;
    },
    async connect() {
      await client.connect();
    },
    async close() {
      up.next(false);
      if (client.isOpen) await client.close().catch(() => client.destroy());
      up.complete();
    },
  };
}
