import fc from 'fast-check';
import { Encoder, PacketType } from 'socket.io-parser';
import { describe, expect, it } from 'vitest';
import { MARKET_NAMESPACE } from '../../src/shared/protocol.js';
import {
  encodeSocketIoQuotesFrame,
  SOCKET_IO_QUOTES_PREFIX,
} from '../../src/shared/quote-frames.js';
import { encodeWsQuotesFrame, WS_QUOTES_PREFIX } from '../../src/shared/ws-protocol.js';
import {
  type QuotesFrameFormat,
  scanQuotes,
  scanQuotesFrame,
  SOCKET_IO_QUOTES_FRAME,
  WS_QUOTES_FRAME,
} from './quote-scanner.js';
import type { TrackedQuote } from './quote-tracker.js';

/** A quote as a server could send it: the three tracked fields among others, in any order. */
const quoteArb = fc
  .record({
    symbol: fc.string({ maxLength: 12 }),
    seq: fc.integer({ min: 1, max: 2 ** 40 }),
    ts: fc.integer({ min: 0, max: 2 ** 45 }),
    price: fc.double({ noNaN: true, noDefaultInfinity: true }),
    note: fc.string(),
    win: fc.record({
      o: fc.double({ noNaN: true, noDefaultInfinity: true }),
      n: fc.nat(),
      tag: fc.string(),
    }),
    flags: fc.array(fc.oneof(fc.boolean(), fc.constant(null), fc.string())),
  })
  .chain((q) =>
    fc.shuffledSubarray(Object.keys(q), { minLength: Object.keys(q).length }).map((order) => {
      const out: Record<string, unknown> = {};
      for (const key of order) out[key] = q[key as keyof typeof q];
      return out;
    }),
  );

describe('scanQuotes', () => {
  it('reads symbol, seq and ts exactly as JSON.parse does, whatever the key order and content', () => {
    fc.assert(
      fc.property(fc.array(quoteArb, { maxLength: 8 }), fc.boolean(), (quotes, pretty) => {
        const text = JSON.stringify(quotes, null, pretty ? 1 : undefined);
        const out: TrackedQuote[] = [];
        const count = scanQuotes(text, out);
        const expected = (JSON.parse(text) as TrackedQuote[]).map(({ symbol, seq, ts }) => ({
          symbol,
          seq,
          ts,
        }));
        expect(out.slice(0, count)).toEqual(expected);
      }),
    );
  });

  it('reuses the output objects from one frame to the next', () => {
    const out: TrackedQuote[] = [];
    scanQuotes('[{"symbol":"A","seq":1,"ts":5},{"symbol":"B","seq":2,"ts":6}]', out);
    const first = out[0];
    expect(scanQuotes('[{"ts":7,"seq":3,"symbol":"C"}]', out)).toBe(1);
    expect(out[0]).toBe(first);
    expect(out[0]).toEqual({ symbol: 'C', seq: 3, ts: 7 });
  });

  it('rejects malformed frames and quotes without the tracked fields', () => {
    const out: TrackedQuote[] = [];
    expect(scanQuotes('[]', out)).toBe(0);
    expect(() => scanQuotes('{"symbol":"A"}', out)).toThrow(SyntaxError);
    expect(() => scanQuotes('[{"symbol":"A","seq":1}]', out)).toThrow(/lacks/);
    expect(() => scanQuotes('[{"symbol":"A","seq":1,"ts":2', out)).toThrow(SyntaxError);
    expect(() => scanQuotes('[{"symbol":"A,"seq":1,"ts":2}]', out)).toThrow(SyntaxError);
    expect(() => scanQuotes('[{"symbol":"A","seq":1,"ts":2}]]', out)).toThrow(/after the array/);
  });
});

const tracked = (quotes: readonly Record<string, unknown>[]): TrackedQuote[] =>
  quotes.map(({ symbol, seq, ts }) => ({ symbol, seq, ts }) as TrackedQuote);

