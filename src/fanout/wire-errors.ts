import type { ErrorCode, WireError } from '../shared/protocol.js';

/**
 * A failure the client is allowed to see. Everything else becomes INTERNAL with
 * a generic message (and a server log line), so no internals or payloads leak.
 */
export class WireException extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'WireException';
  }
}

export class BadRequestException extends WireException {
  constructor(message: string) {
    super('BAD_REQUEST', message);
    this.name = 'BadRequestException';
  }
}

/** Maps any thrown value to what goes on the wire: the one place errors are translated. */
export function toWireError(err: unknown): WireError {
  if (err instanceof WireException) return { code: err.code, message: err.message };
  return { code: 'INTERNAL', message: 'Internal server error' };
}
