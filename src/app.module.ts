import { type DynamicModule, Module } from '@nestjs/common';
import { ServeStaticModule } from '@nestjs/serve-static';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ApiModule } from './api/api.module.js';
import { BusFeedRoleModule, BusGatewayRoleModule } from './bus/bus.module.js';
import { type AppConfig, parseConfig } from './config/app-config.js';
import { ConfigModule } from './config/config.module.js';
import { GatewayModule } from './gateway/gateway.module.js';
import { setStaticFileHeaders } from './http/http-hardening.js';
import { WsModule } from './ws/ws.module.js';

/** Built dashboard, relative to this file both in `src/` (tests) and `dist/` (production). */
export const WEB_DIST = fileURLToPath(new URL('../web/dist', import.meta.url));

/** The whole application. `forRoot()` reads the environment; tests pass a config. */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig = parseConfig(process.env)): DynamicModule {
    if (config.role === 'feed') {
      // The cluster's feed: no clients, no dashboard; /health and /metrics only.
      return {
        module: AppModule,
        imports: [ConfigModule.forRoot(config), BusFeedRoleModule],
      };
    }
    const serveWeb = config.serveDashboard && existsSync(`${WEB_DIST}/index.html`);
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        GatewayModule,
        WsModule,
        ApiModule,
        ...(config.role === 'gateway' ? [BusGatewayRoleModule] : []),
        ...(serveWeb
          ? [
              ServeStaticModule.forRoot({
                rootPath: WEB_DIST,
                exclude: ['/api/{*path}', '/health', '/metrics', '/socket.io/{*path}'],
                serveStaticOptions: { setHeaders: setStaticFileHeaders },
              }),
            ]
          : []),
      ],
    };
  }
}
