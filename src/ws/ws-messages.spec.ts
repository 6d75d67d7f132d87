import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Quote } from '../shared/protocol.js';
import {
  encodeWsQuotesFrame,
  WS_QUOTES_PREFIX,
  type WsQuotesMessage,
} from '../shared/ws-protocol.js';
import { parseWsMessage, type WsParsed } from './ws-messages.js';

/** A string that appears nowhere in the server's messages: it must never come back. */
const TOKEN = 'Zq9-ECHO-CANARY-31b7';

const NOT_JSON = 'the frame is not valid JSON';
const NOT_OBJECT = 'expected a JSON object with a "type" field';
const BAD_ID = '"id" must be an integer or 1-64 letters, digits, "_" or "-"';
const BAD_TYPE = '"type" must be "subscribe", "unsubscribe" or "ping"';
/**
 * What a frame without `type` is told. Not pinned here: it was BAD_TYPE before the
 * schema rewrite and is `"type" is required` since; the specs below only hold it to
 * naming the field and being one fixed sentence.
 */
const MISSING_TYPE = ((parsed) => (parsed.ok ? '' : parsed.error.message))(parseWsMessage('{}'));

/** Narrows to a refusal and checks it is a BAD_REQUEST that does not echo the frame. */
/**
 * The documented id rule, written out independently of the server's schema:
 * a safe integer, or 1-64 of `[A-Za-z0-9_-]`.
 */
function isValidId(value: unknown): value is number | string {
  if (typeof value === 'number') return Number.isSafeInteger(value);
  return typeof value === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(value);
}

function refused(parsed: WsParsed, frame: string): Extract<WsParsed, { ok: false }> {
  if (parsed.ok) throw new Error(`expected a refusal of ${frame}`);
  expect(parsed.error.code).toBe('BAD_REQUEST');
  expect(parsed.error.message).not.toContain(TOKEN);
  return parsed;
}

function accepted(parsed: WsParsed): Extract<WsParsed, { ok: true }>['value'] {
  if (!parsed.ok) throw new Error(`expected ok, got ${parsed.error.message}`);
  return parsed.value;
}

