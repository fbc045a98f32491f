import {
  firstScoredColumn,
  type LogprobsOptions,
  logprobsFromHidden,
  NO_TARGET,
  type Policy,
  RemaxError,
  tf,
} from '@remax/core';
import {
  type AttentionMatMul,
  attention,
  keysToCacheLayout,
  valuesToCacheLayout,
} from './attention.js';
import { type CausalLMConfig, type Dims, dimsOf } from './config.js';
import { ComputeCopies, linearHF, linearHFFrozen } from './hfLinear.js';
import { readMatrix, type TokenMatrix } from './inputs.js';
import { embed } from './kernels/embedding.js';
import { rmsNorm } from './kernels/rmsNorm.js';
import { applyRope, ropeTables } from './kernels/rope.js';
import { type KVCache, type LayerKV, MistralKVCache } from './kvCache.js';
import { type AdapterSet, PROJECTIONS, runDisabled } from './lora/adapterSet.js';
import { loraLinear } from './lora/loraLinear.js';
import { attentionBias, positionsFromMask } from './masks.js';
import { type SaveOptions, saveCheckpoint } from './save.js';

export interface ForwardArgs {
  /** [B, T] ids; with kvCache only the NEW tokens [B, Tnew]. */
  inputIds: TokenMatrix;
  /** [B, T] 0/1; with kvCache the FULL mask [B, Tpast + Tnew]. */
  attentionMask: TokenMatrix;
  kvCache?: KVCache;
  /** Only the last position goes through the LM head: logits [B, 1, V]. */
  lastOnly?: boolean;
}

export interface CausalLMOptions {
  /** Attention strategy (see AttentionMatMul); default 'auto' (the fastest in `pnpm bench` on wasm). */
  attentionMatMul?: AttentionMatMul;
}

interface LayerWeights {
  q: tf.Variable;
  k: tf.Variable;
  v: tf.Variable;
  o: tf.Variable;
  gate: tf.Variable;
  up: tf.Variable;
  down: tf.Variable;
  ln1: tf.Variable;
  ln2: tf.Variable;
  /** HF module names of q, k, v, o, gate, up, down (where LoRA adapters attach). */
  modules: string[];
}

/**
 * A Mistral / Llama decoder (HF MistralForCausalLM / LlamaForCausalLM semantics).
 *
 * Weights: `parameters()` holds tf.Variables keyed by HF names in HF shapes
 * ([out, in] for linears), so `tf.variableGrads(f, [...parameters().values()])`
 * yields gradients in HF layout. For speed each linear also keeps an internal
 * transposed [in, out] compute copy, refreshed when its variable is assigned.
 */
export class CausalLM implements Policy {
  readonly config: CausalLMConfig;
  readonly extra: Map<string, tf.Variable>;
  readonly dims: Dims;
  attentionMatMul: AttentionMatMul;
  private readonly params: Map<string, tf.Variable>;
  private readonly copies = new ComputeCopies();
  private readonly layers: LayerWeights[];
  private readonly embed: tf.Variable;
  private readonly finalNorm: tf.Variable;
  private readonly lmHead: tf.Variable | null;
  private adapterSet: AdapterSet | null = null;
  private disposed = false;

  /**
   * Takes ownership of `params` (HF names, HF shapes, already checked) and `extra`.
   * Prefer loadCausalLM() or createCausalLM().
   */
  constructor(
    config: CausalLMConfig,
    params: Map<string, tf.Variable>,
    extra: Map<string, tf.Variable> = new Map(),
    options: CausalLMOptions = {},
  ) {
    this.config = config;
    this.dims = dimsOf(config);
    this.params = params;
    this.extra = extra;
    this.attentionMatMul = options.attentionMatMul ?? 'auto';
    const get = (name: string): tf.Variable => {
      const v = params.get(name);
      if (!v) throw new RemaxError('E_CHECKPOINT', 'missing parameter', { field: name });
      return v;
    };
    this.embed = get('model.embed_tokens.weight');
    this.finalNorm = get('model.norm.weight');
    this.lmHead = config.tie_word_embeddings ? this.embed : (params.get('lm_head.weight') ?? null);
    this.layers = [];
    for (let i = 0; i < this.dims.layers; i++) {
      const p = `model.layers.${i}`;
      this.layers.push({
        q: get(`${p}.self_attn.q_proj.weight`),
        k: get(`${p}.self_attn.k_proj.weight`),
        v: get(`${p}.self_attn.v_proj.weight`),
        o: get(`${p}.self_attn.o_proj.weight`),
        gate: get(`${p}.mlp.gate_proj.weight`),
        up: get(`${p}.mlp.up_proj.weight`),
        down: get(`${p}.mlp.down_proj.weight`),
        ln1: get(`${p}.input_layernorm.weight`),
        ln2: get(`${p}.post_attention_layernorm.weight`),
        modules: PROJECTIONS.map((m) => `${p}.${m}`),
      });
    }
  }

