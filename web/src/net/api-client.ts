import type { AccessToken } from './access-token.js';
import type { ApiErrorBody, Candle, CandleResolution, SymbolInfo } from '../stores/market-types.js';

/** A REST call failed: carries the server's message when it sent one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Typed access to the REST API; every body is parsed from `unknown`, never trusted. */
export class ApiClient {
  constructor(
    private readonly base = '',
    private readonly fetchFn: typeof fetch = (input, init) => fetch(input, init),
    private readonly token?: AccessToken,
  ) {}

  async symbols(signal?: AbortSignal): Promise<SymbolInfo[]> {
    const body = await this.get('/api/symbols', signal);
    if (!Array.isArray(body)) throw new ApiError(0, 'Malformed /api/symbols answer');
    return body.filter(isSymbolInfo);
  }

  /** Candles of `symbol`, oldest first; the last one is still forming. */
  async history(
    symbol: string,
    resolution: CandleResolution,
    limit: number,
    signal?: AbortSignal,
  ): Promise<Candle[]> {
    const path = `/api/history/${encodeURIComponent(symbol)}?resolution=${resolution}&limit=${limit}`;
    const body = await this.get(path, signal);
    const candles = isRecord(body) ? body.candles : undefined;
    if (!Array.isArray(candles)) throw new ApiError(0, `Malformed history of ${symbol}`);
    return candles.filter(isCandle).sort((a, b) => a.t - b.t);
  }

  private async get(path: string, signal?: AbortSignal): Promise<unknown> {
    const res = await this.fetchFn(this.base + path, {
      signal,
      headers: { accept: 'application/json', ...this.token?.headers() },
    });
    const body: unknown = await res.json().catch(() => undefined);
    if (!res.ok) {
      const message = isApiError(body) ? body.message : `${res.status} ${res.statusText}`;
      throw new ApiError(res.status, message);
    }
    return body;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function isSymbolInfo(v: unknown): v is SymbolInfo {
  return isRecord(v) && typeof v.symbol === 'string' && typeof v.name === 'string';
}

function isCandle(v: unknown): v is Candle {
  return (
    isRecord(v) && isNum(v.t) && isNum(v.o) && isNum(v.h) && isNum(v.l) && isNum(v.c) && isNum(v.v)
  );
}

function isApiError(v: unknown): v is ApiErrorBody {
  return isRecord(v) && typeof v.message === 'string';
}
