import type { IncomingHttpHeaders } from 'node:http';
import { BlockList, isIP, SocketAddress } from 'node:net';
import type { TrustedProxy } from '../config/app-config.js';

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

/** What a request whose socket has already closed is counted and logged as. */
const UNKNOWN_ADDRESS = 'unknown';

/** The parts of a request that say where it came from (an `IncomingMessage` has them). */
export interface AddressedRequest {
  readonly socket: { readonly remoteAddress?: string | undefined };
  readonly headers: IncomingHttpHeaders;
}

/**
 * Finds a request's client address: its TCP peer, unless that peer is a
 * trusted reverse proxy (TRUST_PROXY), in which case X-Forwarded-For is walked
 * from the right, each proxy having appended the address it saw, and the first
 * entry that is not itself a trusted proxy is the client. Entries to the left
 * of it were written by the client and are never believed.
 */
export class ClientAddressResolver {
  /** Undefined when nobody is trusted: the headers are then never read. */
  private readonly trusted: BlockList | undefined;

  constructor(proxies: readonly TrustedProxy[]) {
    if (proxies.length === 0) return;
    const trusted = new BlockList();
    for (const { address, family, prefix } of proxies) {
      if (prefix === undefined) trusted.addAddress(address, family);
      else trusted.addSubnet(address, prefix, family);
    }
    this.trusted = trusted;
  }

  /** The client address of `req`, canonical (IPv4-mapped IPv6 peers as plain IPv4). */
  resolve(req: AddressedRequest): string {
    const peer = req.socket.remoteAddress;
    if (peer === undefined) return UNKNOWN_ADDRESS;
    let hop = canonicalAddress(peer) ?? peer;
    if (!this.isTrusted(hop)) return hop;
    const header = req.headers['x-forwarded-for'];
    if (header === undefined) return hop;
    // Node joins repeated X-Forwarded-For headers with ", "; an array is joined the same way.
    const entries = (Array.isArray(header) ? header.join(',') : header).split(',');
    for (let i = entries.length - 1; i >= 0; i--) {
      const address = canonicalAddress(entries[i].trim());
      // A malformed entry means the chain cannot be read further: the last trusted hop
      // is the best address known (it made the bad entry or passed it on).
      if (address === undefined) return hop;
      hop = address;
      if (!this.isTrusted(hop)) return hop;
    }
    // Every hop was a trusted proxy: the left-most one is where the request came from.
    return hop;
  }

  private isTrusted(address: string): boolean {
    const version = isIP(address);
    if (this.trusted === undefined || version === 0) return false;
    return this.trusted.check(address, version === 4 ? 'ipv4' : 'ipv6');
  }
}

const IPV4_MAPPED = /^::ffff:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/;

/**
 * One spelling per address, so one client holds one per-IP count: IPv6 in
 * Node's canonical form (lower case, zeros compressed) and IPv4-mapped IPv6
 * (a dual-stack listener's view of an IPv4 peer) as plain IPv4. Undefined
 * when `text` is not an IP address.
 */
function canonicalAddress(text: string): string | undefined {
  const version = isIP(text);
  if (version === 4) return text;
  if (version === 0) return undefined;
  const canonical = new SocketAddress({ address: text, family: 'ipv6' }).address;
  const mapped = IPV4_MAPPED.exec(canonical);
  return mapped ? mapped[1] : canonical;
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