  /**
   * The base weights, keyed by HF names, in HF shapes (a new Map; the variables are the
   * model's). With LoRA adapters attached these are frozen: train adapterParameters().
   */
  parameters(): Map<string, tf.Variable> {
    return new Map(this.params);
  }

  /** The LoRA factors by PEFT key (e.g. base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight); empty without adapters. */
  adapterParameters(): Map<string, tf.Variable> {
    return this.adapterSet?.parameters() ?? new Map();
  }

  /** The attached adapters, or null (what addLoRA / saveAdapter / mergeAdapters work on). */
  get adapters(): AdapterSet | null {
    return this.adapterSet;
  }

  /**
   * Runs `fn` with the adapters off: the base model, i.e. the frozen reference policy.
   * Async functions keep them off until their promise settles (do not run adapted
   * passes of this model concurrently).
   */
  withAdaptersDisabled<R>(fn: () => R): R {
    return runDisabled(this.adapterSet, fn);
  }

  /**
   * Attaches adapters (addLoRA / loadAdapter call this): the base weights become frozen
   * (trainable false, no gradient computed). Takes ownership of `set`.
   */
  attachAdapters(set: AdapterSet): void {
    if (this.disposed) throw new RemaxError('E_STATE', 'model used after dispose()');
    if (this.adapterSet !== null) {
      throw new RemaxError('E_STATE', 'the model already has LoRA adapters', {
        expected: 'one adapter per model (mergeAdapters() or a fresh model first)',
      });
    }
    this.adapterSet = set;
    for (const v of this.params.values()) v.trainable = false;
  }

  /** Detaches (and returns) the adapters; the base weights become trainable again. */
  detachAdapters(): AdapterSet | null {
    const set = this.adapterSet;
    this.adapterSet = null;
    for (const v of this.params.values()) v.trainable = true;
    return set;
  }

  /** V, the width of the logits. */
  get vocabSize(): number {
    return this.dims.vocab;
  }

  /** Logits [B, T, V] (or [B, 1, V] with lastOnly). */
  forward(args: ForwardArgs): tf.Tensor3D {
    const lmHead = this.requireHead('forward()');
    return this.run(args, (h, B, T) =>
      tf.tidy(() => {
        const H = this.dims.hidden;
        const rows = args.lastOnly
          ? (tf.reshape(tf.slice(tf.reshape(h, [B, T, H]), [0, T - 1, 0], [B, 1, H]), [
              B,
              H,
            ]) as tf.Tensor2D)
          : h;
        const logits = this.baseLinear(rows, lmHead); // [B*T', V]
        return tf.reshape(logits, [B, args.lastOnly ? 1 : T, this.dims.vocab]) as tf.Tensor3D;
      }),
    );
  }

  /** Hidden states after the final norm, [B, T, H] (reward and value heads read these). */
  hiddenStates(args: Omit<ForwardArgs, 'lastOnly'>): tf.Tensor3D {
    return this.run(args, (h, B, T) => tf.reshape(h, [B, T, this.dims.hidden]) as tf.Tensor3D);
  }

  /** The LM head on rows of final-norm hidden states: [n, H] -> logits [n, V]; differentiable. */
  headLogits(hidden: tf.Tensor2D): tf.Tensor2D {
    return this.baseLinear(hidden, this.requireHead('headLogits()'));
  }

