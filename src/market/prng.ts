/**
 * Small, fast, seeded pseudo-random generator for the simulated feed.
 *
 * sfc32 (Chris Doty-Humphrey's "small fast chaotic" generator): 128 bits of
 * state, passes PractRand/BigCrush, and uses only 32-bit integer ops that V8
 * keeps in registers, so it is several times faster than `Math.random()` and,
 * unlike it, reproducible from a seed. The state is filled by splitmix32 so
 * that nearby seeds (42, 43, …) give unrelated streams.
 */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal = 0;
  private hasSpareNormal = false;

  /**
   * @param seed any uint32 (other numbers are truncated to their low 32 bits)
   * @param stream selects an independent stream for the same seed, so one
   *   seed can drive several generators without them sharing draws
   */
  constructor(seed: number, stream = 0) {
    let s = (seed ^ Math.imul(stream, 0x6a09e667)) >>> 0;
    const splitmix32 = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
      return (z ^ (z >>> 15)) >>> 0;
    };
    this.a = splitmix32();
    this.b = splitmix32();
    this.c = splitmix32();
    this.d = splitmix32();
    // The reference implementation discards the first outputs to mix the state.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** Uniform integer in [0, 2³²). */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1), 32 bits of resolution. */
  next(): number {
    return this.nextUint32() / 4_294_967_296;
  }

  /** Standard normal N(0, 1): Marsaglia's polar method, the second value is kept for the next call. */
  normal(): number {
    if (this.hasSpareNormal) {
      this.hasSpareNormal = false;
      return this.spareNormal;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * this.next() - 1;
      v = 2 * this.next() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spareNormal = v * f;
    this.hasSpareNormal = true;
    return u * f;
  }

  /** Exponential with the given rate (mean 1/rate). */
  exponential(rate: number): number {
    // 1 - next() is in (0, 1], so the log is finite.
    return -Math.log(1 - this.next()) / rate;
  }

  /**
   * Poisson-distributed count with the given mean. Knuth's multiplication
   * method, O(mean): meant for the small means of the price model (jumps per
   * trade are ≪ 1). Larger means are split into chunks of 30 so exp(−mean)
   * never underflows.
   */
  poisson(mean: number): number {
    if (!(mean > 0)) return 0;
    let count = 0;
    let remaining = mean;
    while (remaining > 0) {
      const chunk = remaining > 30 ? 30 : remaining;
      remaining -= chunk;
      const limit = Math.exp(-chunk);
      let p = this.next();
      while (p > limit) {
        count++;
        p *= this.next();
      }
    }
    return count;
  }

  /** Log-normal: exp(N(mu, sigma²)). */
  lognormal(mu: number, sigma: number): number {
    return Math.exp(mu + sigma * this.normal());
  }
}
