// Batched, seeded generation with a KV cache.
//
// Row layout (N rows out of B prompts, k = samplesPerPrompt):
//   rows [0, kB)        sampled; row i*k + j is sample j of prompt i
//   rows [kB, kB + B)   greedy, one per prompt (only with `pairs`)
// With `greedy: true` every row is greedy (k must be 1). The prompt prefill
// runs once on the B prompts; the cache is then expanded to the N rows with
// `gatherRows`, so sampled and greedy rows share one prefill. Rows that
// finished are then dropped from the cache, so only live rows are computed.
//
// Each sampled row draws from its own RNG stream sampleRng(seed,
// promptIndex, j) (see seeds.ts: the stream vLLM's seed + j convention and
// `serve` give sample j of a request seeded promptSeed(seed, promptIndex)), so
// its tokens depend on (seed, prompt index, sample index) only, never on the
// other rows of the batch.

import { hostView, RemaxError, type Rng, tf } from '@remax/core';
import type { DecodingCache, DecodingModel } from './model.js';
import {
  type GenerateOptions,
  logprobRows,
  type ResolvedGenerateOptions,
  resolveGenerateOptions,
} from './options.js';
import { type PromptBatch, type PromptRows, readPrompts } from './prompts.js';
import {
  type KeptTokens,
  type SamplingParams,
  type TokenChoice,
  TokenSampler,
} from './sampling.js';
import { sampleRng, sequenceRng } from './seeds.js';

export type FinishReason = 'eos' | 'length';
export type RowKind = 'sampled' | 'greedy';

/** What `generate` returns; the caller owns (and disposes) the tensors, e.g. with `dispose()`. */
export interface GenerateResult {
  /** int32 [N, P + R]: the left-padded prompt block, then the responses, pad id after EOS. */
  readonly sequences: tf.Tensor2D;
  /** int32 [N, P + R]: the prompt mask, then 1 on response tokens (EOS included), 0 after. */
  readonly attentionMask: tf.Tensor2D;
  /** P: response tokens start at this column. */
  readonly promptLength: number;
  /** R: decoding steps run (<= maxNewTokens; fewer when every row finished early). */
  readonly newTokens: number;
  /** Response ids per row, EOS included, no padding. */
  readonly responses: number[][];
  readonly responseLengths: number[];
  readonly finishReason: FinishReason[];
  /** Which rows are sampled and which greedy (see the row layout). */
  readonly rowKinds: RowKind[];
  /** Prompt index (0..B-1) of each row. */
  readonly rowPrompts: number[];
  /**
   * float32 [N, R] with returnLogprobs: for sampled rows the log-probability of
   * each token under the processed distribution it was drawn from (after
   * temperature, top-k, top-p, renormalised); for greedy rows under
   * softmax(logits) at temperature 1 (0 with returnLogprobs 'sampled'). 0
   * after a row finished.
   */
  readonly logprobs?: tf.Tensor2D;
  /** With `topLogprobs` N: per row, per response step, the N most likely [id, logprob] (see GenerateExtras). */
  readonly topLogprobs?: [number, number][][][];
  /** Disposes sequences, attentionMask and logprobs. */
  dispose(): void;
}

/** Options of `generate` beyond the zod-validated ones. */
export interface GenerateExtras {
  /** Samples per prompt, k >= 1 (default 1): rows i*k..i*k+k-1 are prompt i. */
  samplesPerPrompt?: number;
  /** Recompute the whole sequence each step instead of using the KV cache (reference / benchmarks). */
  useKVCache?: boolean;
  /**
   * Explicit rows instead of (samplesPerPrompt, pairs, greedy): row r decodes
   * prompt `prompt` greedily (`seed: null`) or sampled from sequenceRng(seed)
   * (`serve` batches requests this way; needs greedy, pairs and promptIndices unset).
   */
  rowPlan?: readonly { prompt: number; seed: number | null }[];
  /** Also return the N most likely tokens of each step's distribution (vLLM's `logprobs: N`). */
  topLogprobs?: number;
  /** Added to the logits of these ids before anything else (vLLM's `logit_bias`). */
  logitBias?: ReadonlyMap<number, number>;
}

/** The last position's logits of one forward: [rows, V], valid until `release()`. */
interface LastLogits {
  readonly rows: Float32Array;
  release(): void;
}

interface RowPlan {
  readonly kinds: RowKind[];
  readonly prompts: number[];
  readonly rngs: (Rng | null)[];
}

