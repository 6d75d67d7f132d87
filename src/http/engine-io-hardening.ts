import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * The part of helmet's set that means something on a response that is not a
 * page, as everything Engine.IO writes is (packets as text/plain or
 * octet-stream, `ok` as text/html, JSON errors, 101s): no sniffing a body into
 * HTML or script, no other site reading it through a no-cors `<script>` or
 * `<img>` (CORS requests are not affected), and should a browser ever render one
 * as a document, it may load and run nothing and be framed by nobody (the CSP;
 * X-Frame-Options for browsers without `frame-ancestors`). The rest of helmet's
 * set only governs documents (COOP, Origin-Agent-Cluster, Referrer-Policy,
 * X-DNS-Prefetch-Control, X-Download-Options, X-Permitted-Cross-Domain-Policies,
 * X-XSS-Protection); HSTS is left to the TLS proxy, as for Express.
 */
export const NON_DOCUMENT_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
};

const HEADER_ENTRIES = Object.entries(NON_DOCUMENT_HEADERS);
const HEADER_LINES = HEADER_ENTRIES.map(([name, value]) => `${name}: ${value}\r\n`).join('');

/** What `connection_error` reports (engine.io's `BaseServer`). */
interface EngineConnectionError {
  req?: IncomingMessage;
  message?: string;
  context?: { message?: unknown };
}

/** The parts of an Engine.IO server this uses: `server.engine` of Socket.IO. */
export interface HardenableEngine {
  use(
    fn: (
      req: IncomingMessage,
      res: { setHeader(name: string, value: string): unknown },
      next: (err?: Error) => void,
    ) => void,
  ): void;
  on(event: 'connection_error', listener: (err: EngineConnectionError) => void): unknown;
}

/**
 * Puts {@link NON_DOCUMENT_HEADERS} on every HTTP response Engine.IO writes;
 * Express's middleware (helmet) never sees `/socket.io/`. Call it before any
 * other `engine.use`: a middleware that fails (our origin check) ends the
 * chain, and its 400 must carry them too.
 *
 * - A middleware sets them on the response of every request before Engine.IO
 *   looks at it, so every later `writeHead` merges them in: the polling
 *   handshake, GETs and POSTs, and each error written through the response
 *   (its `abortRequest` 400/403 JSON, the polling transport's 400 overlap, 413
 *   and 500). On a WebSocket upgrade the response is Engine.IO's stand-in, whose
 *   headers go into ws's 101. (The `headers`/`initial_headers` events cover the
 *   polling 200s and the 101 only.)
 * - Engine.IO writes its upgrade refusals (`abortUpgrade`: always a 400, text/html)
 *   straight onto the TCP socket, after emitting `connection_error`. That
 *   listener answers first, with the same status and message plus the headers,
 *   as text/plain; `abortUpgrade` writes only to a writable socket, so it just
 *   destroys it as before.
 */
export function hardenEngineIo(engine: HardenableEngine): void {
  engine.use((_req, res, next) => {
    for (const [name, value] of HEADER_ENTRIES) res.setHeader(name, value);
    next();
  });
  engine.on('connection_error', (err) => {
    const req = err.req;
    // Only requests Node emitted as `upgrade` (its parser sets `req.upgrade`): a polling
    // error goes out through its response, which has the headers already.
    if (req === undefined || (req as { upgrade?: unknown }).upgrade !== true) return;
    const socket = req.socket;
    // Written to already: a failed handshake of an open WebSocket (its 101 is out).
    if (!socket.writable || socket.bytesWritten !== 0) return;
    const message = err.context?.message;
    refuseUpgrade(socket, typeof message === 'string' ? message : (err.message ?? 'Bad request'));
  });
}

/**
 * Refuses an upgrade with {@link NON_DOCUMENT_HEADERS}: an HTTP response written
 * straight onto the TCP socket (Engine.IO's refusals are 400s; `/ws` also
 * answers 401, 403, 429 and 503), then the socket ended.
 */
export function refuseUpgrade(
  socket: Duplex,
  text: string,
  status = 400,
  statusText = 'Bad Request',
): void {
  socket.on('error', () => undefined);
  socket.end(
    `HTTP/1.1 ${status} ${statusText}\r\nConnection: close\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\n` +
      `${HEADER_LINES}\r\n${text}`,
  );
}
