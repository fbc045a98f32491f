// Next-token selection on one row of float32 logits, in pure JS (float64 math).
//
// Hugging Face order and semantics: temperature first, then top-k, then top-p.
// - temperature: scaled logits s_i = (l_i - max) / T, weights w_i = exp(s_i)
//   (the max shift does not change the softmax and keeps T -> 0 free of
//   Infinity - Infinity).
// - top-k (TopKLogitsWarper): keep every token whose logit is >= the k-th
//   largest logit, so ties with the k-th value are all kept.
// - top-p (TopPLogitsWarper): HF sorts ascending, takes the cumulative
//   softmax and removes tokens with cumulative <= 1 - top_p, always keeping the
//   most likely token. In descending order that is: a token is kept iff the
//   probability mass of the tokens ranked strictly before it is < top_p (the
//   smallest prefix whose mass reaches top_p). We evaluate that rule with
//   exact sums: each weight is rounded to an integer number of units
//   q_i = round(w_i * 2^Q), Q = 52 - ceil(log2 V), so any sum of them is an
//   exact integer (< 2^52) whatever the order, and a token is kept iff
//   sum(q before it) < top_p * sum(q). The rounding moves the masses by less
//   than V * 2^-(Q+1) of the top token's weight (< 1e-10 for V = 32000), far
//   below the float32 cumsum error of HF itself.
// - canonical order: higher logit first, lower token id first on ties (HF's
//   torch.sort leaves the order of ties unspecified; greedy also picks the
//   lowest id among equal maxima).
// - tokens whose weight is 0 (logit -Infinity, or underflow at a tiny
//   temperature) have probability 0 and are never kept.
//
// Fast path, same result as a full sort: top-k's cut by quickselect; for
// top-p the survivors are bucketed by scaled logit (a monotone map, so every
// bucket is a contiguous run of the canonical order), exact integer masses
// per bucket locate the bucket where the cut falls, and only that bucket is
// sorted.

import { RemaxError, type Rng } from '@remax/core';
import { kthLargest, OrderKeys } from './tokenOrder.js';

/** Sampling parameters, applied in Hugging Face order: temperature, top-k, top-p. */
export interface SamplingParams {
  /** > 0. Logits are divided by it first. */
  readonly temperature: number;
  /** Keep the k most likely tokens (and ties with the k-th); 0 = off. */
  readonly topK: number;
  /** In (0, 1]: keep the smallest set whose probability reaches topP; 1 = off. */
  readonly topP: number;
}

/** A chosen token and its log-probability (see `sample` and `greedy` for which distribution). */
export interface TokenChoice {
  readonly token: number;
  readonly logprob: number;
}

/**
 * The processed distribution of one row: the kept token ids in ascending id
 * order with their unnormalised weights exp((l - max) / T) (all > 0); the
 * probability of ids[j] is weights[j] / total.
 */
export interface KeptTokens {
  readonly ids: Int32Array;
  readonly weights: Float64Array;
  /** Sum of `weights` in ascending id order. */
  readonly total: number;
  /** The row's maximum logit (the shift inside the weights). */
  readonly max: number;
}

const CUT_BUCKETS = 4096; // buckets over the scaled-logit range of the survivors
const MAX_BUCKET_SPAN = 64; // nats; weights below e^-64 all share the last bucket

/**
 * A reusable sampler for rows of one vocabulary size. Holds scratch buffers so
 * a decoding loop allocates nothing per token; results returned by `kept`
 * are views into those buffers, valid until the next call.
 */
export class TokenSampler {
  readonly vocabSize: number;
  private readonly orderKeys: OrderKeys;
  private readonly keys: Float64Array;
  private readonly ids: Int32Array;
  private readonly weights: Float64Array;
  private readonly values: Float32Array;
  private readonly allIds: Int32Array;
  private readonly survivors: Int32Array;
  private readonly rowWeights: Float64Array;
  private readonly rowBuckets: Uint16Array;
  private readonly bucketMass = new Float64Array(CUT_BUCKETS);
  /** 2^Q, the unit of the exact top-p masses (see the module comment). */
  readonly massScale: number;

  constructor(vocabSize: number) {
    if (!Number.isInteger(vocabSize) || vocabSize < 1) {
      throw new RemaxError('E_INPUT', 'vocabulary size must be a positive integer', {
        field: 'vocabSize',
        value: vocabSize,
      });
    }
    this.vocabSize = vocabSize;
    this.orderKeys = new OrderKeys(vocabSize);
    this.keys = new Float64Array(vocabSize);
    this.ids = new Int32Array(vocabSize);
    this.weights = new Float64Array(vocabSize);
    this.values = new Float32Array(vocabSize);
    this.allIds = Int32Array.from({ length: vocabSize }, (_, i) => i);
    this.survivors = new Int32Array(vocabSize);
    this.rowWeights = new Float64Array(vocabSize);
    this.rowBuckets = new Uint16Array(vocabSize);
    this.massScale = topPMassScale(vocabSize);
  }

