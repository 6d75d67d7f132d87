import { type HttpServer, type INestApplication, NotFoundException } from '@nestjs/common';
import compression from 'compression';
import type { Express, NextFunction, Request, Response } from 'express';
import helmet, { type HelmetOptions } from 'helmet';
import { basename, dirname, posix } from 'node:path';

/**
 * The dashboard's Content-Security-Policy, on every HTTP response. Everything it
 * loads is its own: `/assets/*.js` and `*.css` from Vite's build, `/favicon.svg`,
 * `fetch` to `/api`, a Socket.IO WebSocket to the same host. No inline script or
 * style exists in web/index.html or the built bundle (Chart.js sizes canvases
 * through `element.style`, the CSSOM, which CSP does not restrict), so neither
 * `script-src` nor `style-src` needs `'unsafe-inline'`.
 */
const CONTENT_SECURITY_POLICY: Record<string, string[]> = {
  'default-src': ["'self'"],
  // CSP Level 3 lets 'self' match ws:/wss: on the page's own host and port; checked in
  // Chromium 156, which allows ws://<same host>/ and blocks ws://<other host>/ under it.
  'connect-src': ["'self'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'"],
  'object-src': ["'none'"],
  // The page has no <base>; a form posts only back to us; nothing may frame it.
  'base-uri': ["'none'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
};

const HELMET_OPTIONS: HelmetOptions = {
  contentSecurityPolicy: {
    // Helmet's defaults add `style-src https: 'unsafe-inline'` and `upgrade-insecure-requests`;
    // the second would rewrite `/assets/*` and ws:// to https:// and wss:// on a plain-HTTP
    // deployment (the e2e and browser tests, a LAN box) and break the page.
    useDefaults: false,
    directives: CONTENT_SECURITY_POLICY,
  },
  xFrameOptions: { action: 'deny' },
  referrerPolicy: { policy: 'no-referrer' },
  // HSTS is ignored over plain HTTP and, sent through a TLS proxy, would pin every
  // subdomain to HTTPS for a year: the proxy that terminates TLS should own it.
  strictTransportSecurity: false,
};

/**
 * Security headers and compression for every response Express sends, and a 404 for
 * source maps. Socket.IO is not affected: Engine.IO answers `/socket.io/` from its
 * own `request` listener in front of Express, and WebSocket upgrades never reach
 * Express (`hardenEngineIo` in engine-io-hardening.ts gives those their headers).
 */
export function applyHttpHardening(app: INestApplication): void {
  (app.getHttpAdapter() as HttpServer<unknown, unknown, Express>)
    .getInstance()
    .disable('x-powered-by');
  app.use(helmet(HELMET_OPTIONS));
  // compression's defaults: bodies of 1 KB or more, brotli quality 4 when accepted (Chromium),
  // else gzip level 6. Measured: the 318 KB dashboard bundle goes out at ~104 KB (br, ~6 ms
  // of CPU) or ~102 KB (gzip, ~13 ms), once per browser since it is immutable; `/api/symbols`
  // 5.9 KB -> 1.4 KB. Below 1 KB (`/health`, 71 B) gzip's 18-byte frame costs more than it saves.
  app.use(compression());
  // Vite keeps the dashboard's source maps next to its bundles (for the browser tests'
  // stack traces); the static handler would hand them to anyone, so they are Not Found.
  app.use((req: Request, _res: Response, next: NextFunction) => {
    next(
      isSourceMapRequest(req.path)
        ? new NotFoundException(`Cannot ${req.method} ${req.originalUrl}`)
        : undefined,
    );
  });
}

/** Nest's routes under `/api/` (a symbol such as `X.MAP` may end in `.map`). */
const API_PATH = /^\/api\//i;

/**
 * Whether a request path names a source map (`*.map`, any case) that the static
 * handler could serve: as `send` resolves it, percent-decoded and with its dot
 * segments removed (`/api/../assets/x.js.map`, `/assets/x.js%2Emap`), and not
 * one of Nest's `/api/` routes. A path that does not decode is `send`'s 400.
 */
export function isSourceMapRequest(path: string): boolean {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return false;
  }
  const resolved = posix.normalize(decoded);
  return resolved.toLowerCase().endsWith('.map') && !API_PATH.test(resolved);
}

/** Vite's `[name]-[hash][extname]` (8-character base64url hash), and its `.map`. */
const HASHED_NAME = /-[\w-]{8}\.[a-z0-9]+(?:\.map)?$/i;

/** Cache lifetime of a content-hashed file: a year, the longest value caches honour. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * `setHeaders` for the dashboard's static files, also applied by
 * `@nestjs/serve-static` to `index.html` when served for a dashboard route.
 * Vite's hashed build output under `assets/` never changes under its name, so
 * browsers may keep it for a year without asking; anything else (`index.html`,
 * which names the current hashes, and `web/public/` files) is revalidated on
 * every use (`no-cache`), cheaply, because `send` keeps its ETag and
 * Last-Modified and answers 304.
 */
export function setStaticFileHeaders(
  res: { setHeader(name: string, value: string): unknown },
  path: string,
): void {
  const hashed = basename(dirname(path)) === 'assets' && HASHED_NAME.test(basename(path));
  res.setHeader('Cache-Control', hashed ? IMMUTABLE : 'no-cache');
}
