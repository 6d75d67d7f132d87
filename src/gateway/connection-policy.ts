import type { IncomingMessage } from 'node:http';

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/**
 * Browser origin check for HTTP handshakes *and* WebSocket upgrades (CORS
 * does not protect WebSockets: a page on any site may open one). Requests
 * without an Origin header come from non-browser clients and are allowed;
 * token auth, when configured, is what guards those.
 */
export function isOriginAllowed(
  origin: string | undefined,
  host: string | undefined,
  allowed: readonly string[],
): boolean {
  if (origin === undefined || origin === '') return true;
  if (allowed.includes('*')) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (host !== undefined && url.host.toLowerCase() === host.toLowerCase()) return true;
  if (LOCAL_HOSTS.has(url.hostname.toLowerCase())) return true;
  return allowed.some((entry) => entry.toLowerCase() === url.origin.toLowerCase());
}

/** The peer address of a request (no proxy headers are trusted). */
export function remoteAddress(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

/** Counts open connections per IP address to enforce MAX_CONNECTIONS_PER_IP. */
export class ConnectionCounter {
  private readonly counts = new Map<string, number>();

  constructor(private readonly maxPerIp: number) {}

  /** Reserves a slot for `ip`; false when it already holds the maximum. */
  tryAcquire(ip: string): boolean {
    const count = this.counts.get(ip) ?? 0;
    if (this.maxPerIp > 0 && count >= this.maxPerIp) return false;
    this.counts.set(ip, count + 1);
    return true;
  }

  release(ip: string): void {
    const count = this.counts.get(ip) ?? 0;
    if (count <= 1) this.counts.delete(ip);
    else this.counts.set(ip, count - 1);
  }

  get size(): number {
    return this.counts.size;
  }
}
