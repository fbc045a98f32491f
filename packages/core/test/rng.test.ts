import { describe, expect, it } from 'vitest';
import { Rng } from '../src/index.js';

describe('Rng', () => {
  it('gives the same stream for the same seed and differs across seeds', () => {
    const a = Rng.fromSeed(42);
    const b = Rng.fromSeed(42);
    const c = Rng.fromSeed(43);
    const xa = Array.from({ length: 8 }, () => a.nextUint32());
    const xb = Array.from({ length: 8 }, () => b.nextUint32());
    const xc = Array.from({ length: 8 }, () => c.nextUint32());
    expect(xa).toEqual(xb);
    expect(xa).not.toEqual(xc);
  });

  it('restores exactly from its state', () => {
    const a = Rng.fromSeed(7);
    for (let i = 0; i < 10; i++) a.nextFloat();
    const b = Rng.fromState(a.state());
    expect(Array.from({ length: 5 }, () => a.nextFloat())).toEqual(
      Array.from({ length: 5 }, () => b.nextFloat()),
    );
  });

  it('derives streams that depend only on their keys', () => {
    const x = Rng.derive(1, 5).nextUint32();
    expect(Rng.derive(1, 5).nextUint32()).toBe(x);
    expect(Rng.derive(1, 6).nextUint32()).not.toBe(x);
    expect(Rng.derive(2, 5).nextUint32()).not.toBe(x);
  });

  it('draws uniform floats in [0, 1) with the right mean', () => {
    const r = Rng.fromSeed(3);
    let sum = 0;
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const u = r.nextFloat();
      expect(u >= 0 && u < 1).toBe(true);
      sum += u;
    }
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.005);
  });

  it('rejects a non-integer seed with a typed error', () => {
    expect(() => Rng.fromSeed(1.5)).toThrow(/seed/);
  });
});