/** Each transport's quotes frame, as the server's own encoder writes it, and its other frames. */
const transports: {
  format: QuotesFrameFormat;
  prefix: string;
  encode: (pieces: readonly string[]) => string;
  /** Frames of the same connection that are not quotes, some carrying quotes themselves. */
  others: string[];
}[] = [
  {
    format: SOCKET_IO_QUOTES_FRAME,
    prefix: SOCKET_IO_QUOTES_PREFIX,
    encode: encodeSocketIoQuotesFrame,
    others: [
      '2',
      '40/market,{"sid":"x"}',
      '43/market,1[{"ok":true,"snapshot":[{"symbol":"A","seq":1,"ts":2}],"rejected":[]}]',
      '42/market,["exception",{"code":"RATE_LIMITED","message":"slow down"}]',
      '42/other,["quotes",[{"symbol":"A","seq":1,"ts":2}]]',
    ],
  },
  {
    format: WS_QUOTES_FRAME,
    prefix: WS_QUOTES_PREFIX,
    encode: encodeWsQuotesFrame,
    others: [
      '{"type":"welcome","epoch":"e","tiers":[100,250],"maxSymbols":100,"serverTime":1}',
      '{"type":"ack","id":1,"ok":true,"intervalMs":250,"snapshot":[{"symbol":"A","seq":1,"ts":2}],"rejected":[],"epoch":"e"}',
      '{"type":"exception","id":1,"error":{"code":"BAD_REQUEST","message":"no"}}',
      '{"type":"pong"}',
      '{"type":"shutdown","reason":"bye"}',
      // Same fields in another order: not what the server writes, so not taken for quotes.
      '{"data":[{"symbol":"A","seq":1,"ts":2}],"type":"quotes"}',
    ],
  },
];

describe(scanQuotesFrame.name, () => {
  for (const { format, prefix, encode, others } of transports) {
    describe(format.name, () => {
      it('takes its prefix and suffix from the shared encoder', () => {
        expect(format.prefix).toBe(prefix);
        expect(encode([])).toBe(`${format.prefix}]${format.suffix}`);
      });

      it('reads every quote of a frame the server encoder built, as JSON.parse does', () => {
        fc.assert(
          fc.property(fc.array(quoteArb, { maxLength: 8 }), (quotes) => {
            const frame = encode(quotes.map((q) => JSON.stringify(q)));
            const out: TrackedQuote[] = [];
            const count = scanQuotesFrame(frame, format, out);
            expect(out.slice(0, count)).toEqual(tracked(quotes));
          }),
        );
      });

      it('returns -1 for every other frame, even one carrying quotes', () => {
        const out: TrackedQuote[] = [];
        for (const frame of others) expect(scanQuotesFrame(frame, format, out)).toBe(-1);
      });

      it('rejects a quotes frame that is truncated or has anything after its batch', () => {
        const out: TrackedQuote[] = [];
        const frame = encode([JSON.stringify({ symbol: 'A', seq: 1, ts: 2 })]);
        for (let cut = format.prefix.length; cut < frame.length; cut++) {
          expect(() => scanQuotesFrame(frame.slice(0, cut), format, out)).toThrow(SyntaxError);
        }
        expect(() => scanQuotesFrame(`${frame} `, format, out)).toThrow(SyntaxError);
        expect(() => scanQuotesFrame(`${frame}${format.suffix}`, format, out)).toThrow(SyntaxError);
      });
    });
  }

  it("never takes one transport's quotes frame for the other's", () => {
    const pieces = [JSON.stringify({ symbol: 'A', seq: 1, ts: 2 })];
    const out: TrackedQuote[] = [];
    expect(scanQuotesFrame(encodeWsQuotesFrame(pieces), SOCKET_IO_QUOTES_FRAME, out)).toBe(-1);
    expect(scanQuotesFrame(encodeSocketIoQuotesFrame(pieces), WS_QUOTES_FRAME, out)).toBe(-1);
  });

  it("reads a Socket.IO quotes event as socket.io-parser writes it (the naive server's frames)", () => {
    const quotes = [
      { symbol: 'A', seq: 3, ts: 1, win: { o: 1, n: 2 } },
      { symbol: 'B', seq: 9, ts: 2 },
    ];
    const [packet] = new Encoder().encode({
      type: PacketType.EVENT,
      nsp: MARKET_NAMESPACE,
      data: ['quotes', quotes],
    }) as string[];
    const out: TrackedQuote[] = [];
    expect(scanQuotesFrame(`4${packet}`, SOCKET_IO_QUOTES_FRAME, out)).toBe(2);
    expect(out.slice(0, 2)).toEqual(tracked(quotes));
  });
});
