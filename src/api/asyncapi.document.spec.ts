import { DiagnosticSeverity, Parser } from '@asyncapi/parser';
import * as v from 'valibot';
import { beforeAll, describe, expect, it } from 'vitest';
import { SYMBOL_PATTERN } from '../shared/symbols.js';
import { buildAsyncApiDocument } from './asyncapi.document.js';

const options = { host: '127.0.0.1:3000', version: '0.1.0', maxSymbolsPerClient: 100 };

describe(buildAsyncApiDocument.name, () => {
  let parsed: Awaited<ReturnType<Parser['parse']>>;

  // The parser compiles the AsyncAPI meta-schemas first: seconds on a busy machine.
  beforeAll(async () => {
    parsed = await new Parser().parse(JSON.stringify(buildAsyncApiDocument(options)));
  }, 60_000);

  it('is a valid AsyncAPI 3.0 document (no error or warning from @asyncapi/parser)', () => {
    const { document, diagnostics } = parsed;
    // Information and hints (for example that AsyncAPI 3.1 exists) are not problems.
    const problems = diagnostics
      // Error is 0 and Warning 1 (the diagnostics carry another copy of the enum).
      .filter((d) => Number(d.severity) <= Number(DiagnosticSeverity.Warning))
      .map((d) => `${d.code} at ${d.path.join('.')}: ${d.message}`);
    expect(problems).toEqual([]);
    expect(document).toBeDefined();
    expect(document!.version()).toBe('3.0.0');
  });

  it('describes every message of both transports', () => {
    const { document } = parsed;
    const channels: Record<string, string[]> = Object.fromEntries(
      document!
        .channels()
        .all()
        .map((channel): [string, string[]] => [
          String(channel.address()),
          channel
            .messages()
            .all()
            .map((message) => String(message.name()))
            .sort(),
        ]),
    );
    expect(channels).toEqual({
      '/ws': [
        'ack',
        'exception',
        'ping',
        'pong',
        'quotes',
        'shutdown',
        'status',
        'subscribe',
        'unsubscribe',
        'welcome',
      ],
      '/market': [
        'exception',
        'quotes',
        'shutdown',
        'status',
        'subscribe',
        'subscribeAck',
        'unsubscribe',
        'unsubscribeAck',
      ],
    });
    const operations = document!
      .operations()
      .all()
      .map((op) => `${op.action()} ${op.id()}`);
    expect(operations.sort()).toEqual([
      'receive sioSubscribe',
      'receive sioUnsubscribe',
      'receive wsPing',
      'receive wsSubscribe',
      'receive wsUnsubscribe',
      'send sioStream',
      'send wsStream',
    ]);
  });

  it('carries the constraints of the schemas, not hand-copied ones', () => {
    const doc = buildAsyncApiDocument(options) as {
      components: {
        messages: Record<string, { payload: Record<string, unknown> }>;
        schemas: Record<string, unknown>;
      };
    };
    const subscribe = doc.components.messages.WsSubscribe.payload as {
      required: string[];
      properties: Record<string, Record<string, unknown>>;
    };
    expect(subscribe.required).toEqual(expect.arrayContaining(['type', 'symbols']));
    expect(subscribe.properties.symbols).toMatchObject({
      type: 'array',
      minItems: 1,
      maxItems: 500,
    });
    expect(subscribe.properties.symbols.items).toMatchObject({
      type: 'string',
      pattern: SYMBOL_PATTERN.source,
    });
    const quotes = doc.components.messages.WsQuotes.payload as {
      properties: { data: { items: { $ref: string } } };
    };
    expect(quotes.properties.data.items.$ref).toBe('#/components/schemas/Quote');
    expect(Object.keys(doc.components.schemas).sort()).toEqual([
      'MarketStatus',
      'Quote',
      'QuoteWindow',
      'RejectedSymbol',
      'WireError',
    ]);
    expect(JSON.stringify(doc)).not.toContain('$defs');
  });

  it('is JSON all the way down (what the controller serves is what was validated)', () => {
    const doc = buildAsyncApiDocument(options);
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
    expect(v.is(v.record(v.string(), v.unknown()), doc)).toBe(true);
  });
});
