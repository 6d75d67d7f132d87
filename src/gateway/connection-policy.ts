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

/** The part of a TCP socket an {@link UnopenedUpgrades} watches. */
export interface WatchedSocket {
  readonly destroyed: boolean;
  on(event: 'close', listener: () => void): unknown;
  removeListener(event: 'close', listener: () => void): unknown;
}

/**
 * Per-IP slots of admitted WebSocket handshakes that no connection owns yet,
 * each freed when its TCP socket closes. Between admission (Engine.IO's
 * `allowRequest`) and a connection, ws can abort the handshake (a malformed
 * Sec-WebSocket-Key, version, Upgrade or subprotocol header: a 400), find the
 * peer already gone and destroy the socket, or complete it only for Engine.IO
 * to close it (a new handshake naming the polling transport): none of these
 * emits `connection` or `connection_error`, and every one ends with the socket
 * closing. A connection that does open takes the slot over with
 * {@link handOver}, which stops the watch: the listener holds the request
 * alive, and must not outlive the handshake.
 */
export class UnopenedUpgrades<K extends object> {
  private readonly watched = new WeakMap<K, { socket: WatchedSocket; onClose: () => void }>();
  /** Handshakes whose socket closed (slot released) before any connection claimed it. */
  private readonly released = new WeakSet<K>();

  /** Calls `release` once `socket` closes (now, if it is already destroyed), unless handed over first. */
  watch(key: K, socket: WatchedSocket, release: () => void): void {
    const onClose = (): void => {
      socket.removeListener('close', onClose);
      this.watched.delete(key);
      this.released.add(key);
      release();
    };
    if (socket.destroyed) return onClose();
    socket.on('close', onClose);
    this.watched.set(key, { socket, onClose });
  }

  /**
   * A connection opened for `key`: its slot is the connection's to release.
   * False when the socket closed first and the slot is already free (the
   * connection must then not release it a second time); true otherwise,
   * including for a key never watched (a polling handshake).
   */
  handOver(key: K): boolean {
    if (this.released.delete(key)) return false;
    this.unwatch(key);
    return true;
  }

  /** Stops watching `key` without releasing: its slot was released another way. */
  forget(key: K): void {
    this.released.delete(key);
    this.unwatch(key);
  }

  private unwatch(key: K): void {
    const entry = this.watched.get(key);
    if (entry === undefined) return;
    this.watched.delete(key);
    entry.socket.removeListener('close', entry.onClose);
  }
}
