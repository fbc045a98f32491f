// Test-only reference: the sampling rules of src/sampling.ts evaluated the
// obvious way, with a full comparator sort of the vocabulary. The fast
// sampler must keep the same tokens with the same float64 sums.

import type { Rng } from '@remax/core';
import { type SamplingParams, topPMassScale } from '../src/sampling.js';

export interface NaiveKept {
  ids: number[];
  weights: number[];
  total: number;
  max: number;
}

export function naiveKept(row: Float32Array, params: SamplingParams): NaiveKept {
  const v = row.length;
  let max = Number.NEGATIVE_INFINITY;
  for (const l of row) max = Math.max(max, l);
  // canonical order: higher logit first, lower id first on ties
  const order = Array.from({ length: v }, (_, i) => i).sort((a, b) => {
    const x = row[a] as number;
    const y = row[b] as number;
    if (x > y) return -1;
    if (x < y) return 1;
    return a - b;
  });
  // top-k as TopKLogitsWarper: remove logits < the k-th largest
  const kth =
    params.topK > 0 && params.topK < v
      ? (row[order[params.topK - 1] as number] as number)
      : -Infinity;
  const w = new Float64Array(v);
  for (let i = 0; i < v; i++) {
    const l = row[i] as number;
    const s = (l - max) / params.temperature;
    w[i] = l >= kth && s >= -708 ? Math.exp(s) : 0;
  }
  const keep = new Uint8Array(v).fill(1);
  if (params.topP < 1) {
    // exact integer masses (see src/sampling.ts)
    const unit = topPMassScale(v);
    const q = Array.from(w, (wi) => Math.floor(wi * unit + 0.5));
    const z = q.reduce((a, b) => a + b, 0);
    // TopPLogitsWarper in descending order: keep iff the mass ranked before is < top_p
    let before = 0;
    order.forEach((id, r) => {
      keep[id] = r === 0 || before < params.topP * z ? 1 : 0;
      before += q[id] as number;
    });
  }
  const ids: number[] = [];
  const weights: number[] = [];
  let total = 0;
  for (let i = 0; i < v; i++) {
    if (keep[i] && (w[i] as number) > 0) {
      ids.push(i);
      weights.push(w[i] as number);
      total += w[i] as number;
    }
  }
  return { ids, weights, total, max };
}

export function naiveSample(row: Float32Array, params: SamplingParams, rng: Rng): number {
  const kept = naiveKept(row, params);
  const target = rng.nextFloat() * kept.total;
  let c = 0;
  for (let j = 0; j < kept.ids.length; j++) {
    c += kept.weights[j] as number;
    if (target < c) return kept.ids[j] as number;
  }
  return kept.ids[kept.ids.length - 1] as number;
}