/**
 * Generates continuations of left-padded prompts. See the module comment for
 * the row layout and the RNG streams, and `GenerateOptions` for the options.
 */
export async function generate(
  model: DecodingModel,
  prompts: PromptBatch,
  options: GenerateOptions & GenerateExtras,
): Promise<GenerateResult> {
  const {
    samplesPerPrompt = 1,
    useKVCache = true,
    rowPlan,
    topLogprobs = 0,
    logitBias,
    ...rest
  } = options;
  const opts = resolveGenerateOptions(rest);
  const rows = readPrompts(prompts);
  const plan = rowPlan
    ? explicitRows(rows.batchSize, rowPlan, opts)
    : planRows(rows.batchSize, samplesPerPrompt, opts);
  if (!Number.isInteger(topLogprobs) || topLogprobs < 0) {
    throw new RemaxError('E_INPUT', 'topLogprobs must be an integer >= 0', {
      field: 'topLogprobs',
      value: topLogprobs,
    });
  }
  const decoder = new Decoder(model, rows, plan, opts, { topLogprobs, logitBias });
  return useKVCache ? decoder.runCached() : decoder.runRecomputed();
}

function explicitRows(
  B: number,
  rowPlan: readonly { prompt: number; seed: number | null }[],
  opts: ResolvedGenerateOptions,
): RowPlan {
  if (opts.greedy || opts.pairs || opts.promptIndices) {
    throw new RemaxError('E_INPUT', 'rowPlan replaces greedy, pairs and promptIndices', {
      field: 'rowPlan',
      expected: 'greedy: false, pairs: false and no promptIndices with rowPlan',
    });
  }
  const plan: RowPlan = { kinds: [], prompts: [], rngs: [] };
  rowPlan.forEach(({ prompt, seed }, r) => {
    if (!Number.isInteger(prompt) || prompt < 0 || prompt >= B) {
      throw new RemaxError('E_INPUT', 'rowPlan prompt out of range', {
        field: `rowPlan[${r}].prompt`,
        value: prompt,
        expected: `an integer in [0, ${B})`,
      });
    }
    plan.kinds.push(seed === null ? 'greedy' : 'sampled');
    plan.prompts.push(prompt);
    plan.rngs.push(seed === null ? null : sequenceRng(seed));
  });
  if (plan.kinds.length === 0) {
    throw new RemaxError('E_INPUT', 'rowPlan is empty', { field: 'rowPlan' });
  }
  return plan;
}

function planRows(B: number, k: number, opts: ResolvedGenerateOptions): RowPlan {
  if (!Number.isInteger(k) || k < 1) {
    throw new RemaxError('E_INPUT', 'samplesPerPrompt must be an integer >= 1', {
      field: 'samplesPerPrompt',
      value: k,
    });
  }
  if (opts.greedy && (opts.pairs || k > 1)) {
    throw new RemaxError('E_INPUT', 'greedy: true makes every row greedy', {
      field: 'greedy',
      value: { greedy: true, pairs: opts.pairs, samplesPerPrompt: k },
      expected: 'pairs: false and samplesPerPrompt: 1 with greedy: true',
    });
  }
  const promptIndices = opts.promptIndices ?? Array.from({ length: B }, (_, i) => i);
  if (promptIndices.length !== B) {
    throw new RemaxError('E_INPUT', 'promptIndices needs one entry per prompt row', {
      field: 'promptIndices',
      value: promptIndices.length,
      expected: `${B} entries`,
    });
  }
  const kinds: RowKind[] = [];
  const prompts: number[] = [];
  const rngs: (Rng | null)[] = [];
  if (opts.greedy) {
    for (let b = 0; b < B; b++) {
      kinds.push('greedy');
      prompts.push(b);
      rngs.push(null);
    }
    return { kinds, prompts, rngs };
  }
  const seed = opts.seed;
  if (seed === undefined) {
    throw new RemaxError('E_INPUT', 'sampling needs a seed', {
      field: 'seed',
      expected: 'a safe integer (or greedy: true)',
    });
  }
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < k; j++) {
      kinds.push('sampled');
      prompts.push(b);
      rngs.push(sampleRng(seed, promptIndices[b] as number, j));
    }
  }
  if (opts.pairs) {
    for (let b = 0; b < B; b++) {
      kinds.push('greedy');
      prompts.push(b);
      rngs.push(null);
    }
  }
  return { kinds, prompts, rngs };
}

