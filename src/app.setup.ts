import type { INestApplication } from '@nestjs/common';
import type { AppConfig } from './config/app-config.js';
import { MarketIoAdapter } from './gateway/market-io.adapter.js';
import { applyHttpHardening } from './http/http-hardening.js';

/** Wiring shared by `main.ts` and the e2e tests, so both run the same server. */
export function configureApp(app: INestApplication, config: AppConfig): INestApplication {
  // Before the module init registers the static files and routes, so it runs first for all of them.
  applyHttpHardening(app);
  app.useWebSocketAdapter(new MarketIoAdapter(app, config));
  const http = app.getHttpServer() as import('node:http').Server;
  // Slow-loris guards: a client gets this long to send its request headers / whole request.
  http.headersTimeout = 10_000;
  http.requestTimeout = 30_000;
  return app;
}
