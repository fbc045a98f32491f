// Distribution tests: the empirical frequencies of 20 000 seeded draws match
// the temperature / top-k / top-p renormalised distribution (chi-square at
// alpha = 0.001; the seed is fixed, so the outcome is deterministic).

import { Rng } from '@remax/core';
import { describe, expect, it } from 'vitest';
import { type SamplingParams, TokenSampler } from '../src/sampling.js';
import { naiveKept } from './naiveSampling.js';

const DRAWS = 20_000;

/** Upper 0.1% point of chi-square(df), Wilson-Hilferty approximation. */
function chiSquareCritical(df: number): number {
  const z = 3.0902; // standard normal 0.999 quantile
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

interface DrawSummary {
  counts: Map<number, number>;
  expected: Map<number, number>;
}

function drawMany(row: Float32Array, params: SamplingParams, seed: number): DrawSummary {
  const sampler = new TokenSampler(row.length);
  const rng = Rng.fromSeed(seed);
  const counts = new Map<number, number>();
  for (let d = 0; d < DRAWS; d++) {
    const { token } = sampler.sample(row, params, rng);
    counts.set(token, (counts.get(token) ?? 0) + 1);
  }
  const reference = naiveKept(row, params);
  const expected = new Map<number, number>();
  reference.ids.forEach((id, j) => {
    expected.set(id, (DRAWS * (reference.weights[j] as number)) / reference.total);
  });
  return { counts, expected };
}

/** Chi-square statistic and df; bins expecting < 5 draws are pooled. */
function chiSquare({ counts, expected }: DrawSummary): { stat: number; df: number } {
  let stat = 0;
  let bins = 0;
  let pooledExpected = 0;
  let pooledObserved = 0;
  for (const [id, e] of expected) {
    const o = counts.get(id) ?? 0;
    if (e < 5) {
      pooledExpected += e;
      pooledObserved += o;
      continue;
    }
    stat += (o - e) ** 2 / e;
    bins++;
  }
  if (pooledExpected >= 5) {
    stat += (pooledObserved - pooledExpected) ** 2 / pooledExpected;
    bins++;
  } else if (pooledObserved > 0) {
    // pooled bins too small to test on their own: they may not absorb many draws
    expect(pooledObserved).toBeLessThan(5 + 5 * pooledExpected);
  }
  return { stat, df: bins - 1 };
}

function expectMatches(summary: DrawSummary): void {
  for (const id of summary.counts.keys())
    expect(summary.expected.has(id), `token ${id}`).toBe(true);
  const { stat, df } = chiSquare(summary);
  if (df === 0) return; // one bin: all draws in the kept set is the whole test
  expect(stat).toBeLessThan(chiSquareCritical(df));
}

function normalRow(seed: number, v: number, scale: number): Float32Array {
  const rng = Rng.fromSeed(seed);
  return Float32Array.from({ length: v }, () => rng.nextNormal() * scale);
}

describe('sampling distribution (chi-square, 20 000 seeded draws)', () => {
  it('top_p = 1, temperature 1: the plain softmax', () => {
    const row = normalRow(10, 12, 1);
    const summary = drawMany(row, { temperature: 1, topK: 0, topP: 1 }, 11);
    expect(summary.expected.size).toBe(12);
    expectMatches(summary);
  });

  it('temperature 0.7, top_p 0.9 (the ReMax setting)', () => {
    const row = normalRow(12, 60, 1.5);
    const summary = drawMany(row, { temperature: 0.7, topK: 0, topP: 0.9 }, 13);
    expect(summary.expected.size).toBeLessThan(60);
    expectMatches(summary);
  });

  it('top_k = 1 always gives the argmax', () => {
    const row = normalRow(14, 40, 1);
    const summary = drawMany(row, { temperature: 1, topK: 1, topP: 1 }, 15);
    const argmax = row.indexOf(Math.max(...row));
    expect([...summary.counts.entries()]).toEqual([[argmax, DRAWS]]);
  });

  it('top_k with ties at the k-th value keeps every tied token, uniformly', () => {
    const row = new Float32Array([0.5, 2, 1, 1, 1, -3, 1, 0]);
    const summary = drawMany(row, { temperature: 1, topK: 2, topP: 1 }, 16);
    expect([...summary.expected.keys()]).toEqual([1, 2, 3, 4, 6]);
    expectMatches(summary);
  });

  it('temperature near 0: the tied maxima share the mass equally, nothing else is drawn', () => {
    const row = new Float32Array([3, 1, 3, 2.99, 3, -1]);
    const summary = drawMany(row, { temperature: 1e-4, topK: 0, topP: 1 }, 17);
    expect([...summary.counts.keys()].sort()).toEqual([0, 2, 4]);
    expectMatches(summary);
  });

  it('-Infinity logits are never drawn', () => {
    const row = normalRow(18, 30, 1);
    for (let i = 0; i < 30; i += 2) row[i] = Number.NEGATIVE_INFINITY;
    const summary = drawMany(row, { temperature: 1.3, topK: 0, topP: 0.95 }, 19);
    for (const id of summary.counts.keys()) expect(id % 2).toBe(1);
    expectMatches(summary);
  });

  it('full 32000-token row with temperature, top-k and top-p together', () => {
    const row = normalRow(20, 32000, 3);
    const summary = drawMany(row, { temperature: 0.7, topK: 50, topP: 0.9 }, 21);
    expect(summary.expected.size).toBeLessThanOrEqual(50);
    expectMatches(summary);
  });

  it('a wrong distribution fails the same check (the test can fail)', () => {
    const row = normalRow(22, 12, 1);
    const summary = drawMany(row, { temperature: 1.2, topK: 0, topP: 1 }, 23);
    const wrong = drawMany(row, { temperature: 1, topK: 0, topP: 1 }, 23).expected;
    const { stat, df } = chiSquare({ counts: summary.counts, expected: wrong });
    expect(stat).toBeGreaterThan(chiSquareCritical(df));
  });
});