/** The decoding state of one `generate` call. */
class Decoder {
  private readonly n: number;
  private readonly maxLength: number;
  private readonly tokens: Int32Array; // [N, maxLength]
  private readonly mask: Int32Array; // [N, maxLength]
  private readonly logprobs: Float32Array; // [N, maxNewTokens]
  private readonly finished: boolean[];
  private readonly reasons: FinishReason[];
  private readonly responseLengths: number[];
  private readonly eos: Set<number>;
  private readonly pad: number;
  private readonly params: SamplingParams;
  private sampler: TokenSampler | null = null;
  /** Whether greedy rows need their log-probabilities (else argmax alone). */
  private readonly greedyLogprobs: boolean;
  private readonly top: [number, number][][][] | null;

  constructor(
    private readonly model: DecodingModel,
    private readonly rows: PromptRows,
    private readonly plan: RowPlan,
    private readonly opts: ResolvedGenerateOptions,
    private readonly extras: { topLogprobs: number; logitBias?: ReadonlyMap<number, number> },
  ) {
    this.n = plan.kinds.length;
    const P = rows.promptLength;
    this.maxLength = P + opts.maxNewTokens;
    this.tokens = new Int32Array(this.n * this.maxLength);
    this.mask = new Int32Array(this.n * this.maxLength);
    plan.prompts.forEach((b, r) => {
      this.tokens.set(rows.ids.subarray(b * P, (b + 1) * P), r * this.maxLength);
      this.mask.set(rows.mask.subarray(b * P, (b + 1) * P), r * this.maxLength);
    });
    this.logprobs = new Float32Array(this.n * opts.maxNewTokens);
    this.finished = new Array<boolean>(this.n).fill(false);
    this.reasons = new Array<FinishReason>(this.n).fill('length');
    this.responseLengths = new Array<number>(this.n).fill(0);
    this.eos = new Set(opts.eosTokenId);
    this.pad = opts.padTokenId ?? opts.eosTokenId[0] ?? 0;
    this.params = { temperature: opts.temperature, topK: opts.topK, topP: opts.topP };
    this.top = extras.topLogprobs > 0 ? plan.kinds.map(() => []) : null;
    this.greedyLogprobs = logprobRows(opts.returnLogprobs).greedy || this.top !== null;
  }

  /**
   * Prefill the B prompts once, expand the cache to the N rows, then one token
   * per step. Rows that finished are dropped from the cache (gatherRows of the
   * live rows), so later steps only run the rows still decoding.
   */
  async runCached(): Promise<GenerateResult> {
    const { batchSize: B, promptLength: P } = this.rows;
    let cache: DecodingCache = this.model.createKVCache(B, this.maxLength);
    try {
      // Prefill: logits of the last prompt position only, [B, 1, V].
      let logits = await this.forwardLast(this.rows.ids, this.rows.mask, B, P, P, cache);
      let rowOfLogits = this.plan.prompts; // row r reads row rowOfLogits[r] of the logits
      // expanded after the first choice: no tensor op may run while the logits are read
      let expand = this.n !== B || rowOfLogits.some((b, r) => b !== r);
      let live = identity(this.n); // cache row k holds output row live[k]
      for (let step = 0; ; step++) {
        const done = await this.chooseStep(step, logits, rowOfLogits);
        if (done) return this.result(step + 1);
        if (expand) {
          const expanded = cache.gatherRows(this.plan.prompts);
          cache.dispose();
          cache = expanded;
          expand = false;
        }
        const stillLive = live.filter((r) => !this.finished[r]);
        if (stillLive.length < live.length) {
          const keep: number[] = [];
          live.forEach((r, k) => {
            if (!this.finished[r]) keep.push(k);
          });
          const smaller = cache.gatherRows(keep);
          cache.dispose();
          cache = smaller;
          live = stillLive;
        }
        const L = P + step + 1;
        logits = await this.forwardLast(
          this.columnOf(live, P + step),
          this.prefix(this.mask, L, live),
          live.length,
          1,
          L,
          cache,
        );
        rowOfLogits = new Array<number>(this.n).fill(-1);
        live.forEach((r, k) => {
          rowOfLogits[r] = k;
        });
      }
    } finally {
      cache.dispose();
    }
  }

