import { RemaxError } from './errors.js';

/** Serializable RNG state (for checkpoints and resume). */
export interface RngState {
  readonly algorithm: 'xoshiro128**';
  readonly s: readonly [number, number, number, number];
}

/**
 * Seeded random number generator owned by the caller: xoshiro128** seeded by
 * splitmix32. Pure JS, deterministic on every platform, state is four uint32
 * words so it can be saved and restored exactly.
 */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  private constructor(s: readonly [number, number, number, number]) {
    [this.s0, this.s1, this.s2, this.s3] = s;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // all-zero state is a fixed point
  }

  /** A generator from an integer seed (any safe integer; same seed, same stream). */
  static fromSeed(seed: number): Rng {
    if (!Number.isSafeInteger(seed)) {
      throw new RemaxError('E_INPUT', 'RNG seed must be a safe integer', {
        field: 'seed',
        value: seed,
        expected: 'an integer',
      });
    }
    return new Rng(seedWords([seed]));
  }

  /**
   * An independent stream derived from a seed and a path of integers, e.g.
   * (seed, promptIndex): the stream depends only on those numbers, never on
   * what else was drawn, so a row's samples do not depend on its batch.
   */
  static derive(seed: number, ...path: number[]): Rng {
    for (const v of [seed, ...path]) {
      if (!Number.isSafeInteger(v)) {
        throw new RemaxError('E_INPUT', 'RNG derivation keys must be safe integers', { value: v });
      }
    }
    return new Rng(seedWords([seed, ...path]));
  }

  static fromState(state: RngState): Rng {
    if (state.algorithm !== 'xoshiro128**' || state.s.length !== 4) {
      throw new RemaxError('E_STATE', 'unknown RNG state', {
        value: state,
        expected: "{algorithm: 'xoshiro128**', s: [4 uint32]}",
      });
    }
    return new Rng(state.s);
  }

  state(): RngState {
    return { algorithm: 'xoshiro128**', s: [this.s0, this.s1, this.s2, this.s3] };
  }

  clone(): Rng {
    return new Rng([this.s0, this.s1, this.s2, this.s3]);
  }

  /** Next uniformly distributed uint32. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform float in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n <= 0) {
      throw new RemaxError('E_INPUT', 'nextInt bound must be a positive integer', { value: n });
    }
    return Math.floor(this.nextFloat() * n);
  }

  /** Standard normal draw (Box-Muller). */
  nextNormal(): number {
    let u = 0;
    while (u === 0) u = this.nextFloat();
    const v = this.nextFloat();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** In-place Fisher-Yates shuffle. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** splitmix32 over the key words: mixes every key into all four state words. */
function seedWords(keys: readonly number[]): [number, number, number, number] {
  let h = 0x9e3779b9;
  const mix = (v: number) => {
    h = (h + 0x9e3779b9) | 0;
    let z = (h ^ v) | 0;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    h = (z ^ (z >>> 16)) >>> 0;
    return h;
  };
  for (const k of keys) {
    // split into 32-bit halves so seeds above 2^32 are not truncated
    const lo = (k % 4294967296) >>> 0;
    const hi = Math.floor(k / 4294967296) >>> 0;
    mix(lo);
    mix(hi ^ 0x5bd1e995);
  }
  return [mix(1), mix(2), mix(3), mix(4)];
}