  /**
   * logprobs[b, t] = log p(ids[b, t+1] | ids[b, ..t]), [B, T-1]; differentiable.
   * The LM head runs fused with the log-softmax over row chunks (core's
   * logprobsFromHidden): no [B, T, V] logits are held, forward or backward.
   * With `fromColumn` the head runs only on columns t >= fromColumn (the rest are 0).
   */
  logprobsOf(
    args: { inputIds: TokenMatrix; attentionMask: TokenMatrix },
    options: LogprobsOptions = {},
  ): tf.Tensor2D {
    const weight = this.requireHead('logprobsOf()');
    const ids = readMatrix(args.inputIds, 'inputIds', Number.isInteger, 'integer ids');
    if (ids.cols < 2) {
      throw new RemaxError('E_SHAPE', 'logprobsOf needs at least 2 positions', {
        field: 'inputIds',
        value: [ids.rows, ids.cols],
        expected: 'T >= 2',
      });
    }
    const [B, T] = [ids.rows, ids.cols];
    const from = firstScoredColumn(options.fromColumn, T, 'logprobsOf');
    const targets = new Int32Array(B * T).fill(NO_TARGET);
    for (let b = 0; b < B; b++)
      for (let t = from; t < T - 1; t++) targets[b * T + t] = ids.data[b * T + t + 1] as number;
    return this.run(args, (h) =>
      tf.tidy(() => {
        const head = {
          weight: weight as tf.Tensor2D,
          weightT: this.copies.transposed(weight),
          frozen: this.adapterSet !== null,
        };
        const lp = logprobsFromHidden(h, head, targets);
        return tf.slice(tf.reshape(lp, [B, T]), [0, 0], [B, T - 1]) as tf.Tensor2D;
      }),
    );
  }

  /**
   * A KV cache for `batchSize` rows and at most `maxLength` positions. With a
   * sliding window it is rolling (keeps only the window).
   */
  createKVCache(batchSize: number, maxLength: number): KVCache {
    for (const [field, v] of [
      ['batchSize', batchSize],
      ['maxLength', maxLength],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) {
        throw new RemaxError('E_INPUT', 'createKVCache: must be a positive integer', {
          field,
          value: v,
        });
      }
    }
    const w = this.dims.slidingWindow;
    return new MistralKVCache(
      batchSize,
      maxLength,
      this.dims.kvHeads,
      w === null ? Infinity : w - 1,
      this,
    );
  }

  /**
   * Saves a Hugging Face checkpoint folder (config.json, sharded safetensors +
   * index, tokenizer files from `tokenizerFrom`) that transformers loads unchanged.
   * The extra tensors (e.g. regression_head.weight) are saved too.
   */
  async save(dir: string, options: SaveOptions): Promise<void> {
    if (this.disposed) throw new RemaxError('E_STATE', 'model used after dispose()');
    await saveCheckpoint(dir, this.config, new Map([...this.params, ...this.extra]), options);
  }

  private requireHead(what: string): tf.Variable {
    if (!this.lmHead) {
      throw new RemaxError(
        'E_STATE',
        `${what} needs the LM head; this model was loaded with withLMHead: false`,
        { expected: 'hiddenStates() instead, or load with withLMHead: true' },
      );
    }
    return this.lmHead;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.copies.dispose();
    this.adapterSet?.dispose();
    for (const v of this.params.values()) v.dispose();
    for (const v of this.extra.values()) v.dispose();
  }

  /** x · Wᵀ; with adapters attached W is frozen (no weight gradient). */
  private baseLinear(x: tf.Tensor2D, w: tf.Variable): tf.Tensor2D {
    return this.adapterSet === null
      ? linearHF(x, w, this.copies)
      : linearHFFrozen(x, w, this.copies);
  }

  /** A projection: x · Wᵀ, with PEFT's LoRA update when `module` is adapted and the adapters are on. */
  private proj(x: tf.Tensor2D, w: tf.Variable, module: string | undefined): tf.Tensor2D {
    const set = this.adapterSet;
    const pair = set?.enabled && module !== undefined ? set.pairs.get(module) : undefined;
    if (set === null || pair === undefined) return this.baseLinear(x, w);
    return loraLinear(x, w, pair, set.scaling, this.copies);
  }