  /** The same decoding without a cache: every step runs the whole sequence (for reference). */
  async runRecomputed(): Promise<GenerateResult> {
    const P = this.rows.promptLength;
    const rowOfLogits = identity(this.n);
    for (let step = 0; ; step++) {
      const L = P + step;
      const logits = await this.forwardLast(
        this.prefix(this.tokens, L),
        this.maskPrefix(L),
        this.n,
        L,
        L,
      );
      const done = await this.chooseStep(step, logits, rowOfLogits);
      if (done) return this.result(step + 1);
    }
  }

  /**
   * Runs the model on int32 [rows, cols] ids with a [rows, maskCols] mask;
   * returns the [rows, V] last logits, to read before `release()`. In host
   * memory (wasm, cpu) they are a view of the logits tensor itself: no copy
   * (a 2 MB array per step was most of the rollout's garbage).
   */
  private async forwardLast(
    ids: Int32Array,
    mask: Int32Array,
    rows: number,
    cols: number,
    maskCols: number,
    cache?: DecodingCache,
  ): Promise<LastLogits> {
    const idsT = tf.tensor2d(ids, [rows, cols], 'int32');
    const maskT = tf.tensor2d(mask, [rows, maskCols], 'int32');
    let logits: tf.Tensor3D | null = null;
    let handedOver = false;
    try {
      logits = this.model.forward({
        inputIds: idsT,
        attentionMask: maskT,
        ...(cache ? { kvCache: cache } : {}),
        lastOnly: true,
      });
      if (logits.rank !== 3 || logits.shape[0] !== rows || logits.shape[1] !== 1) {
        throw new RemaxError('E_SHAPE', 'model returned logits of an unexpected shape', {
          field: 'logits',
          value: logits.shape,
          expected: `[${rows}, 1, V] (forward with lastOnly)`,
        });
      }
      const vocab = logits.shape[2];
      if (this.sampler && this.sampler.vocabSize !== vocab) {
        throw new RemaxError('E_SHAPE', 'the vocabulary size of the logits changed between steps', {
          field: 'logits',
          value: vocab,
          expected: `${this.sampler.vocabSize}`,
        });
      }
      this.sampler ??= new TokenSampler(vocab);
      const view = hostView(logits);
      if (view === null) return { rows: (await logits.data()) as Float32Array, release: () => {} };
      const owned = logits;
      handedOver = true;
      return { rows: view, release: () => owned.dispose() };
    } finally {
      tf.dispose([idsT, maskT]);
      if (logits && !handedOver) logits.dispose();
    }
  }

  /**
   * Chooses the token of every row at `step` from `logits` ([*, V]; row r
   * reads row rowOfLogits[r]), then releases them; returns whether decoding is over.
   */
  private async chooseStep(
    step: number,
    logits: LastLogits,
    rowOfLogits: readonly number[],
  ): Promise<boolean> {
    try {
      this.chooseTokens(step, logits.rows, rowOfLogits);
    } finally {
      logits.release();
    }
    const last = step === this.opts.maxNewTokens - 1;
    if (this.opts.onToken) {
      const col = this.rows.promptLength + step;
      const tokens = Array.from(
        this.finished,
        (_, r) => this.tokens[r * this.maxLength + col] as number,
      );
      const active = Array.from(this.finished, (_, r) => this.mask[r * this.maxLength + col] === 1);
      await this.opts.onToken({ step, tokens, active, finished: [...this.finished] });
    }
    return last || this.finished.every(Boolean);
  }

  /** The token of every row at `step` (tokens, mask, logprobs, finished). */
  private chooseTokens(step: number, logits: Float32Array, rowOfLogits: readonly number[]): void {
    const sampler = this.sampler as TokenSampler;
    const V = sampler.vocabSize;
    const col = this.rows.promptLength + step;
    const last = step === this.opts.maxNewTokens - 1;
    for (let r = 0; r < this.n; r++) {
      const at = r * this.maxLength + col;
      if (this.finished[r]) {
        this.tokens[at] = this.pad;
        this.mask[at] = 0;
        continue;
      }
      const b = rowOfLogits[r] as number;
      let row = logits.subarray(b * V, (b + 1) * V);
      // on a copy: rows of one prompt share the prefill's logits row
      if (this.extras.logitBias) row = addBias(row, this.extras.logitBias);
      const rng = this.plan.rngs[r];
      const choice: TokenChoice = rng
        ? sampler.sample(row, this.params, rng)
        : this.greedyLogprobs
          ? sampler.greedy(row)
          : { token: sampler.argmax(row), logprob: 0 };
      if (this.top) {
        const n = this.extras.topLogprobs;
        this.top[r]?.push(
          rng ? topOfKept(sampler.kept(row, this.params), n) : topOfRow(row, n, choice.logprob),
        );
      }
      this.tokens[at] = choice.token;
      this.mask[at] = 1;
      this.logprobs[r * this.opts.maxNewTokens + step] = choice.logprob;
      this.responseLengths[r] = step + 1;
      if (this.eos.has(choice.token)) {
        this.finished[r] = true;
        this.reasons[r] = 'eos';
      } else if (last) {
        this.finished[r] = true;
      }
    }
  }

