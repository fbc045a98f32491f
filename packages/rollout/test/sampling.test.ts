import { isRemaxError, jsSamplingKernels, Rng, wasmSamplingKernels } from '@remax/core';
import { describe, expect, it } from 'vitest';
import { type SamplingParams, TokenSampler } from '../src/sampling.js';
import { kthLargest } from '../src/tokenOrder.js';
import { naiveKept, naiveSample } from './naiveSampling.js';

/** Random logits rows with ties, -Infinity entries and very different scales. */
function randomRow(rng: Rng, v: number): Float32Array {
  const scale = [0.05, 1, 4, 30][rng.nextInt(4)] as number;
  const tieStep = rng.nextFloat() < 0.4 ? [0.25, 1][rng.nextInt(2)] : 0;
  const negInf = rng.nextFloat() < 0.3 ? rng.nextFloat() * 0.5 : 0;
  const row = new Float32Array(v);
  for (let i = 0; i < v; i++) {
    let x = rng.nextNormal() * scale;
    if (tieStep) x = Math.round(x / (tieStep as number)) * (tieStep as number);
    row[i] = rng.nextFloat() < negInf ? Number.NEGATIVE_INFINITY : x;
  }
  if (row.every((x) => x === Number.NEGATIVE_INFINITY)) row[rng.nextInt(v)] = 0;
  if (rng.nextFloat() < 0.1) row[rng.nextInt(v)] = -0; // -0 must tie with +0
  return row;
}

function randomParams(rng: Rng, v: number): SamplingParams {
  return {
    temperature: [1e-6, 0.3, 0.7, 1, 2.5][rng.nextInt(5)] as number,
    topK: [0, 0, 1, 2, 5, 50, v, v + 3][rng.nextInt(8)] as number,
    topP: [1, 1, 0.9, 0.5, 0.1, 1e-6, 0.999999, 0.95][rng.nextInt(8)] as number,
  };
}

describe('kthLargest', () => {
  it('equals the k-th entry of a descending full sort, with ties and -Infinity', () => {
    const rng = Rng.fromSeed(1);
    for (let trial = 0; trial < 300; trial++) {
      const v = 1 + rng.nextInt(300);
      const row = randomRow(rng, v);
      const sorted = Array.from(row).sort((a, b) => b - a || 0);
      const k = 1 + rng.nextInt(v);
      // === so that -0 and +0 count as the same value
      expect(kthLargest(row, k, new Float32Array(v)) === sorted[k - 1]).toBe(true);
    }
  });
});

describe('TokenSampler.kept (fast) vs a full-sort reference', () => {
  it('keeps the same tokens with bit-identical weights on 3000 random rows (JS kernels, Math.exp as the reference)', () => {
    const rng = Rng.fromSeed(2);
    for (let trial = 0; trial < 3000; trial++) {
      const v = [1, 2, 3, 7, 64, 500, 2000][rng.nextInt(7)] as number;
      const row = randomRow(rng, v);
      const params = randomParams(rng, v);
      const fast = new TokenSampler(v, jsSamplingKernels).kept(row, params);
      const naive = naiveKept(row, params);
      expect(Array.from(fast.ids), JSON.stringify(params)).toEqual(naive.ids);
      expect(Array.from(fast.weights)).toEqual(naive.weights);
      expect(fast.total).toBe(naive.total);
      expect(fast.max === naive.max).toBe(true);
    }
  });

  it('the WebAssembly kernels keep the same tokens as the JS twin, weights within 2 ulps, same draws', () => {
    expect(wasmSamplingKernels(8, 4)).not.toBeNull();
    const rng = Rng.fromSeed(5);
    const samplers = new Map<number, [TokenSampler, TokenSampler]>();
    for (let trial = 0; trial < 1030; trial++) {
      // 1000 rows of up to 2000 tokens, then 30 full 32000-token rows
      const v = trial >= 1000 ? 32000 : ([1, 2, 3, 7, 64, 500, 2000][rng.nextInt(7)] as number);
      const row = randomRow(rng, v);
      const params = randomParams(rng, v);
      if (!samplers.has(v))
        samplers.set(v, [new TokenSampler(v), new TokenSampler(v, jsSamplingKernels)]);
      const [wasm, js] = samplers.get(v) as [TokenSampler, TokenSampler];
      const a = wasm.kept(row, params);
      const b = js.kept(row, params);
      expect(Array.from(a.ids), JSON.stringify(params)).toEqual(Array.from(b.ids));
      a.weights.forEach((w, j) => {
        expect(Math.abs(w - (b.weights[j] as number))).toBeLessThanOrEqual(
          4.5e-16 * (b.weights[j] as number),
        );
      });
      expect(Math.abs(a.total - b.total)).toBeLessThanOrEqual(1e-13 * b.total);
      const seed = 7000 + trial;
      const ra = Rng.fromSeed(seed);
      const rb = Rng.fromSeed(seed);
      for (let d = 0; d < 3; d++) {
        const x = wasm.sample(row, params, ra);
        const y = js.sample(row, params, rb);
        expect(x.token).toBe(y.token);
        expect(Math.abs(x.logprob - y.logprob)).toBeLessThan(1e-12);
      }
      if (row.some((l) => l > Number.NEGATIVE_INFINITY)) {
        const g = wasm.greedy(row);
        const h = js.greedy(row);
        expect(g.token).toBe(h.token);
        expect(Math.abs(g.logprob - h.logprob)).toBeLessThan(1e-12);
      }
    }
  });

  it('agrees on full 32000-token rows and draws the same tokens from the same stream', () => {
    const rng = Rng.fromSeed(3);
    const sampler = new TokenSampler(32000);
    for (let trial = 0; trial < 24; trial++) {
      const row = randomRow(rng, 32000);
      const params = randomParams(rng, 32000);
      const fast = sampler.kept(row, params);
      expect(Array.from(fast.ids)).toEqual(naiveKept(row, params).ids);
      const seed = 1000 + trial;
      const a = Rng.fromSeed(seed);
      const b = Rng.fromSeed(seed);
      for (let d = 0; d < 5; d++) {
        expect(sampler.sample(row, params, a).token).toBe(naiveSample(row, params, b));
      }
    }
  });
});

