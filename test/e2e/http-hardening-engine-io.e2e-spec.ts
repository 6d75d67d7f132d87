import { type IncomingHttpHeaders, type OutgoingHttpHeaders, request } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { EngineOpen } from '../support/raw-socket.js';
import { decodeEioPacket, EIO } from '../support/socket-io-codec.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One HTTP request with `node:http` (no headers of its own beyond Host), on its own connection. */
function send(
  url: string,
  options: { method?: string; headers?: OutgoingHttpHeaders; body?: string } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? 'GET', headers: options.headers, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The response to a WebSocket handshake: the 101's headers, or the refusal's status, headers and body. */
function upgrade(url: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, 'ws'), { headers, perMessageDeflate: false });
    ws.on('upgrade', (res) => {
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' });
      ws.terminate();
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        ws.terminate();
      });
    });
    ws.on('error', reject);
  });
}

/** What every response Engine.IO writes must carry, whatever its status. */
function expectHardened(res: RawResponse, what: string): void {
  expect(res.headers['x-content-type-options'], what).toBe('nosniff');
  expect(res.headers['cross-origin-resource-policy'], what).toBe('same-origin');
  expect(res.headers['content-security-policy'], what).toBe(
    "default-src 'none'; frame-ancestors 'none'",
  );
  expect(res.headers['x-frame-options'], what).toBe('DENY');
  expect(res.headers['x-powered-by'], what).toBeUndefined();
}

const POLLING = '/socket.io/?EIO=4&transport=polling';
const WEBSOCKET = '/socket.io/?EIO=4&transport=websocket';