  /** Column `col` of the token matrix for the given rows. */
  private columnOf(rows: readonly number[], col: number): Int32Array {
    return Int32Array.from(rows, (r) => this.tokens[r * this.maxLength + col] as number);
  }

  private maskPrefix(cols: number): Int32Array {
    return this.prefix(this.mask, cols);
  }

  /** The first `cols` columns of the given rows (default all) of an [N, maxLength] matrix, row-major. */
  private prefix(
    m: Int32Array,
    cols: number,
    rows: readonly number[] = identity(this.n),
  ): Int32Array {
    const out = new Int32Array(rows.length * cols);
    rows.forEach((r, k) => {
      out.set(m.subarray(r * this.maxLength, r * this.maxLength + cols), k * cols);
    });
    return out;
  }

  private result(newTokens: number): GenerateResult {
    const P = this.rows.promptLength;
    const width = P + newTokens;
    const sequences = tf.tensor2d(this.prefix(this.tokens, width), [this.n, width], 'int32');
    const attentionMask = tf.tensor2d(this.prefix(this.mask, width), [this.n, width], 'int32');
    const responses = this.responseLengths.map((len, r) =>
      Array.from(this.tokens.subarray(r * this.maxLength + P, r * this.maxLength + P + len)),
    );
    let logprobs: tf.Tensor2D | undefined;
    if (logprobRows(this.opts.returnLogprobs).sampled) {
      const lp = new Float32Array(this.n * newTokens);
      const M = this.opts.maxNewTokens;
      for (let r = 0; r < this.n; r++)
        lp.set(this.logprobs.subarray(r * M, r * M + newTokens), r * newTokens);
      logprobs = tf.tensor2d(lp, [this.n, newTokens], 'float32');
    }
    return {
      sequences,
      attentionMask,
      promptLength: P,
      newTokens,
      responses,
      responseLengths: [...this.responseLengths],
      finishReason: [...this.reasons],
      rowKinds: [...this.plan.kinds],
      rowPrompts: [...this.plan.prompts],
      ...(logprobs ? { logprobs } : {}),
      ...(this.top ? { topLogprobs: this.top } : {}),
      dispose() {
        tf.dispose([sequences, attentionMask, ...(logprobs ? [logprobs] : [])]);
      },
    };
  }
}

/** A copy of `row` with the bias added. */
function addBias(row: Float32Array, bias: ReadonlyMap<number, number>): Float32Array {
  const out = Float32Array.from(row);
  for (const [id, b] of bias) {
    if (id < out.length) out[id] = (out[id] as number) + b;
  }
  return out;
}

/** The n most likely kept tokens (ties: lower id first) with their processed logprobs. */
function topOfKept(kept: KeptTokens, n: number): [number, number][] {
  const order = Array.from(kept.ids.keys());
  order.sort((a, b) => (kept.weights[b] as number) - (kept.weights[a] as number) || a - b);
  const logTotal = Math.log(kept.total);
  return order
    .slice(0, n)
    .map((j) => [kept.ids[j] as number, Math.log(kept.weights[j] as number) - logTotal]);
}

/**
 * The n largest logits of a greedy row as softmax logprobs; `maxLogprob` is
 * the argmax's (-log z), so each is (l - max) + maxLogprob.
 */
function topOfRow(row: Float32Array, n: number, maxLogprob: number): [number, number][] {
  const ids = Array.from(row.keys());
  ids.sort((a, b) => (row[b] as number) - (row[a] as number) || a - b);
  const max = row[ids[0] as number] as number;
  return ids.slice(0, n).map((i) => [i, (row[i] as number) - max + maxLogprob]);
}

function identity(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
