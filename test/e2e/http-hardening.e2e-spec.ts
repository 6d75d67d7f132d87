import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { existsSync, readFileSync } from 'node:fs';
import { type IncomingHttpHeaders, type OutgoingHttpHeaders, request } from 'node:http';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppModule, WEB_DIST } from '../../src/app.module.js';
import { configureApp } from '../../src/app.setup.js';
import { parseConfig } from '../../src/config/app-config.js';
import { ensureBuilt } from '../support/build.js';
import type { EngineOpen } from '../support/raw-socket.js';
import { decodeEioPacket, EIO } from '../support/socket-io-codec.js';
import { closeAllClients, connectClient } from '../support/test-app.js';

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The bytes as sent: still compressed if the server compressed them. */
  body: Buffer;
}

/**
 * A GET with `node:http`, which (unlike fetch) sends no Accept-Encoding of its
 * own and hands back the body as it came off the wire.
 */
function get(url: string, headers: OutgoingHttpHeaders = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * A request for `path` exactly as written (a URL string would have its dot
 * segments resolved by the client before sending).
 */
function rawRequest(base: string, path: string, method = 'GET'): Promise<RawResponse> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** One `Content-Security-Policy` header as directive -> sources (empty if absent or repeated). */
function parseCsp(header: string | string[] | undefined): Map<string, string[]> {
  const policy = new Map<string, string[]>();
  for (const directive of typeof header === 'string' ? header.split(';') : []) {
    const [name, ...sources] = directive.trim().split(/\s+/);
    if (name) policy.set(name, sources);
  }
  return policy;
}

/** The hashed bundle and stylesheet the built index.html names. */
function builtAssets(): { js: string; css: string } {
  const html = readFileSync(join(WEB_DIST, 'index.html'), 'utf8');
  const js = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
  const css = /href="(\/assets\/[^"]+\.css)"/.exec(html)?.[1];
  if (!js || !css) throw new Error('web/dist/index.html names no /assets/*.js or *.css');
  return { js, css };
}

/**
 * Boots the app with the dashboard the way `main.ts` does (`NestFactory.create`,
 * then `configureApp`), on 127.0.0.1 port 0. Not `createTestApp`: its testing
 * module creates providers before it has an HTTP adapter, so
 * `@nestjs/serve-static` picks its `NoopLoader` there and serves no file at all.
 */
async function startWithDashboard(): Promise<{ app: INestApplication; url: string }> {
  const config = parseConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    SEED: '7',
    SERVE_DASHBOARD: 'true',
    LOG_LEVEL: 'warn',
  });
  const app = await NestFactory.create(AppModule.forRoot(config), {
    logger: ['error', 'warn'],
    forceCloseConnections: true,
  });
  configureApp(app, config);
  await app.listen(config.port, '127.0.0.1');
  return { app, url: (await app.getUrl()).replace('[::1]', '127.0.0.1') };
}

