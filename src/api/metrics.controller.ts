import { Controller, Get, Header, UseGuards } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service.js';
import { BearerAuthGuard } from './bearer-auth.guard.js';

@Controller()
@UseGuards(BearerAuthGuard)
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  scrape(): Promise<string> {
    return this.metrics.scrape();
  }
}
