import { EventEmitter } from 'node:events';
import { createServer, get, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/app-config.js';
import {
  ClientAddressResolver,
  ConnectionCounter,
  isOriginAllowed,
  UnopenedUpgrades,
} from './connection-policy.js';

describe(isOriginAllowed.name, () => {
  it('allows requests without an Origin (non-browser clients)', () => {
    expect(isOriginAllowed(undefined, 'example.com', [])).toBe(true);
  });
  it('allows the same origin and localhost by default', () => {
    expect(isOriginAllowed('https://ticks.example.com', 'ticks.example.com', [])).toBe(true);
    expect(isOriginAllowed('http://localhost:5173', 'ticks.example.com', [])).toBe(true);
    expect(isOriginAllowed('http://127.0.0.1:9', 'ticks.example.com', [])).toBe(true);
    expect(isOriginAllowed('http://[::1]:3000', 'ticks.example.com', [])).toBe(true);
  });
  it('refuses other sites unless listed', () => {
    expect(isOriginAllowed('https://evil.example', 'ticks.example.com', [])).toBe(false);
    expect(isOriginAllowed('https://app.example', 'h', ['https://app.example'])).toBe(true);
    expect(isOriginAllowed('https://evil.example', 'h', ['https://app.example'])).toBe(false);
    expect(isOriginAllowed('https://evil.example', 'h', ['*'])).toBe(true);
  });
  it('refuses malformed or non-http origins', () => {
    expect(isOriginAllowed('null', 'h', [])).toBe(false);
    expect(isOriginAllowed('file:///etc/passwd', 'h', [])).toBe(false);
    expect(isOriginAllowed('https://localhost.evil.example', 'h', [])).toBe(false);
  });
});

describe(ConnectionCounter.name, () => {
  it('caps connections per IP and frees slots on release', () => {
    const counter = new ConnectionCounter(2);
    expect(counter.tryAcquire('1.1.1.1')).toBe(true);
    expect(counter.tryAcquire('1.1.1.1')).toBe(true);
    expect(counter.tryAcquire('1.1.1.1')).toBe(false);
    expect(counter.tryAcquire('2.2.2.2')).toBe(true);
    counter.release('1.1.1.1');
    expect(counter.tryAcquire('1.1.1.1')).toBe(true);
    counter.release('1.1.1.1');
    counter.release('1.1.1.1');
    counter.release('2.2.2.2');
    expect(counter.size).toBe(0);
  });
  it('treats 0 as unlimited', () => {
    const counter = new ConnectionCounter(0);
    for (let i = 0; i < 1000; i++) expect(counter.tryAcquire('x')).toBe(true);
  });
});

describe(ClientAddressResolver.name, () => {
  /** A resolver trusting `trustProxy`, parsed exactly as TRUST_PROXY is at boot. */
  const resolver = (trustProxy: string): ClientAddressResolver =>
    new ClientAddressResolver(parseConfig({ TRUST_PROXY: trustProxy }).trustProxy);
  /** The client address of a request from `peer` that forwards `forwardedFor`. */
  const client = (
    trustProxy: string,
    peer: string | undefined,
    forwardedFor?: string | string[],
  ): string => {
    const headers: IncomingHttpHeaders = {};
    if (forwardedFor !== undefined) headers['x-forwarded-for'] = forwardedFor;
    return resolver(trustProxy).resolve({ socket: { remoteAddress: peer }, headers });
  };
  const CHAIN = '127.0.0.1,10.0.0.0/8';

  it('trusts nobody when TRUST_PROXY is empty', () => {
    expect(client('', '127.0.0.1', '203.0.113.7')).toBe('127.0.0.1');
    expect(client('', '::1', '203.0.113.7')).toBe('::1');
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', () => {
    expect(client('10.0.0.1', '198.51.100.9', '203.0.113.7')).toBe('198.51.100.9');
  });

  it('takes the forwarded address from a trusted proxy, or its own when it forwards none', () => {
    expect(client('127.0.0.1', '127.0.0.1', '203.0.113.7')).toBe('203.0.113.7');
    expect(client('127.0.0.1', '127.0.0.1', ' 203.0.113.7 ')).toBe('203.0.113.7');
    expect(client('127.0.0.1', '127.0.0.1')).toBe('127.0.0.1');
  });

  it('walks a chain of trusted proxies to the right-most untrusted entry', () => {
    expect(client(CHAIN, '127.0.0.1', '203.0.113.7, 10.1.2.3, 10.0.0.9')).toBe('203.0.113.7');
    // When every hop is a trusted proxy, the left-most is where the request came from.
    expect(client(CHAIN, '10.0.0.1', '10.0.0.3, 10.0.0.2')).toBe('10.0.0.3');
  });

  it('ignores spoofed entries left of the first untrusted one', () => {
    // The client sent "X-Forwarded-For: 10.9.9.9, 192.0.2.1"; nginx appended its real address.
    const forwarded = '10.9.9.9, 192.0.2.1, 203.0.113.7';
    expect(client(CHAIN, '127.0.0.1', forwarded)).toBe('203.0.113.7');
  });

  it('matches IPv6 addresses and CIDRs of either family', () => {
    const mixed = '::1,fd00::/8,192.168.0.0/16';
    for (const [peer, forwarded, expected] of [
      ['::1', '2001:db8::7', '2001:db8::7'],
      ['fd12:3456::1', '203.0.113.7', '203.0.113.7'],
      ['192.168.44.1', '2001:db8::7, fd00::2', '2001:db8::7'],
      ['fe80::1', '203.0.113.7', 'fe80::1'],
      ['192.169.0.1', '203.0.113.7', '192.169.0.1'],
    ]) {
      expect(client(mixed, peer, forwarded)).toBe(expected);
    }
  });

  it('matches IPv4-mapped IPv6 peers against IPv4 entries and reports them as IPv4', () => {
    expect(client(CHAIN, '::ffff:127.0.0.1', '203.0.113.7')).toBe('203.0.113.7');
    expect(client(CHAIN, '::ffff:10.2.3.4', '::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(client('', '::ffff:198.51.100.9')).toBe('198.51.100.9');
  });

  it('writes each IPv6 address one way, so one client holds one per-IP count', () => {
    expect(client(CHAIN, '127.0.0.1', '2001:DB8:0:0::7')).toBe('2001:db8::7');
  });

  it('stops at a malformed entry and uses the last trusted hop', () => {
    for (const garbage of ['unknown', '203.0.113.7:4711', '[2001:db8::7]', '', '999.1.1.1']) {
      expect(client(CHAIN, '127.0.0.1', `198.51.100.1, ${garbage}, 10.0.0.5`)).toBe('10.0.0.5');
      expect(client(CHAIN, '127.0.0.1', garbage)).toBe('127.0.0.1');
    }
  });

  it('reads several X-Forwarded-For headers as one list, right-most last', async () => {
    const chain = resolver(CHAIN);
    expect(client(CHAIN, '127.0.0.1', ['192.0.2.1', '203.0.113.7, 10.0.0.5'])).toBe('203.0.113.7');
    // What Node's HTTP parser makes of two header lines, on a loopback server.
    let seen: { header: unknown; address: string } | undefined;
    const server = createServer((req, res) => {
      seen = { header: req.headers['x-forwarded-for'], address: chain.resolve(req) };
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      await new Promise<void>((resolve, reject) => {
        const headers = { 'X-Forwarded-For': ['192.0.2.1', '203.0.113.7, 10.0.0.5'] };
        get({ host: '127.0.0.1', port, headers, agent: false }, (res) => {
          res.resume();
          res.once('end', resolve);
        }).once('error', reject);
      });
      expect(seen).toEqual({ header: '192.0.2.1, 203.0.113.7, 10.0.0.5', address: '203.0.113.7' });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('reports a request whose socket has closed as unknown', () => {
    expect(client(CHAIN, undefined, '203.0.113.7')).toBe('unknown');
  });
});

describe(UnopenedUpgrades.name, () => {
  /** A TCP socket stand-in: `close` is emitted by the test. */
  class FakeSocket extends EventEmitter {
    destroyed = false;
    close(): void {
      this.destroyed = true;
      this.emit('close');
    }
  }

  function setup() {
    const upgrades = new UnopenedUpgrades<object>();
    const key = {};
    const socket = new FakeSocket();
    let released = 0;
    upgrades.watch(key, socket, () => released++);
    return { upgrades, key, socket, released: () => released };
  }

  it('releases once when the socket of a handshake nobody took over closes', () => {
    const { socket, released } = setup();
    expect(released()).toBe(0);
    socket.close();
    socket.close();
    expect(released()).toBe(1);
    expect(socket.listenerCount('close')).toBe(0);
  });

  it('leaves the slot to the connection that takes it over, and stops listening', () => {
    const { upgrades, key, socket, released } = setup();
    expect(upgrades.handOver(key)).toBe(true);
    expect(socket.listenerCount('close')).toBe(0);
    socket.close();
    expect(released()).toBe(0);
  });

  it('tells a connection that opens after its socket closed that the slot is already free', () => {
    const { upgrades, key, socket, released } = setup();
    socket.close();
    expect(upgrades.handOver(key)).toBe(false);
    expect(released()).toBe(1);
    // Said once: the key is forgotten after.
    expect(upgrades.handOver(key)).toBe(true);
  });

  it('releases at once for a socket already destroyed (its close may have been emitted)', () => {
    const upgrades = new UnopenedUpgrades<object>();
    const socket = new FakeSocket();
    socket.destroyed = true;
    let released = 0;
    upgrades.watch({}, socket, () => released++);
    expect(released).toBe(1);
    expect(socket.listenerCount('close')).toBe(0);
  });

  it('hands over keys it never watched (polling handshakes) and forgets without releasing', () => {
    const { upgrades, key, socket, released } = setup();
    expect(upgrades.handOver({})).toBe(true);
    upgrades.forget(key);
    socket.close();
    expect(released()).toBe(0);
    expect(socket.listenerCount('close')).toBe(0);
  });
});