describe('HTTP hardening (e2e)', () => {
  let t: { app: INestApplication; url: string };
  let assets: { js: string; css: string };

  // A stale dist/ or web/dist/ is rebuilt first: up to a minute or two on a busy machine.
  beforeAll(async () => {
    ensureBuilt({ web: true });
    assets = builtAssets();
    t = await startWithDashboard();
  }, 180_000);
  afterAll(async () => {
    closeAllClients();
    await t?.app.close();
  });

  it('sends the security headers and no X-Powered-By on every kind of response', async () => {
    const paths = [
      '/',
      '/api/symbols',
      '/health',
      '/metrics',
      assets.js,
      '/some/dashboard/route',
      '/api/no-such-endpoint',
    ];
    for (const path of paths) {
      const { headers } = await get(`${t.url}${path}`);
      const csp = parseCsp(headers['content-security-policy']);
      expect(csp.get('default-src'), path).toEqual(["'self'"]);
      expect(csp.get('script-src'), path).toEqual(["'self'"]);
      expect(csp.get('style-src'), path).toEqual(["'self'"]);
      expect(csp.get('connect-src'), path).toEqual(["'self'"]);
      expect(csp.get('object-src'), path).toEqual(["'none'"]);
      expect(csp.get('frame-ancestors'), path).toEqual(["'none'"]);
      expect(csp.has('upgrade-insecure-requests'), path).toBe(false);
      expect(headers['content-security-policy'], path).not.toMatch(/unsafe-(inline|eval)/);
      expect(headers['x-content-type-options'], path).toBe('nosniff');
      expect(headers['x-frame-options'], path).toBe('DENY');
      expect(headers['referrer-policy'], path).toBe('no-referrer');
      expect(headers['x-powered-by'], path).toBeUndefined();
      expect(headers['strict-transport-security'], path).toBeUndefined();
    }
  });

  it('answers 404 for the source maps built next to the bundles, however the path is spelled', async () => {
    const map = `${assets.js}.map`;
    // Still built, for the browser tests' source-mapped stacks; only not served.
    expect(existsSync(join(WEB_DIST, map))).toBe(true);
    const spellings = [
      map,
      `${map}?v=1`,
      map.replace(/\.map$/, '%2Emap'),
      map.replace(/\.map$/, '.%6D%61%70'),
      `/api/..${map}`,
      `/api/%2E%2E${map}`,
      `/favicon.svg/..${map}`,
    ];
    for (const path of spellings) {
      for (const method of ['GET', 'HEAD']) {
        const res = await rawRequest(t.url, path, method);
        expect(res.status, `${method} ${path}`).toBe(404);
        expect(res.headers['x-content-type-options'], `${method} ${path}`).toBe('nosniff');
        if (method === 'GET') {
          expect(JSON.parse(res.body.toString('utf8')), path).toEqual({
            statusCode: 404,
            error: 'Not Found',
            message: `Cannot GET ${path}`,
          });
        }
      }
    }
    // Nor does a bundle point browsers at its map.
    const bundle = await get(`${t.url}${assets.js}`);
    expect(bundle.status).toBe(200);
    expect(bundle.body.toString('utf8')).not.toContain('sourceMappingURL');
  });

  it('lets browsers keep the hashed assets for a year without revalidating', async () => {
    for (const path of [assets.js, assets.css]) {
      const res = await get(`${t.url}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers['cache-control'], path).toBe('public, max-age=31536000, immutable');
    }
  });

  it('makes browsers revalidate index.html, on / and on a dashboard route', async () => {
    for (const path of ['/', '/some/dashboard/route']) {
      const res = await get(`${t.url}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers['content-type'], path).toContain('text/html');
      expect(res.headers['cache-control'], path).toBe('no-cache');
      expect(res.headers.etag, path).toEqual(expect.any(String));
      expect(res.headers['last-modified'], path).toEqual(expect.any(String));
    }
  });

  it('answers a revalidation of / with 304 and no body', async () => {
    const first = await get(`${t.url}/`);
    const etag = first.headers.etag;
    expect(etag).toEqual(expect.any(String));

    const again = await get(`${t.url}/`, { 'If-None-Match': etag });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
  });

  it('gzips a large asset for a client that accepts gzip, and only then', async () => {
    const onDisk = readFileSync(join(WEB_DIST, assets.js));
    const gzipped = await get(`${t.url}${assets.js}`, { 'Accept-Encoding': 'gzip' });
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    expect(gzipped.headers.vary).toMatch(/accept-encoding/i);
    expect(gzipped.body.length).toBeLessThan(onDisk.length / 2);
    expect(gunzipSync(gzipped.body).equals(onDisk)).toBe(true);

    const plain = await get(`${t.url}${assets.js}`);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.equals(onDisk)).toBe(true);
  });

  it('gzips the JSON of /api/symbols', async () => {
    const plain = await get(`${t.url}/api/symbols`);
    const gzipped = await get(`${t.url}/api/symbols`, { 'Accept-Encoding': 'gzip' });
    expect(gzipped.status).toBe(200);
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    expect(gzipped.body.length).toBeLessThan(plain.body.length);
    expect(JSON.parse(gunzipSync(gzipped.body).toString('utf8'))).toEqual(
      JSON.parse(plain.body.toString('utf8')),
    );
  });

  it('leaves Socket.IO to Engine.IO: the polling handshake and a WebSocket still work', async () => {
    const res = await get(`${t.url}/socket.io/?EIO=4&transport=polling`, {
      'Accept-Encoding': 'gzip',
    });
    expect(res.status).toBe(200);
    // Engine.IO's own compression is off and Express's never sees the request.
    expect(res.headers['content-encoding']).toBeUndefined();
    const packet = decodeEioPacket(res.body.toString('utf8'));
    expect(packet.type).toBe(EIO.OPEN);
    const open = JSON.parse(packet.data) as EngineOpen;
    expect(open.sid).toEqual(expect.any(String));
    expect(open.upgrades).toContain('websocket');

    const client = await connectClient(t.url);
    expect(client.connected).toBe(true);
  });
});
