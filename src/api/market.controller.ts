import { Controller, Get, NotFoundException, Param, Query, UseGuards } from '@nestjs/common';
import { MarketStateService } from '../market/market-state.service.js';
import { MarketStatusService } from '../market/market-status.service.js';
import type { HistoryResponse, SymbolInfo } from '../shared/market.js';
import type { MarketStatus, Quote } from '../shared/protocol.js';
import { BearerAuthGuard } from './bearer-auth.guard.js';
import { parseHistoryQuery, parseQuotesQuery, parseSymbolParam } from './api-queries.js';

/** Read-only market data over HTTP: the universe, latest quotes and candle history. */
@Controller('api')
@UseGuards(BearerAuthGuard)
export class MarketController {
  constructor(
    private readonly state: MarketStateService,
    private readonly status: MarketStatusService,
  ) {}

  /** The market's state, as the `status` event carries it. */
  @Get('status')
  marketStatus(): MarketStatus {
    return this.status.current;
  }

  @Get('symbols')
  symbols(): SymbolInfo[] {
    return this.state.instruments().map(({ symbol, name, sector }) => ({ symbol, name, sector }));
  }

  @Get('quotes')
  quotes(@Query() query: unknown): Quote[] {
    const symbols = parseQuotesQuery(query) ?? this.state.instruments().map((i) => i.symbol);
    const unknown = symbols.filter((s) => !this.state.has(s));
    if (unknown.length > 0) {
      throw new NotFoundException(`unknown symbol(s): ${unknown.join(', ')}`);
    }
    return symbols.flatMap((s) => {
      const quote = this.state.snapshot(s);
      return quote ? [quote] : [];
    });
  }

  @Get('history/:symbol')
  history(@Param('symbol') symbolParam: string, @Query() query: unknown): HistoryResponse {
    const symbol = parseSymbolParam(symbolParam);
    const { resolution, limit } = parseHistoryQuery(query);
    if (!this.state.has(symbol)) throw new NotFoundException(`unknown symbol: ${symbol}`);
    return { symbol, resolution, candles: this.state.candles(symbol, resolution, limit) };
  }
}
