import type { ErrorCode } from '../stores/market-types.js';

/** The server answered a subscribe or unsubscribe with `ok: false`. */
export class RequestRefusedError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RequestRefusedError';
  }
}

/**
 * What the subscription sync does after a failed request. `retry`: on a timer,
 * for what can pass (no ack in time, a dropped connection, RATE_LIMITED, an
 * INTERNAL fault). `hold`: until the desired subscription changes, because the
 * server refused the request itself (BAD_REQUEST) and would refuse the same
 * request every time: retrying it every 2 s only repeats the error.
 */
export function afterSyncFailure(error: unknown): 'retry' | 'hold' {
  return error instanceof RequestRefusedError && error.code === 'BAD_REQUEST' ? 'hold' : 'retry';
}
