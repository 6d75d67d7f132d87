import {
  encodeSocketIoQuotesFrame,
  SOCKET_IO_QUOTES_PREFIX,
} from '../../src/shared/quote-frames.js';
import { encodeWsQuotesFrame, WS_QUOTES_PREFIX } from '../../src/shared/ws-protocol.js';
import type { TrackedQuote } from './quote-tracker.js';

/** Where the last {@link scanArray} stopped: just past the array's `]`. */
let scanEnd = 0;

/**
 * How one transport wraps a batch of quotes: the exact text before the array
 * (ending with its `[`) and after its `]`. Both come from the encoders in
 * `src/shared/`, the ones the server writes with, so the bench cannot drift
 * from the wire format.
 */
export interface QuotesFrameFormat {
  readonly name: string;
  readonly prefix: string;
  readonly suffix: string;
}

function frameFormat(
  name: string,
  prefix: string,
  encode: (pieces: readonly string[]) => string,
): QuotesFrameFormat {
  const empty = encode([]);
  if (!prefix.endsWith('[') || !empty.startsWith(`${prefix}]`)) {
    throw new Error(`${name} quotes frame: the prefix must open the batch array`);
  }
  return { name, prefix, suffix: empty.slice(prefix.length + 1) };
}

/** `42/market,["quotes",[…]]`: an Engine.IO message carrying a Socket.IO `quotes` event. */
export const SOCKET_IO_QUOTES_FRAME = frameFormat(
  'Socket.IO',
  SOCKET_IO_QUOTES_PREFIX,
  encodeSocketIoQuotesFrame,
);

/** `{"type":"quotes","data":[…]}`: a `/ws` quotes message. */
export const WS_QUOTES_FRAME = frameFormat('/ws', WS_QUOTES_PREFIX, encodeWsQuotesFrame);

/**
 * Reads the quotes of one whole frame in `format` into `out` (see
 * {@link scanQuotes}) without slicing the batch out first. Returns -1 when
 * the frame is not a quotes frame (it does not start with the prefix: a
 * control message), the number of quotes otherwise. Throws on a quotes frame
 * that is malformed, truncated or followed by anything but the suffix.
 */
export function scanQuotesFrame(
  frame: string,
  format: QuotesFrameFormat,
  out: TrackedQuote[],
): number {
  const { prefix, suffix } = format;
  if (!frame.startsWith(prefix)) return -1;
  const count = scanArray(frame, prefix.length - 1, out);
  if (frame.length - scanEnd !== suffix.length || !frame.endsWith(suffix)) {
    throw new SyntaxError(`quotes: ${format.name} frame does not end with ${suffix}`);
  }
  return count;
}

/**
 * Reads `symbol`, `seq` and `ts` out of a JSON array of quotes without
 * building the objects: JSON.parse of every quote was half of a load
 * generator's CPU, and at 200 000 quotes/s the load generator must stay far
 * from its limit or it, not the server, is what gets measured.
 *
 * It is a real (if lenient) JSON walker, not a regex: keys are matched at
 * the top level of each quote only, whatever their order, and nested values
 * (`win`), strings and escapes are skipped correctly. Fills `out` in place,
 * reusing its objects, and returns how many quotes it read. Throws on
 * malformed input or a quote missing one of the three fields.
 */
export function scanQuotes(text: string, out: TrackedQuote[]): number {
  const count = scanArray(text, skipWs(text, 0), out);
  if (skipWs(text, scanEnd) !== text.length) {
    throw new SyntaxError(`quotes: unexpected text after the array at ${scanEnd}`);
  }
  return count;
}