describe(parseWsMessage.name, () => {
  describe('framing', () => {
    it.each([
      ['an empty frame', ''],
      ['whitespace', '  \n'],
      ['truncated JSON', `{"type":"subscribe","symbols":["${TOKEN}"`],
      ['a bare word', TOKEN],
      ['single-quoted JSON', `{'type':'ping','id':'${TOKEN}'}`],
      ['a trailing comma', `{"type":"ping","x":"${TOKEN}",}`],
      ['two objects', '{"type":"ping"}{"type":"ping"}'],
      ['NaN', 'NaN'],
      ['a JS comment', `{"type":"ping"} // ${TOKEN}`],
    ])('refuses %s as not JSON', (_label, frame) => {
      const parsed = refused(parseWsMessage(frame), frame);
      expect(parsed.error.message).toBe(NOT_JSON);
      expect(parsed.id).toBeUndefined();
    });

    it.each([
      ['an array', `[{"type":"ping","id":"${TOKEN}"}]`],
      ['an empty array', '[]'],
      ['null', 'null'],
      ['a number', '42'],
      ['a string', `"${TOKEN}"`],
      ['true', 'true'],
    ])('refuses %s as not an object', (_label, frame) => {
      const parsed = refused(parseWsMessage(frame), frame);
      expect(parsed.error.message).toBe(NOT_OBJECT);
      expect(parsed.id).toBeUndefined();
    });

    it.each([
      ['no type', '{}'],
      ['no type but an id', '{"id":5}'],
      ['a type hidden in __proto__', '{"__proto__":{"type":"ping"}}'],
      ['a type in another case', '{"Type":"ping"}'],
    ])('refuses %s with a message naming the missing "type"', (_label, frame) => {
      const { message } = refused(parseWsMessage(frame), frame).error;
      expect(message).toMatch(/^"type" /);
      // Always the same sentence, whatever else the frame holds.
      expect(message).toBe(MISSING_TYPE);
    });

    it.each([
      ['an unknown type', `{"type":"${TOKEN}"}`],
      ['an upper-case type', '{"type":"PING"}'],
      ['a padded type', '{"type":" ping"}'],
      ['a numeric type', '{"type":1}'],
      ['a null type', '{"type":null}'],
      ['an array type', '{"type":["ping"]}'],
      ['an object type', '{"type":{"ping":true}}'],
      ['a server message type', '{"type":"welcome"}'],
      ['a prototype key as type', '{"type":"constructor"}'],
      ['another prototype key as type', '{"type":"__proto__"}'],
    ])('refuses %s with the "type" message', (_label, frame) => {
      expect(refused(parseWsMessage(frame), frame).error.message).toBe(BAD_TYPE);
    });

    it('accepts a ping, with or without an id', () => {
      expect(accepted(parseWsMessage('{"type":"ping"}'))).toEqual({ type: 'ping', id: undefined });
      expect(accepted(parseWsMessage('{"type":"ping","id":"p-1"}'))).toEqual({
        type: 'ping',
        id: 'p-1',
      });
    });

    it('hands subscribe and unsubscribe on whole, for the session to validate', () => {
      const sub = accepted(
        parseWsMessage('{"type":"subscribe","id":1,"symbols":["aapl"],"intervalMs":300,"x":[1]}'),
      );
      expect(sub).toEqual({
        type: 'subscribe',
        id: 1,
        body: { type: 'subscribe', id: 1, symbols: ['aapl'], intervalMs: 300, x: [1] },
      });
      // The body is not checked here: a subscribe without symbols is the session's BAD_REQUEST.
      expect(accepted(parseWsMessage('{"type":"unsubscribe"}'))).toMatchObject({
        type: 'unsubscribe',
        body: { type: 'unsubscribe' },
      });
    });

    it('keeps __proto__ and constructor keys as plain data, polluting nothing', () => {
      const frame =
        '{"type":"subscribe","__proto__":{"polluted":true,"symbols":["AAPL"]},' +
        '"constructor":{"prototype":{"polluted":true}}}';
      const value = accepted(parseWsMessage(frame));
      if (value.type === 'ping') throw new Error('not a subscribe');
      expect(Object.getPrototypeOf(value.body)).toBe(Object.prototype);
      // `symbols` did not leak from the own `__proto__` key into the body.
      expect(value.body.symbols).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('polluted');
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('survives deep nesting and huge numbers in fields it does not read', () => {
      const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
      expect(accepted(parseWsMessage(`{"type":"ping","x":${deep}}`)).type).toBe('ping');
      expect(accepted(parseWsMessage('{"type":"ping","x":1e999999,"y":-1e400}')).type).toBe('ping');
    });
  });

  describe('id', () => {
    it.each([
      ['zero', 0],
      ['a positive integer', 17],
      ['a negative integer', -17],
      ['the largest safe integer', Number.MAX_SAFE_INTEGER],
      ['the smallest safe integer', Number.MIN_SAFE_INTEGER],
      ['a one-character string', 'a'],
      ['digits as a string', '12345'],
      ['every allowed character', 'Az09_-'],
      ['64 characters', 'x'.repeat(64)],
    ])('accepts %s and returns it', (_label, id) => {
      expect(accepted(parseWsMessage(JSON.stringify({ type: 'ping', id }))).id).toBe(id);
    });

    it('accepts an integer written as 1e3 or 5.0 (JSON numbers, not their spelling)', () => {
      expect(accepted(parseWsMessage('{"type":"ping","id":1e3}')).id).toBe(1000);
      expect(accepted(parseWsMessage('{"type":"ping","id":5.0}')).id).toBe(5);
    });

    it.each([
      ['a fraction', '1.5'],
      ['a tiny fraction', '1e-7'],
      ['an unsafe integer', '9007199254740992'],
      ['a negative unsafe integer', '-9007199254740992'],
      ['a rounded unsafe integer', '9007199254740993'],
      ['an overflow to Infinity', '1e999'],
      ['the empty string', '""'],
      ['65 characters', JSON.stringify('x'.repeat(65))],
      ['a space', '"a b"'],
      ['a dot', '"a.b"'],
      ['a trailing newline', '"abc\\n"'],
      ['a leading newline', '"\\nabc"'],
      ['a NUL', '"abc\\u0000"'],
      ['accented letters', '"caf\u00e9"'],
      ['full-width letters', '"\uff21\uff22"'],
      ['an emoji', '"\ud83d\ude00"'],
      ['a lone surrogate', '"\\ud800"'],
      ['null', 'null'],
      ['true', 'true'],
      ['an object', `{"${TOKEN}":1}`],
      ['an array', '[1]'],
      ['a canary string', JSON.stringify(`${TOKEN}!`)],
    ])('refuses %s as an id, returning no id', (_label, idJson) => {
      for (const type of ['ping', 'subscribe', 'unsubscribe']) {
        const frame = `{"type":"${type}","id":${idJson}}`;
        const parsed = refused(parseWsMessage(frame), frame);
        expect(parsed.error.message).toBe(BAD_ID);
        expect(parsed).not.toHaveProperty('id', expect.anything());
      }
      // With a bad type too, an invalid id is still never handed back.
      const frame = `{"type":"${TOKEN}","id":${idJson}}`;
      expect(refused(parseWsMessage(frame), frame)).not.toHaveProperty('id', expect.anything());
    });

    it('returns a valid id on a frame refused for its type, so the client can match it', () => {
      const parsed = refused(parseWsMessage('{"type":"hack","id":"req-9"}'), 'hack');
      expect(parsed.id).toBe('req-9');
      expect(parsed.error.message).toBe(BAD_TYPE);
      expect(refused(parseWsMessage('{"id":-3}'), 'no type').id).toBe(-3);
    });

    it('accepts exactly the ids of the documented rule, for any JSON value', () => {
      fc.assert(
        fc.property(fc.jsonValue({ maxDepth: 2 }), (id) => {
          const parsed = parseWsMessage(JSON.stringify({ type: 'ping', id }));
          // JSON.stringify drops `id: undefined`-like values; round-trip what was sent.
          const sent = (JSON.parse(JSON.stringify({ id })) as { id?: unknown }).id;
          if (sent === undefined) expect(parsed.ok).toBe(true);
          else if (isValidId(sent))
            expect(parsed).toEqual({ ok: true, value: { type: 'ping', id: sent } });
          else expect(parsed.ok).toBe(false);
        }),
        { numRuns: 1000 },
      );
    });
  });

  it('never throws, and never echoes the frame in its message, whatever the text', () => {
    const frames = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 80 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc
        .record(
          {
            type: fc.oneof(fc.constantFrom('ping', 'subscribe', 'unsubscribe'), fc.jsonValue()),
            id: fc.jsonValue({ maxDepth: 1 }),
            canary: fc.constant(TOKEN),
          },
          { requiredKeys: ['canary'] },
        )
        .map((v) => JSON.stringify(v)),
    );
    fc.assert(
      fc.property(frames, (frame) => {
        const parsed = parseWsMessage(frame);
        if (parsed.ok) return;
        expect(parsed.error.code).toBe('BAD_REQUEST');
        // One of five fixed sentences: nothing of the frame can be in it.
        expect([NOT_JSON, NOT_OBJECT, BAD_ID, BAD_TYPE, MISSING_TYPE]).toContain(
          parsed.error.message,
        );
        expect(parsed.error.message).not.toContain(TOKEN);
        if (parsed.id !== undefined) expect(isValidId(parsed.id)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe(encodeWsQuotesFrame.name, () => {
  const quote = (symbol: string, price: number): Quote => ({
    symbol,
    price,
    bid: price - 0.01,
    ask: price,
    ts: 1_700_000_000_000,
    seq: 3,
    open: 100,
    high: price,
    low: 99,
    prevClose: 99.5,
    change: price - 99.5,
    changePct: 0.5,
    volume: 1200,
    win: { o: 100, h: price, l: 99, v: 300, n: 3 },
  });

  it('splices pre-serialised quotes into one quotes message that JSON.parse reads back', () => {
    const quotes = [quote('AAPL', 230.25), quote('BRK.B', 455), quote('T', 27.15)];
    const frame = encodeWsQuotesFrame(quotes.map((q) => JSON.stringify(q)));
    expect(frame.startsWith(WS_QUOTES_PREFIX)).toBe(true);
    expect(JSON.parse(frame)).toEqual({ type: 'quotes', data: quotes } satisfies WsQuotesMessage);
  });

  it('encodes an empty batch as an empty data array', () => {
    expect(JSON.parse(encodeWsQuotesFrame([]))).toEqual({ type: 'quotes', data: [] });
  });

  it('has a prefix that is exactly what JSON.stringify writes before the first quote', () => {
    expect(JSON.stringify({ type: 'quotes', data: [0] }).startsWith(WS_QUOTES_PREFIX)).toBe(true);
  });

  it('round-trips any JSON pieces, byte for byte the same as JSON.stringify of the message', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 20 }), (values) => {
        const frame = encodeWsQuotesFrame(values.map((v) => JSON.stringify(v)));
        const expected = { type: 'quotes', data: values };
        expect(frame).toBe(JSON.stringify(expected));
        expect(JSON.parse(frame)).toEqual(JSON.parse(JSON.stringify(expected)));
      }),
      { numRuns: 500 },
    );
  });
});