describe('HTTP hardening of Engine.IO responses (e2e)', () => {
  let t: TestApp;
  const sockets: WebSocket[] = [];

  /** A fresh polling handshake: its response and session id. */
  async function handshake(): Promise<{ res: RawResponse; sid: string }> {
    const res = await send(`${t.url}${POLLING}`);
    expect(res.status).toBe(200);
    const packet = decodeEioPacket(res.body);
    expect(packet.type).toBe(EIO.OPEN);
    return { res, sid: (JSON.parse(packet.data) as EngineOpen).sid };
  }

  beforeAll(async () => {
    // A small payload limit so that the 413 is cheap to provoke.
    t = await createTestApp({ MAX_PAYLOAD_BYTES: '4096' });
  });
  afterEach(() => {
    for (const ws of sockets.splice(0)) ws.terminate();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('on the long-polling handshake and on polling GETs and POSTs of a session', async () => {
    const { res, sid } = await handshake();
    expectHardened(res, 'handshake');
    // Engine.IO's own header survives next to ours.
    expect(res.headers['cache-control']).toBe('no-store');

    // A namespace CONNECT posted, then the poll that carries the server's answer.
    const post = await send(`${t.url}${POLLING}&sid=${sid}`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
      body: '40/market,',
    });
    expect(post.status).toBe(200);
    expect(post.body).toBe('ok');
    expectHardened(post, 'POST data');

    const poll = await send(`${t.url}${POLLING}&sid=${sid}`);
    expect(poll.status).toBe(200);
    expect(poll.body).toMatch(/^40\/market,/);
    expectHardened(poll, 'GET poll');
  });

  it("on Engine.IO's refusals of polling requests", async () => {
    const { sid } = await handshake();
    const cases: [string, string, Parameters<typeof send>[1], number][] = [
      ['unknown transport', '/socket.io/?EIO=4&transport=bogus', {}, 400],
      ['unknown session id', `${POLLING}&sid=AAAAAAAAAAAAAAAAAAAA`, {}, 400],
      ['handshake by POST', POLLING, { method: 'POST', body: '' }, 400],
      ['unsupported protocol version', '/socket.io/?EIO=3&transport=polling', {}, 400],
      // Refused by our origin middleware: ours must run before it.
      ['foreign Origin', POLLING, { headers: { Origin: 'http://evil.example' } }, 400],
      ['method neither GET nor POST', `${POLLING}&sid=${sid}`, { method: 'PUT' }, 500],
      [
        'body over MAX_PAYLOAD_BYTES',
        `${POLLING}&sid=${sid}`,
        { method: 'POST', body: `4${'x'.repeat(8192)}` },
        413,
      ],
    ];
    for (const [what, path, options, status] of cases) {
      const res = await send(`${t.url}${path}`, options);
      expect(res.status, what).toBe(status);
      expectHardened(res, what);
    }
  });

  it('on the 403 of a handshake allowRequest refuses', async () => {
    const limited = await createTestApp({ MAX_CONNECTIONS_PER_IP: '1' });
    try {
      const first = await send(`${limited.url}${POLLING}`);
      expect(first.status).toBe(200);
      const refused = await send(`${limited.url}${POLLING}`);
      expect(refused.status).toBe(403);
      expect(JSON.parse(refused.body)).toEqual({
        code: 4,
        message: 'too many connections from this address',
      });
      expectHardened(refused, '403');
    } finally {
      await limited.close();
    }
  });

  it('on both responses of an overlapping poll', async () => {
    const { sid } = await handshake();
    // Whichever poll arrives second overlaps the first: a 400, and the session closes,
    // which answers the first one.
    const polls = await Promise.all([
      send(`${t.url}${POLLING}&sid=${sid}`),
      send(`${t.url}${POLLING}&sid=${sid}`),
    ]);
    expect(polls.map((r) => r.status).sort()).toEqual([200, 400]);
    for (const res of polls) expectHardened(res, `poll answered ${res.status}`);
  });

  it("on the 101 of a WebSocket handshake, direct and as a polling session's upgrade", async () => {
    const direct = await upgrade(`${t.url}${WEBSOCKET}`);
    expect(direct.status).toBe(101);
    expectHardened(direct, 'direct WebSocket');

    const { sid } = await handshake();
    const upgraded = await upgrade(`${t.url}${WEBSOCKET}&sid=${sid}`);
    expect(upgraded.status).toBe(101);
    expectHardened(upgraded, 'upgrade of a polling session');
  });

  it('on the refusals Engine.IO writes on the socket of a WebSocket upgrade', async () => {
    const { sid } = await handshake();
    const cases: [string, string, Record<string, string>, string][] = [
      ['foreign Origin', WEBSOCKET, { Origin: 'http://evil.example' }, 'Bad request'],
      ['unknown session id', `${WEBSOCKET}&sid=AAAAAAAAAAAAAAAAAAAA`, {}, 'Session ID unknown'],
      ['unknown transport', '/socket.io/?EIO=4&transport=bogus', {}, 'Transport unknown'],
      ['protocol mismatch', `/socket.io/?EIO=3&transport=websocket&sid=${sid}`, {}, 'Bad request'],
    ];
    for (const [what, path, headers, body] of cases) {
      const res = await upgrade(`${t.url}${path}`, headers);
      expect(res.status, what).toBe(400);
      expect(res.body, what).toBe(body);
      expect(res.headers['content-type'], what).toBe('text/plain; charset=utf-8');
      expect(res.headers.connection, what).toBe('close');
      expectHardened(res, what);
    }
  });

  it('still answers the refusal of an upgrade whose per-IP slot is taken', async () => {
    const limited = await createTestApp({ MAX_CONNECTIONS_PER_IP: '1' });
    try {
      const first = new WebSocket(`${limited.url.replace(/^http/, 'ws')}${WEBSOCKET}`);
      sockets.push(first);
      await new Promise((resolve, reject) => first.once('open', resolve).once('error', reject));
      const refused = await upgrade(`${limited.url}${WEBSOCKET}`);
      expect(refused.status).toBe(400);
      expect(refused.body).toBe('too many connections from this address');
      expectHardened(refused, 'per-IP refusal');
    } finally {
      await limited.close();
    }
  });
});