/** Scans the array opening at `start` into `out`; sets {@link scanEnd}. */
function scanArray(text: string, start: number, out: TrackedQuote[]): number {
  let i = start;
  if (text.charCodeAt(i) !== 91 /* [ */) throw new SyntaxError('quotes: expected [');
  i = skipWs(text, i + 1);
  let count = 0;
  if (text.charCodeAt(i) === 93 /* ] */) {
    scanEnd = i + 1;
    return 0;
  }
  for (;;) {
    if (text.charCodeAt(i) !== 123 /* { */) throw new SyntaxError(`quotes: expected { at ${i}`);
    i++;
    let symbol: string | undefined;
    let seq = NaN;
    let ts = NaN;
    i = skipWs(text, i);
    if (text.charCodeAt(i) !== 125 /* } */) {
      for (;;) {
        if (text.charCodeAt(i) !== 34 /* " */)
          throw new SyntaxError(`quotes: expected key at ${i}`);
        const keyEnd = stringEnd(text, i);
        const keyLen = keyEnd - i - 1;
        i = skipWs(text, keyEnd + 1);
        if (text.charCodeAt(i) !== 58 /* : */) throw new SyntaxError(`quotes: expected : at ${i}`);
        i = skipWs(text, i + 1);
        const k0 = text.charCodeAt(keyEnd - keyLen);
        if (keyLen === 6 && k0 === 115 /* s */ && text.startsWith('symbol', keyEnd - 6)) {
          if (text.charCodeAt(i) !== 34) throw new SyntaxError('quotes: symbol must be a string');
          const end = stringEnd(text, i);
          const raw = text.slice(i + 1, end);
          symbol = raw.includes('\\') ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
          i = end + 1;
        } else if (keyLen === 3 && k0 === 115 /* s */ && text.startsWith('seq', keyEnd - 3)) {
          const end = numberEnd(text, i);
          seq = Number(text.slice(i, end));
          i = end;
        } else if (
          keyLen === 2 &&
          k0 === 116 /* t */ &&
          text.charCodeAt(keyEnd - 1) === 115 /* s */
        ) {
          const end = numberEnd(text, i);
          ts = Number(text.slice(i, end));
          i = end;
        } else {
          i = skipValue(text, i);
        }
        i = skipWs(text, i);
        const c = text.charCodeAt(i);
        if (c === 44 /* , */) {
          i = skipWs(text, i + 1);
          continue;
        }
        if (c === 125 /* } */) break;
        throw new SyntaxError(`quotes: expected , or } at ${i}`);
      }
    }
    i++;
    if (symbol === undefined || !Number.isFinite(seq) || !Number.isFinite(ts)) {
      throw new SyntaxError('quotes: a quote lacks symbol, seq or ts');
    }
    const q = out[count];
    if (q) {
      q.symbol = symbol;
      q.seq = seq;
      q.ts = ts;
    } else {
      out[count] = { symbol, seq, ts };
    }
    count++;
    i = skipWs(text, i);
    const c = text.charCodeAt(i);
    if (c === 44 /* , */) {
      i = skipWs(text, i + 1);
      continue;
    }
    if (c === 93 /* ] */) {
      scanEnd = i + 1;
      return count;
    }
    throw new SyntaxError(`quotes: expected , or ] at ${i}`);
  }
}

function skipWs(text: string, i: number): number {
  let c = text.charCodeAt(i);
  while (c === 32 || c === 10 || c === 13 || c === 9) c = text.charCodeAt(++i);
  return i;
}

/** Index of the quote closing the string that opens at `i`. */
function stringEnd(text: string, i: number): number {
  let j = text.indexOf('"', i + 1);
  for (;;) {
    if (j < 0) throw new SyntaxError('quotes: unterminated string');
    let backslashes = 0;
    while (text.charCodeAt(j - 1 - backslashes) === 92 /* \ */) backslashes++;
    if (backslashes % 2 === 0) return j;
    j = text.indexOf('"', j + 1);
  }
}

function numberEnd(text: string, i: number): number {
  const start = i;
  for (;;) {
    const c = text.charCodeAt(i);
    // 0-9 . + - e E
    if ((c >= 48 && c <= 57) || c === 46 || c === 43 || c === 45 || c === 101 || c === 69) i++;
    else break;
  }
  if (i === start) throw new SyntaxError(`quotes: expected a number at ${start}`);
  return i;
}

/** Index just past the JSON value starting at `i`. */
function skipValue(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === 34) return stringEnd(text, i) + 1;
  if (c === 123 || c === 91) {
    let depth = 0;
    for (;;) {
      const d = text.charCodeAt(i);
      if (d === 34) i = stringEnd(text, i);
      else if (d === 123 || d === 91) depth++;
      else if (d === 125 || d === 93) {
        if (--depth === 0) return i + 1;
      } else if (Number.isNaN(d)) throw new SyntaxError('quotes: unterminated value');
      i++;
    }
  }
  if (c === 116 /* true */ || c === 110 /* null */) return i + 4;
  if (c === 102 /* false */) return i + 5;
  return numberEnd(text, i);
}