  /**
   * Draws one token from the processed distribution with one `rng.nextFloat()`.
   * `logprob` is the log-probability of the token under that processed
   * distribution (after temperature, top-k and top-p, renormalised):
   * (l - max) / T - log(total). The draw walks the kept tokens in ascending id
   * order.
   */
  sample(row: Float32Array, params: SamplingParams, rng: Rng): TokenChoice {
    const kept = this.kept(row, params);
    const u = rng.nextFloat();
    const target = u * kept.total;
    const n = kept.ids.length;
    let cumulative = 0;
    let j = 0;
    for (; j < n - 1; j++) {
      cumulative += kept.weights[j] as number;
      if (target < cumulative) break;
    }
    const token = kept.ids[j] as number;
    const logprob = ((row[token] as number) - kept.max) / params.temperature - Math.log(kept.total);
    return { token, logprob };
  }

  /**
   * Argmax, lowest id on ties. `logprob` is the token's log-probability under
   * the unprocessed model distribution softmax(logits) (temperature 1, no
   * filtering): the greedy "distribution" itself is a point mass.
   */
  greedy(row: Float32Array): TokenChoice {
    const max = rowMax(row);
    let token = -1;
    let z = 0;
    for (let i = 0; i < row.length; i++) {
      const l = row[i] as number;
      if (token < 0 && l === max) token = i;
      z += Math.exp(l - max);
    }
    return { token, logprob: -Math.log(z) };
  }

  /** The processed distribution (see the module comment for the exact rules). */
  kept(row: Float32Array, params: SamplingParams): KeptTokens {
    checkParams(params);
    if (row.length !== this.vocabSize) {
      throw new RemaxError('E_SHAPE', 'logits row has the wrong vocabulary size', {
        field: 'logits',
        value: row.length,
        expected: `${this.vocabSize} entries`,
      });
    }
    const { max, minFinite } = rowRange(row);
    const { temperature, topK, topP } = params;
    // Top-k cut on raw logits: dividing by T > 0 keeps their order.
    let candidates = this.allIds;
    let lowest = minFinite; // no candidate with a positive weight is below it
    if (topK > 0 && topK < row.length) {
      const cutoff = kthLargest(row, topK, this.values);
      let n = 0;
      for (let i = 0; i < row.length; i++) {
        if ((row[i] as number) >= cutoff) this.survivors[n++] = i;
      }
      candidates = this.survivors.subarray(0, n);
      lowest = Math.max(lowest, cutoff);
    }
    if (topP >= 1) return this.collect(row, candidates, max, temperature);
    return this.nucleus(row, candidates, max, lowest, temperature, topP);
  }

  /** Every candidate (ascending ids) with positive weight. */
  private collect(row: Float32Array, candidates: Int32Array, max: number, t: number): KeptTokens {
    let n = 0;
    let total = 0;
    for (let j = 0; j < candidates.length; j++) {
      const i = candidates[j] as number;
      const w = Math.exp(((row[i] as number) - max) / t);
      if (w === 0) continue;
      this.ids[n] = i;
      this.weights[n] = w;
      total += w;
      n++;
    }
    return { ids: this.ids.subarray(0, n), weights: this.weights.subarray(0, n), total, max };
  }

