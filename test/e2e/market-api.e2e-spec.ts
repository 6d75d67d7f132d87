import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  ApiErrorBody,
  HealthResponse,
  HistoryResponse,
  SymbolInfo,
} from '../../src/shared/market.js';
import type { Quote } from '../../src/shared/protocol.js';
import { createTestApp, type TestApp, waitFor } from '../support/test-app.js';

describe('Market REST API (e2e)', () => {
  let t: TestApp;
  const get = async <T>(path: string): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${t.url}${path}`);
    expect(res.headers.get('content-type')).toContain('application/json');
    return { status: res.status, body: (await res.json()) as T };
  };

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('GET /api/symbols lists the universe', async () => {
    const { status, body } = await get<SymbolInfo[]>('/api/symbols');
    expect(status).toBe(200);
    expect(body.length).toBeGreaterThanOrEqual(50);
    expect(new Set(body.map((s) => s.sector)).size).toBeGreaterThanOrEqual(8);
    expect(body.find((s) => s.symbol === 'AAPL')).toMatchObject({
      name: expect.any(String) as string,
    });
  });

  it('GET /api/quotes returns the latest quote of each named symbol', async () => {
    const { status, body } = await get<Quote[]>('/api/quotes?symbols=aapl,MSFT,AAPL');
    expect(status).toBe(200);
    expect(body.map((q) => q.symbol)).toEqual(['AAPL', 'MSFT']);
    expect(body[0]).toMatchObject({
      price: expect.any(Number) as number,
      seq: expect.any(Number) as number,
    });
  });

  it('GET /api/quotes answers 404 naming unknown symbols and 400 for a bad list', async () => {
    const unknown = await get<ApiErrorBody>('/api/quotes?symbols=AAPL,NOPE');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({
      statusCode: 404,
      message: expect.stringContaining('NOPE') as string,
    });
    const bad = await get<ApiErrorBody>('/api/quotes?symbols=%3Cscript%3E');
    expect(bad.status).toBe(400);
    expect(bad.body.message).not.toContain('<script>');
    const twice = await get<ApiErrorBody>('/api/quotes?symbols=AAPL&symbols=MSFT');
    expect(twice.status).toBe(400);
    const empty = await get<ApiErrorBody>('/api/quotes?symbols=,');
    expect(empty.status).toBe(400);
  });

  it('GET /api/history/:symbol returns candles whose OHLC are consistent', async () => {
    const history = () => get<HistoryResponse>('/api/history/aapl?resolution=1s&limit=5');
    // A fresh feed has one forming candle: wait for the first to close.
    await waitFor(async () => (await history()).body.candles.length >= 2, 5000, 'two 1 s candles');
    const { status, body } = await history();
    expect(status).toBe(200);
    expect(body.symbol).toBe('AAPL');
    expect(body.resolution).toBe('1s');
    expect(body.candles.length).toBeGreaterThanOrEqual(2);
    expect(body.candles.length).toBeLessThanOrEqual(5);
    for (let i = 0; i < body.candles.length; i++) {
      const c = body.candles[i];
      expect(c.t % 1000).toBe(0);
      expect(c.l).toBeLessThanOrEqual(Math.min(c.o, c.c));
      expect(c.h).toBeGreaterThanOrEqual(Math.max(c.o, c.c));
      expect(c.v).toBeGreaterThan(0);
      if (i > 0) expect(c.t).toBeGreaterThan(body.candles[i - 1].t);
    }
    const minute = await get<HistoryResponse>('/api/history/MSFT');
    expect(minute.status).toBe(200);
    expect(minute.body.resolution).toBe('1m');
    expect(minute.body.candles.length).toBeGreaterThanOrEqual(1);
  });

  it('GET /api/history validates its query', async () => {
    expect((await get('/api/history/AAPL?resolution=5m')).status).toBe(400);
    expect((await get('/api/history/AAPL?limit=0')).status).toBe(400);
    expect((await get('/api/history/AAPL?resolution=1m&limit=1441')).status).toBe(400);
    expect((await get('/api/history/AAPL?limit=abc')).status).toBe(400);
    expect((await get('/api/history/NOPE')).status).toBe(404);
  });

  it('GET /asyncapi.json serves the AsyncAPI 3.0 document of both transports, for this host', async () => {
    const { status, body } = await get<{
      asyncapi: string;
      servers: Record<string, { host: string; pathname: string }>;
      channels: Record<string, { address: string }>;
    }>('/asyncapi.json');
    expect(status).toBe(200);
    expect(body.asyncapi).toBe('3.0.0');
    const host = new URL(t.url).host;
    expect(body.servers.ws).toMatchObject({ host, pathname: '/ws' });
    expect(body.servers.socketio).toMatchObject({ host, pathname: '/socket.io/' });
    expect(Object.values(body.channels).map((c) => c.address)).toEqual(['/ws', '/market']);
  });

  it('GET /health reports the server state', async () => {
    const { status, body } = await get<HealthResponse>('/health');
    expect(status).toBe(200);
    expect(body.status).toBe('ok');
    expect(body.ticksTotal).toBeGreaterThan(0);
  });
});
