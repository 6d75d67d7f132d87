import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Controller, Get, Header, Headers, Inject } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { buildAsyncApiDocument } from './asyncapi.document.js';

/** A Host header as it may appear in the document; anything else is replaced. */
const HOST_PATTERN = /^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$|^\[[0-9A-Fa-f:.]{2,45}\](:\d{1,5})?$/;

/**
 * Version of this build: the nearest package.json above this module (src/api
 * under vitest, dist/api in production, dist-bench/src/api in the benchmark).
 */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file))
      return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('package.json not found above the AsyncAPI controller');
    dir = parent;
  }
}

/**
 * `GET /asyncapi.json`: the AsyncAPI 3.0 description of both transports,
 * generated from the protocol's schemas. Public, like `/health`: it holds
 * nothing but the protocol.
 */
@Controller()
export class AsyncApiController {
  private readonly document: ReturnType<typeof buildAsyncApiDocument>;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.document = buildAsyncApiDocument({
      host: `${config.host}:${config.port}`,
      version: packageVersion(),
      maxSymbolsPerClient: config.maxSymbolsPerClient,
    });
  }

  @Get('asyncapi.json')
  @Header('Cache-Control', 'no-cache')
  asyncapi(@Headers('host') host: string | undefined): ReturnType<typeof buildAsyncApiDocument> {
    // The servers are wherever this client reached us (behind a proxy, its address).
    if (host === undefined || !HOST_PATTERN.test(host)) return this.document;
    const servers = this.document.servers as Record<string, Record<string, unknown>>;
    return {
      ...this.document,
      servers: Object.fromEntries(
        Object.entries(servers).map(([name, server]) => [name, { ...server, host }]),
      ),
    };
  }
}