  /** Top-p over the candidates (ascending ids, the top-k survivors or all). */
  private nucleus(
    row: Float32Array,
    candidates: Int32Array,
    max: number,
    lowest: number,
    t: number,
    topP: number,
  ): KeptTokens {
    const n = candidates.length;
    const w = this.rowWeights; // [j]: weight of candidates[j]
    const bucket = this.rowBuckets; // [j]: bucket of candidates[j]
    const mass = this.bucketMass;
    // One pass: weights, bucket b = floor((max - l) / T * scale) (monotone in
    // the logit, so each bucket is a run of the canonical order) and exact masses.
    const span = Math.min((max - lowest) / t, MAX_BUCKET_SPAN);
    const scale = span > 0 ? CUT_BUCKETS / span : 0;
    mass.fill(0);
    let total = 0;
    for (let j = 0; j < n; j++) {
      const l = row[candidates[j] as number] as number;
      const wj = Math.exp((l - max) / t);
      w[j] = wj;
      if (wj === 0) continue;
      const b = Math.min(CUT_BUCKETS - 1, Math.floor(((max - l) / t) * scale));
      bucket[j] = b;
      const q = Math.round(wj * this.massScale);
      mass[b] = (mass[b] as number) + q;
      total += q;
    }
    // The bucket holding the cut: the first whose cumulative mass reaches the threshold.
    const threshold = topP * total;
    let cutBucket = 0;
    let before = 0; // exact mass of the buckets before cutBucket
    for (; cutBucket < CUT_BUCKETS - 1; cutBucket++) {
      const m = mass[cutBucket] as number;
      if (before + m >= threshold) break;
      before += m;
    }
    // Sort that bucket's tokens in canonical order and walk it: keep while the mass before < threshold.
    const bits = new Uint32Array(row.buffer, row.byteOffset, row.length);
    let m = 0;
    for (let j = 0; j < n; j++) {
      if ((w[j] as number) > 0 && bucket[j] === cutBucket) {
        const i = candidates[j] as number;
        this.keys[m++] = this.orderKeys.pack(bits[i] as number, i);
      }
    }
    const keys = this.keys.subarray(0, m);
    keys.sort();
    let lowestKeptKey = Number.POSITIVE_INFINITY;
    for (let r = m - 1; r >= 0; r--) {
      // threshold > 0, so the first token (mass before it 0) is always kept
      if (before >= threshold) break;
      lowestKeptKey = keys[r] as number;
      const id = this.orderKeys.idOf(lowestKeptKey);
      before += Math.round(Math.exp(((row[id] as number) - max) / t) * this.massScale);
    }
    // Kept: every candidate in an earlier bucket, and the kept prefix of the cut bucket.
    let kept = 0;
    let keptTotal = 0;
    for (let j = 0; j < n; j++) {
      const wj = w[j] as number;
      if (wj === 0) continue;
      const b = bucket[j] as number;
      const i = candidates[j] as number;
      if (
        b < cutBucket ||
        (b === cutBucket && this.orderKeys.pack(bits[i] as number, i) >= lowestKeptKey)
      ) {
        this.ids[kept] = i;
        this.weights[kept] = wj;
        keptTotal += wj;
        kept++;
      }
    }
    return {
      ids: this.ids.subarray(0, kept),
      weights: this.weights.subarray(0, kept),
      total: keptTotal,
      max,
    };
  }
}

/** 2^Q with Q = 52 - ceil(log2 V): V weights of at most 2^Q units sum exactly in float64. */
export function topPMassScale(vocabSize: number): number {
  return 2 ** (52 - Math.max(1, Math.ceil(Math.log2(vocabSize))));
}

/** Row maximum; NaN, +Infinity or an all -Infinity row are errors (no distribution). */
export function rowMax(row: Float32Array): number {
  return rowRange(row).max;
}

/** Row maximum and smallest finite logit, with the checks of `rowMax`. */
function rowRange(row: Float32Array): { max: number; minFinite: number } {
  let max = Number.NEGATIVE_INFINITY;
  let minFinite = Number.POSITIVE_INFINITY;
  for (let i = 0; i < row.length; i++) {
    const l = row[i] as number;
    if (l > max) max = l;
    if (l < minFinite && l !== Number.NEGATIVE_INFINITY) minFinite = l;
    else if (Number.isNaN(l)) {
      throw new RemaxError('E_NUMERIC', 'logits contain NaN', {
        field: `logits[${i}]`,
        expected: 'finite logits or -Infinity',
      });
    }
  }
  if (max === Number.POSITIVE_INFINITY || max === Number.NEGATIVE_INFINITY) {
    throw new RemaxError('E_NUMERIC', 'logits row has no usable maximum', {
      field: 'logits',
      value: max,
      expected: 'at least one finite logit and no +Infinity',
    });
  }
  return { max, minFinite };
}

function checkParams(params: SamplingParams): void {
  const { temperature, topK, topP } = params;
  if (!(temperature > 0) || !Number.isFinite(temperature)) {
    throw new RemaxError('E_INPUT', 'temperature must be a finite number > 0', {
      field: 'temperature',
      value: temperature,
      expected: 'a finite number > 0 (use greedy decoding instead of temperature 0)',
    });
  }
  if (!Number.isInteger(topK) || topK < 0) {
    throw new RemaxError('E_INPUT', 'topK must be an integer >= 0', {
      field: 'topK',
      value: topK,
      expected: 'an integer >= 0 (0 = off)',
    });
  }
  if (!(topP > 0 && topP <= 1)) {
    throw new RemaxError('E_INPUT', 'topP must be in (0, 1]', {
      field: 'topP',
      value: topP,
      expected: 'a number in (0, 1] (1 = off)',
    });
  }
}
