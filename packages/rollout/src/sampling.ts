// Next-token selection on one row of float32 logits, in float64 math. The
// O(V) passes over the row (max, exps, top-p buckets) run in @remax/core's
// sampling kernels (WebAssembly SIMD on memory of their own, or their JS twin).
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
//   q_i = floor(w_i * 2^Q + 1/2), Q = 52 - ceil(log2 V), so any sum of them is
//   an exact integer (< 2^52) whatever the order, and a token is kept iff
//   sum(q before it) < top_p * sum(q). The rounding moves a mass by at most
//   V * 2^-(Q+1) of the top token's weight (1.2e-7 for V = 32000; typically
//   sqrt(V) * 2^-(Q+1) ~ 6e-10), the order of HF's own float32 cumsum error.
// - canonical order: higher logit first, lower token id first on ties (HF's
//   torch.sort leaves the order of ties unspecified; greedy also picks the
//   lowest id among equal maxima).
// - tokens whose weight is 0 (logit -Infinity, or s_i < -708, where exp
//   leaves the normal float64 range) have probability 0 and are never kept.
//
// Fast path, same result as a full sort: top-k's cut by quickselect; for
// top-p the survivors are bucketed by scaled logit (a monotone map, so every
// bucket is a contiguous run of the canonical order), exact integer masses
// per bucket locate the bucket where the cut falls, and only that bucket is
// sorted.

import {
  massUnits,
  RemaxError,
  type Rng,
  type SamplingKernels,
  samplingKernels,
} from '@remax/core';
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
 * A row after temperature, top-k and top-p, in the kernels' arrays: candidate
 * j (logits[j], weights[j]) is token `ids[j]` (j itself without top-k) and is
 * kept iff buckets[j] <= cut.
 */
interface Processed {
  readonly n: number;
  readonly ids: Int32Array | null;
  readonly cut: number;
  readonly max: number;
}

/**
 * A reusable sampler for rows of one vocabulary size. Holds scratch buffers
 * (the row passes run in the WebAssembly kernels of @remax/core on memory of
 * their own, or their JS twin) so a decoding loop allocates nothing per
 * token; results returned by `kept` are views into those buffers, valid until
 * the next call.
 */
export class TokenSampler {
  readonly vocabSize: number;
  private readonly k: SamplingKernels;
  private readonly bits: Uint32Array;
  private readonly orderKeys: OrderKeys;
  private readonly keys: Float64Array;
  private readonly ids: Int32Array;
  private readonly weights: Float64Array;
  private readonly values: Float32Array;
  private readonly survivors: Int32Array;
  /** 2^Q, the unit of the exact top-p masses (see the module comment). */
  readonly massScale: number;

  /** `kernels`: the row passes to use (default: WebAssembly where it runs, else the JS twin). */
  constructor(vocabSize: number, kernels?: (size: number, buckets: number) => SamplingKernels) {
    if (!Number.isInteger(vocabSize) || vocabSize < 1) {
      throw new RemaxError('E_INPUT', 'vocabulary size must be a positive integer', {
        field: 'vocabSize',
        value: vocabSize,
      });
    }
    this.vocabSize = vocabSize;
    this.k = (kernels ?? samplingKernels)(vocabSize, CUT_BUCKETS);
    this.bits = new Uint32Array(this.k.logits.buffer, this.k.logits.byteOffset, vocabSize);
    this.orderKeys = new OrderKeys(vocabSize);
    this.keys = new Float64Array(vocabSize);
    this.ids = new Int32Array(vocabSize);
    this.weights = new Float64Array(vocabSize);
    this.values = new Float32Array(vocabSize);
    this.survivors = new Int32Array(vocabSize);
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
    const { n, ids, cut, max } = this.process(row, params);
    const total = this.k.keptTotal(n, cut);
    const chosen = this.k.keptWalk(n, cut, rng.nextFloat() * total);
    const token = ids ? (ids[chosen] as number) : chosen;
    const logprob = ((row[token] as number) - max) / params.temperature - Math.log(total);
    return { token, logprob };
  }

  /**
   * Argmax, lowest id on ties. `logprob` is the token's log-probability under
   * the unprocessed model distribution softmax(logits) (temperature 1, no
   * filtering): the greedy "distribution" itself is a point mass.
   */
  greedy(row: Float32Array): TokenChoice {
    const max = this.rowMaximum(row);
    return { token: row.indexOf(max), logprob: -Math.log(this.k.exps(row.length, max, 1)) };
  }

  /** `greedy`'s token without its log-probability (no exp pass). */
  argmax(row: Float32Array): number {
    return row.indexOf(this.rowMaximum(row));
  }

