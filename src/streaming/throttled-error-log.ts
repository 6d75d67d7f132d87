import type { Logger } from '@nestjs/common';

/**
 * Logs failures that can come at the quote or frame rate at most once per
 * `periodMs` (10 s by default), with the count of those suppressed in
 * between, so one broken sink or client cannot flood the log.
 */
export class ThrottledErrorLog {
  private lastAt = Number.NEGATIVE_INFINITY;
  private suppressed = 0;

  constructor(
    private readonly logger: Logger,
    private readonly periodMs = 10_000,
  ) {}

  /** Logs `message` and the error's stack, unless one was logged within the period (`now` in ms). */
  report(message: string, err: unknown, now: number): void {
    if (now - this.lastAt < this.periodMs) {
      this.suppressed++;
      return;
    }
    const suppressed = this.suppressed;
    this.lastAt = now;
    this.suppressed = 0;
    this.logger.error(
      message + (suppressed > 0 ? ` (${suppressed} more failure(s) since the last report)` : ''),
      err instanceof Error ? err.stack : String(err),
    );
  }
}
