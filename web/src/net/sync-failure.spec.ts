import { describe, expect, it } from 'vitest';
import { afterSyncFailure, RequestRefusedError } from './sync-failure.js';

describe(afterSyncFailure.name, () => {
  it('holds a request the server refused as BAD_REQUEST', () => {
    expect(afterSyncFailure(new RequestRefusedError('BAD_REQUEST', 'not a ticker symbol'))).toBe(
      'hold',
    );
  });

  it.each(['RATE_LIMITED', 'INTERNAL', 'LIMIT_EXCEEDED', 'UNAUTHORIZED'] as const)(
    'retries a request refused with %s',
    (code) => {
      expect(afterSyncFailure(new RequestRefusedError(code, 'later'))).toBe('retry');
    },
  );

  it('retries after a timeout, a disconnect or anything unexpected', () => {
    expect(afterSyncFailure(new Error('no answer from the server'))).toBe('retry');
    expect(afterSyncFailure(new Error('disconnected'))).toBe('retry');
    expect(afterSyncFailure('BAD_REQUEST')).toBe('retry');
  });
});