  /** Runs the decoder and hands the final-norm hidden states [B*T, H] to `head`. */
  private run<R extends tf.Tensor>(
    args: Omit<ForwardArgs, 'lastOnly'>,
    head: (h: tf.Tensor2D, B: number, T: number) => R,
  ): R {
    if (this.disposed) throw new RemaxError('E_STATE', 'model used after dispose()');
    const d = this.dims;
    const ids = readMatrix(
      args.inputIds,
      'inputIds',
      (v) => v >= 0 && v < d.vocab,
      `ids in [0, ${d.vocab})`,
    );
    const mask = readMatrix(
      args.attentionMask,
      'attentionMask',
      (v) => v === 0 || v === 1,
      '0 or 1',
    );
    const B = ids.rows;
    const T = ids.cols;
    const L = mask.cols;
    const cache = this.checkCache(args.kvCache, B, T, L, mask.rows);
    const past = L - T;
    const keyStart = cache ? cache.start : 0;
    const newKV: LayerKV[] = [];
    try {
      const out = tf.tidy(() => {
        const N = B * T;
        const positions = positionsFromMask(mask.data, B, L, past); // [B*T]
        const rope = ropeTables(positions, d.headDim, d.ropeTheta);
        const bias = tf.tensor3d(attentionBias(mask.data, B, L, past, keyStart, d.slidingWindow), [
          B,
          T,
          L - keyStart,
        ]);
        let x = embed(this.embed as tf.Tensor2D, ids.data); // [N, H]
        this.layers.forEach((w, li) => {
          // one tidy per layer: what the layer's backward needs the tape keeps (saved
          // clones), the rest of its intermediates go now, not when the whole forward ends
          x = tf.tidy(() => {
            const x0 = x;
            const h = rmsNorm(x0, w.ln1 as tf.Tensor1D, d.eps);
            const [mq, mk, mv, mo, mg, mu, md] = w.modules as [string, ...string[]];
            const q = applyRope(tf.reshape(this.proj(h, w.q, mq), [N, d.heads, d.headDim]), rope);
            const k = applyRope(tf.reshape(this.proj(h, w.k, mk), [N, d.kvHeads, d.headDim]), rope);
            const v = tf.reshape(this.proj(h, w.v, mv), [N, d.kvHeads, d.headDim]) as tf.Tensor3D;
            let kT = keysToCacheLayout(k, B, T); // [B*nKV, hD, T]
            let vv = valuesToCacheLayout(v, B, T); // [B*nKV, T, hD]
            const prev = cache?.layer(li);
            if (prev) {
              kT = tf.concat([prev.kT, kT], 2); // [B*nKV, hD, S+T]
              vv = tf.concat([prev.v, vv], 1); // [B*nKV, S+T, hD]
            }
            if (cache) newKV.push({ kT: tf.keep(kT), v: tf.keep(vv) });
            const a = attention(q, kT, vv, bias, B, T, this.attentionMatMul); // [N, nH*hD]
            const x1 = tf.add(x0, this.proj(a, w.o, mo)) as tf.Tensor2D;
            const h2 = rmsNorm(x1, w.ln2 as tf.Tensor1D, d.eps);
            const g = this.proj(h2, w.gate, mg); // [N, I]
            // SiLU(gate) * up as tensor ops: wasm's SIMD exp beats Math.exp in a host loop
            const act = tf.mul(tf.mul(g, tf.sigmoid(g)), this.proj(h2, w.up, mu));
            return tf.add(x1, this.proj(act as tf.Tensor2D, w.down, md)) as tf.Tensor2D;
          });
        });
        return head(rmsNorm(x, this.finalNorm as tf.Tensor1D, d.eps), B, T);
      });
      cache?.commit(newKV.splice(0), T);
      return out;
    } finally {
      for (const l of newKV) tf.dispose([l.kT, l.v]);
    }
  }

  private checkCache(
    c: KVCache | undefined,
    B: number,
    T: number,
    L: number,
    maskRows: number,
  ): MistralKVCache | null {
    if (maskRows !== B) {
      throw new RemaxError('E_SHAPE', 'attentionMask rows differ from inputIds rows', {
        field: 'attentionMask',
        value: maskRows,
        expected: `${B}`,
      });
    }
    if (c === undefined) {
      if (L !== T) {
        throw new RemaxError(
          'E_SHAPE',
          'attentionMask must have the shape of inputIds (no kvCache)',
          {
            field: 'attentionMask',
            value: L,
            expected: `${T} columns`,
          },
        );
      }
      return null;
    }
    if (!(c instanceof MistralKVCache) || c.owner !== this) {
      throw new RemaxError('E_INPUT', 'kvCache was not created by this model', {
        field: 'kvCache',
      });
    }
    if (c.batchSize !== B) {
      throw new RemaxError('E_SHAPE', 'kvCache batch size differs from inputIds rows', {
        field: 'kvCache',
        value: c.batchSize,
        expected: `${B}`,
      });
    }
    if (L !== c.length + T) {
      throw new RemaxError(
        'E_SHAPE',
        'with kvCache, attentionMask must be the FULL mask [B, past + new]',
        {
          field: 'attentionMask',
          value: L,
          expected: `${c.length} + ${T} = ${c.length + T} columns`,
        },
      );
    }
    if (L > c.maxLength) {
      throw new RemaxError('E_SHAPE', 'kvCache maxLength exceeded', {
        field: 'kvCache',
        value: L,
        expected: `<= ${c.maxLength}`,
      });
    }
    return c;
  }
}
