import 'reflect-metadata';
import { Logger, type LogLevel as NestLogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { configureApp } from './app.setup.js';
import { type AppConfig, ConfigError, LOG_LEVELS, parseConfig } from './config/app-config.js';

function logLevels(level: AppConfig['logLevel']): NestLogLevel[] {
  return LOG_LEVELS.slice(0, LOG_LEVELS.indexOf(level) + 1);
}

async function bootstrap(): Promise<void> {
  let config: AppConfig;
  try {
    config = parseConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const app = await NestFactory.create(AppModule.forRoot(config), {
    logger: logLevels(config.logLevel),
  });
  configureApp(app, config);
  await app.listen(config.port, config.host);
  const url = (await app.getUrl()).replace('[::1]', 'localhost');
  Logger.log(`tickstream listening on ${url} (seed ${config.seed})`, 'Bootstrap');
}

bootstrap().catch((err: unknown) => {
  process.stderr.write(`tickstream failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
