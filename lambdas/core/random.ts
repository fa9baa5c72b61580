/**
 * A small seeded random source with the samplers the data generator needs. Hand-written because the
 * generator must give byte-identical output for a seed on every machine and Node version, and
 * Math.random cannot be seeded.
 *
 * Generator: sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, from PractRand; passes its
 * statistical tests and BigCrush), state seeded from a 32-bit seed with splitmix32.
 */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  /** Second value of the last Marsaglia polar pair, used by the next normal() call. */
  private spareNormal: number | undefined;

  /** `seed` is an integer in [0, 2^32). */
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) {
      throw new RangeError(`seed must be an integer between 0 and 4294967295, got ${seed}`);
    }
    let mix = seed >>> 0;
    const splitmix32 = (): number => {
      mix = (mix + 0x9e3779b9) | 0;
      let z = mix;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = splitmix32();
    this.b = splitmix32();
    this.c = splitmix32();
    this.d = 1;
    // The author's recommended warm-up, so nearby seeds decorrelate.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform on the open interval (0, 1): never 0, so logarithms and powers stay finite. */
  uniform(): number {
    return (this.nextUint32() + 0.5) / 4_294_967_296;
  }

  /** Uniform on (low, high). */
  between(low: number, high: number): number {
    return low + (high - low) * this.uniform();
  }

  /** True with probability `probability`. */
  chance(probability: number): boolean {
    return this.uniform() < probability;
  }

  /** Standard normal, Marsaglia's polar method. */
  normal(): number {
    if (this.spareNormal !== undefined) {
      const spare = this.spareNormal;
      this.spareNormal = undefined;
      return spare;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * this.uniform() - 1;
      v = 2 * this.uniform() - 1;
      s = u * u + v * v;
    } while (s >= 1);
    const factor = Math.sqrt((-2 * Math.log(s)) / s);
    this.spareNormal = v * factor;
    return u * factor;
  }

  /** Exponential with the given rate (mean 1/rate). */
  exponential(rate: number): number {
    return -Math.log(this.uniform()) / rate;
  }

  /**
   * Gamma with shape k and scale θ (mean kθ), Marsaglia & Tsang (2000), "A simple method for
   * generating gamma variables"; shapes below 1 use their boost Gamma(k+1)·U^(1/k).
   */
  gamma(shape: number, scale: number): number {
    if (!(shape > 0) || !(scale > 0)) throw new RangeError(`gamma needs shape > 0 and scale > 0, got ${shape}, ${scale}`);
    if (shape < 1) return this.gamma(shape + 1, scale) * Math.pow(this.uniform(), 1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      const x = this.normal();
      let v = 1 + c * x;
      if (v <= 0) continue;
      v = v * v * v;
      const u = this.uniform();
      const x2 = x * x;
      if (u < 1 - 0.0331 * x2 * x2 || Math.log(u) < 0.5 * x2 + d * (1 - v + Math.log(v))) return d * v * scale;
    }
  }

  /** Beta(α, β) as X/(X+Y) with X ~ Gamma(α), Y ~ Gamma(β). */
  beta(alpha: number, beta: number): number {
    const x = this.gamma(alpha, 1);
    return x / (x + this.gamma(beta, 1));
  }

  /**
   * Poisson with the given mean, Knuth's multiplication method: exact, O(mean) work, so only for
   * the small means the generator uses (the bound keeps exp(-mean) far from underflow).
   */
  poisson(mean: number): number {
    if (!(mean >= 0) || mean > 50) throw new RangeError(`poisson supports means in [0, 50], got ${mean}`);
    const limit = Math.exp(-mean);
    let count = 0;
    let product = this.uniform();
    while (product > limit) {
      count++;
      product *= this.uniform();
    }
    return count;
  }
}
