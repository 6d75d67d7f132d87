import 'reflect-metadata';
import { Logger, type LogLevel as NestLogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { configureApp } from './app.setup.js';
import { type AppConfig, ConfigError, LOG_LEVELS, parseConfig } from './config/app-config.js';
import { InstrumentFileError, loadInstruments } from './market/instrument-loader.js';
import { replaySourceOf } from './market/market-feed.factory.js';
import { checkRecordFile, RecordFileError } from './market/record/tick-recorder.js';
import { ReplayFileError } from './market/replay/replay-file.error.js';
import { scanReplayFileCached } from './market/replay/replay-scan.js';

function logLevels(level: AppConfig['logLevel']): NestLogLevel[] {
  return LOG_LEVELS.slice(0, LOG_LEVELS.indexOf(level) + 1);
}

/**
 * Parses the environment and the instrument file, reporting every problem at
 * once; then, for FEED=replay, scans the replay file (remembered for
 * MarketModule), and checks RECORD_FILE can be appended to, so a bad file is
 * reported like bad configuration: its name, the line and what is wrong, no
 * stack trace.
 */
async function loadConfig(env: NodeJS.ProcessEnv): Promise<AppConfig> {
  const problems: string[] = [];
  let config: AppConfig | undefined;
  try {
    config = parseConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  const symbolsFile = env.SYMBOLS_FILE?.trim();
  if (symbolsFile) {
    try {
      loadInstruments(symbolsFile);
    } catch (err) {
      if (!(err instanceof InstrumentFileError)) throw err;
      problems.push(`SYMBOLS_FILE=${JSON.stringify(symbolsFile)}: ${err.message}`);
    }
  }
  if (problems.length > 0 || !config) throw new ConfigError(problems);
  if (config.feed === 'replay') await scanReplayFileCached(replaySourceOf(config));
  if (config.recordFile !== undefined) checkRecordFile(config.recordFile);
  return config;
}

async function bootstrap(): Promise<void> {
  let config: AppConfig;
  try {
    config = await loadConfig(process.env);
  } catch (err) {
    if (
      err instanceof ConfigError ||
      err instanceof ReplayFileError ||
      err instanceof RecordFileError
    ) {
      process.stderr.write(`tickstream: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const app = await NestFactory.create(AppModule.forRoot(config), {
    logger: logLevels(config.logLevel),
    // Keep-alive HTTP connections must not hold a shutdown open.
    forceCloseConnections: true,
  });
  configureApp(app, config);
  // SIGTERM/SIGINT: clients get a `shutdown` event, then everything closes and we exit 0;
  // if closing takes longer than SHUTDOWN_TIMEOUT_MS the process exits anyway (code 1).
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      Logger.log(`${signal} received: shutting down`, 'Bootstrap');
      setTimeout(() => {
        process.stderr.write(
          `tickstream: shutdown took over ${config.shutdownTimeoutMs} ms, exiting\n`,
        );
        process.exit(1);
      }, config.shutdownTimeoutMs).unref();
    });
  }
  await app.listen(config.port, config.host);
  const url = (await app.getUrl()).replace('[::1]', 'localhost');
  Logger.log(`tickstream listening on ${url} (seed ${config.seed})`, 'Bootstrap');
  if (config.authTokens.length === 0) {
    Logger.log(
      'AUTH_TOKENS is not set: the server is open to anyone who can reach it',
      'Bootstrap',
    );
  }
}

bootstrap().catch((err: unknown) => {
  process.stderr.write(
    `tickstream failed to start: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
