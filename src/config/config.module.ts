import { type DynamicModule, Global, Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig, parseConfig } from './app-config.js';

/** Provides the one typed {@link AppConfig}, parsed from `process.env` unless given. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config?: AppConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: APP_CONFIG, useValue: config ?? parseConfig(process.env) }],
      exports: [APP_CONFIG],
    };
  }
}