describe('Hugging Face semantics on hand-made rows', () => {
  const sampler = new TokenSampler(4);
  it('top-p keeps the smallest prefix whose mass reaches top_p (boundary kept out)', () => {
    // four equal tokens, p = 0.25 each: HF removes cumulative-ascending <= 0.5, i.e. two
    const row = new Float32Array([0, 0, 0, 0]);
    expect(Array.from(sampler.kept(row, { temperature: 1, topK: 0, topP: 0.5 }).ids)).toEqual([
      0, 1,
    ]);
    expect(Array.from(sampler.kept(row, { temperature: 1, topK: 0, topP: 0.51 }).ids)).toEqual([
      0, 1, 2,
    ]);
    const probs = new Float32Array([0.3, 0.5, 0.05, 0.15].map(Math.log));
    expect(Array.from(sampler.kept(probs, { temperature: 1, topK: 0, topP: 0.75 }).ids)).toEqual([
      0, 1,
    ]);
    // always at least one token
    expect(Array.from(sampler.kept(probs, { temperature: 1, topK: 0, topP: 1e-9 }).ids)).toEqual([
      1,
    ]);
  });

  it('top-k keeps every token tied with the k-th value, then top-p works on the survivors', () => {
    const row = new Float32Array([1, 3, 1, 1]);
    expect(Array.from(sampler.kept(row, { temperature: 1, topK: 2, topP: 1 }).ids)).toEqual([
      0, 1, 2, 3,
    ]);
    const row2 = new Float32Array([2, 3, 1, 1]);
    const kept = sampler.kept(row2, { temperature: 1, topK: 2, topP: 1 });
    expect(Array.from(kept.ids)).toEqual([0, 1]);
    expect(kept.total).toBeCloseTo(1 + Math.exp(-1), 12);
  });

  it('temperature divides the logits first', () => {
    const row = new Float32Array([0, Math.log(2), -Infinity, 0]);
    const kept = sampler.kept(row, { temperature: 0.5, topK: 0, topP: 1 });
    expect(Array.from(kept.ids)).toEqual([0, 1, 3]);
    // weights exp((l - max) / T): (1/2)^2, 1, (1/2)^2
    expect(Array.from(kept.weights).map((w) => Number(w.toFixed(6)))).toEqual([0.25, 1, 0.25]);
  });

  it('greedy is argmax with the lowest id on ties, logprob under softmax(logits)', () => {
    const choice = sampler.greedy(new Float32Array([1, 5, 5, -Infinity]));
    expect(choice.token).toBe(1);
    expect(choice.logprob).toBeCloseTo(-Math.log(2 + Math.exp(-4)), 12);
  });

  it('sample logprob is the log-probability under the processed distribution', () => {
    const row = new Float32Array([0.3, 0.5, 0.05, 0.15].map(Math.log));
    const params = { temperature: 0.7, topK: 0, topP: 0.75 };
    const rng = Rng.fromSeed(4);
    const p0 = 0.3 ** (1 / 0.7);
    const p1 = 0.5 ** (1 / 0.7);
    for (let d = 0; d < 20; d++) {
      const { token, logprob } = sampler.sample(row, params, rng);
      expect([0, 1]).toContain(token);
      expect(logprob).toBeCloseTo(Math.log((token === 0 ? p0 : p1) / (p0 + p1)), 6);
    }
  });

  it('rejects NaN / +Infinity / all -Infinity rows and bad parameters with typed errors', () => {
    const ok = { temperature: 1, topK: 0, topP: 1 };
    const bad: [Float32Array, SamplingParams][] = [
      [new Float32Array([0, Number.NaN, 1, 2]), ok],
      [new Float32Array([0, Number.POSITIVE_INFINITY, 1, 2]), ok],
      [new Float32Array(4).fill(Number.NEGATIVE_INFINITY), ok],
      [new Float32Array(4), { temperature: 0, topK: 0, topP: 1 }],
      [new Float32Array(4), { temperature: 1, topK: -1, topP: 1 }],
      [new Float32Array(4), { temperature: 1, topK: 0, topP: 0 }],
      [new Float32Array(4), { temperature: 1, topK: 0, topP: 1.5 }],
      [new Float32Array(5), ok],
    ];
    for (const [row, params] of bad) {
      let error: unknown;
      try {
        sampler.kept(row, params);
      } catch (e) {
        error = e;
      }
      expect(isRemaxError(error), String(error)).toBe(true);
    }
  });
});
