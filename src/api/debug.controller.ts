import { Controller, Get, Inject, NotFoundException, UseGuards } from '@nestjs/common';
import { readdirSync } from 'node:fs';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { BearerAuthGuard } from './bearer-auth.guard.js';

interface HeapReport {
  gc: boolean;
  heapUsedBytes: number;
  rssBytes: number;
  activeHandles: number;
  openFds: number | null;
}

/** Process internals for the soak test; 404 unless DEBUG_ENDPOINTS=true. */
@Controller('debug')
@UseGuards(BearerAuthGuard)
export class DebugController {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  @Get('heap')
  heap(): HeapReport {
    if (!this.config.debugEndpoints) throw new NotFoundException('Cannot GET /debug/heap');
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const memory = process.memoryUsage();
    let openFds: number | null = null;
    try {
      openFds = readdirSync('/proc/self/fd').length;
    } catch {
      openFds = null;
    }
    const handles = (process as unknown as { _getActiveHandles?: () => unknown[] })
      ._getActiveHandles;
    return {
      gc: gc !== undefined,
      heapUsedBytes: memory.heapUsed,
      rssBytes: memory.rss,
      activeHandles: handles ? handles.call(process).length : -1,
      openFds,
    };
  }
}