  /** The row's maximum (copied into the kernels' memory); NaN, +Infinity and no finite logit are errors. */
  private rowMaximum(row: Float32Array): number {
    this.checkRow(row);
    this.k.logits.set(row);
    const max = this.k.max(row.length);
    if (!Number.isFinite(max)) rejectRow(row);
    return max;
  }

  /** The processed distribution (see the module comment for the exact rules). */
  kept(row: Float32Array, params: SamplingParams): KeptTokens {
    const { n, ids, cut, max } = this.process(row, params);
    const { weights: w, buckets } = this.k;
    let kept = 0;
    let total = 0;
    for (let j = 0; j < n; j++) {
      if ((buckets[j] as number) > cut) continue;
      const wj = w[j] as number;
      this.ids[kept] = ids ? (ids[j] as number) : j;
      this.weights[kept] = wj;
      total += wj;
      kept++;
    }
    return {
      ids: this.ids.subarray(0, kept),
      weights: this.weights.subarray(0, kept),
      total,
      max,
    };
  }

  private checkRow(row: Float32Array): void {
    if (row.length !== this.vocabSize) {
      throw new RemaxError('E_SHAPE', 'logits row has the wrong vocabulary size', {
        field: 'logits',
        value: row.length,
        expected: `${this.vocabSize} entries`,
      });
    }
  }

  /** Temperature, top-k and top-p on `row` into the kernels' arrays. */
  private process(row: Float32Array, params: SamplingParams): Processed {
    checkParams(params);
    this.checkRow(row);
    const { temperature, topK, topP } = params;
    const k = this.k;
    // Top-k cut on raw logits (dividing by T > 0 keeps their order): the
    // survivors, in ascending id order, become the candidates.
    let n = row.length;
    let ids: Int32Array | null = null;
    if (topK > 0 && topK < row.length) {
      rowRange(row); // a NaN outside the top k must still be an error
      const cutoff = kthLargest(row, topK, this.values);
      n = 0;
      for (let i = 0; i < row.length; i++) {
        const l = row[i] as number;
        if (l >= cutoff) {
          this.survivors[n] = i;
          k.logits[n++] = l;
        }
      }
      ids = this.survivors;
    } else {
      k.logits.set(row);
    }
    const max = k.max(n);
    if (!Number.isFinite(max)) rejectRow(row);
    if (topP >= 1) {
      k.exps(n, max, temperature);
      for (let j = 0; j < n; j++) k.buckets[j] = (k.weights[j] as number) > 0 ? 0 : k.noBucket;
      return { n, ids, cut: 0, max };
    }
    return { n, ids, cut: this.nucleus(n, max, k.minAbove(n), temperature, topP), max };
  }

  /**
   * Top-p over the n candidates: buckets b = floor((max - l) * scale / T)
   * (monotone in the logit, so each bucket is a run of the canonical order)
   * with exact masses locate the bucket where the cut falls; only that bucket
   * is sorted, and its tokens past the cut leave it (noBucket). Returns the cut bucket.
   */
  private nucleus(n: number, max: number, lowest: number, t: number, topP: number): number {
    const k = this.k;
    const span = Math.min((max - lowest) / t, MAX_BUCKET_SPAN);
    const scale = span > 0 ? CUT_BUCKETS / span : 0;
    // the weights and, in the same pass, bucket = trunc((max - l) * scale / T) (>= 0, so the
    // floor; monotone in l) with the exact masses
    const threshold = topP * k.nucleusExps(n, max, t, scale / t, this.massScale);
    // The bucket holding the cut: the first whose cumulative mass reaches the threshold.
    let cut = 0;
    let before = 0; // exact mass of the buckets before `cut`
    for (; cut < CUT_BUCKETS - 1; cut++) {
      const m = k.mass[cut] as number;
      if (before + m >= threshold) break;
      before += m;
    }
    // Sort that bucket's tokens in canonical order (candidate positions keep the id order).
    const members = k.inBucket(n, cut);
    const m = members.length;
    for (let r = 0; r < m; r++) {
      const j = members[r] as number;
      this.keys[r] = this.orderKeys.pack(this.bits[j] as number, j);
    }
    const keys = this.keys.subarray(0, m);
    keys.sort();
    // Walk it from the top: keep while the mass before < threshold (> 0, so the first is kept).
    let r = m - 1;
    for (; r >= 0 && before < threshold; r--) {
      const j = this.orderKeys.idOf(keys[r] as number);
      before += massUnits(k.weights[j] as number, this.massScale);
    }
    for (; r >= 0; r--) k.buckets[this.orderKeys.idOf(keys[r] as number)] = k.noBucket;
    return cut;
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

/** Throws the error rowRange gives for a row without a distribution (NaN, +Infinity, nothing finite). */
function rejectRow(row: Float32Array): never {
  rowRange(row);
  throw new RemaxError('E_NUMERIC', 'logits row has no distribution', { field: 'logits' });
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
