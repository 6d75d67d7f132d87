/** Construction options of {@link ReconnectBackoff}. */
export interface ReconnectBackoffOptions {
  /** Ceiling of the first delay (ms). */
  initialMs?: number;
  /** Largest ceiling any delay can reach (ms). */
  maxMs?: number;
  /** Uniform in [0, 1): `Math.random` by default, a seeded PRNG in tests. */
  random?: () => number;
}

/**
 * Exponential backoff with full jitter for reconnecting to an upstream: the
 * n-th delay in a row (from 0) is uniform in [0, min(maxMs, initialMs · 2ⁿ)).
 * Full jitter rather than a fixed ladder so that many servers cut off by the
 * same upstream outage do not all knock again in the same millisecond (AWS
 * Architecture Blog, "Exponential Backoff and Jitter"). Defaults 1 s → 30 s:
 * the first retry comes within a second, a long outage costs one attempt per
 * 15 s on average. Pure: no timers, the caller schedules the delay.
 */
export class ReconnectBackoff {
  readonly initialMs: number;
  readonly maxMs: number;
  private readonly random: () => number;
  private failures = 0;

  constructor(options: ReconnectBackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 1000;
    this.maxMs = options.maxMs ?? 30_000;
    this.random = options.random ?? Math.random;
    if (!(this.initialMs > 0) || !(this.maxMs >= this.initialMs)) {
      throw new RangeError(
        `ReconnectBackoff needs 0 < initialMs <= maxMs, got ${this.initialMs} and ${this.maxMs}`,
      );
    }
  }

  /** Delays handed out since the last {@link reset}. */
  get attempts(): number {
    return this.failures;
  }

  /** The ceiling of the next delay: initialMs · 2^attempts, capped at maxMs. */
  get ceilingMs(): number {
    // 2^31 and beyond would only be capped anyway; the exponent is bounded so it stays finite.
    return Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.failures, 31));
  }

  /** The delay before the next attempt (ms, an integer), and one more attempt counted. */
  next(): number {
    const ceiling = this.ceilingMs;
    this.failures++;
    const r = this.random();
    const unit = r >= 0 && r < 1 ? r : 0;
    return Math.floor(unit * ceiling);
  }

  /** Back to the first delay: call once the upstream is healthy again (data flows). */
  reset(): void {
    this.failures = 0;
  }
}
