// Gradients in, one guarded optimizer update out, for any set of named weights
// (a policy, a critic): micro-batch accumulation ('sum': each micro-batch loss
// is already scaled to its share of the batch), the lr schedule, the NaN/Inf
// guard, global-norm clipping and AdamW, plus exact checkpoint state.
import { z } from 'zod';
import type { AlgorithmState } from './algorithm.js';
import { RemaxError } from './errors.js';
import { GradientAccumulator, gradsByName } from './optim/accumulate.js';
import { AdamW } from './optim/adamw.js';
import { lrMultiplier } from './optim/schedules.js';
import { optimizerStep } from './optim/step.js';
import { tf } from './tf.js';

/** zod fields every algorithm's optimizer settings share (spread into its schema). */
export const optimizerFields = {
  lr: z.number().positive().default(5e-7).describe('peak learning rate [5e-7, the card]'),
  betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.9, 0.95]),
  eps: z.number().positive().default(1e-8),
  weightDecay: z.number().min(0).default(0),
  maxGradNorm: z
    .number()
    .positive()
    .nullable()
    .default(1)
    .describe('global gradient-norm clip (clip_grad_norm_); null = off [1.0]'),
  schedule: z
    .enum(['constant', 'linear', 'cosine'])
    .default('constant')
    .describe('lr schedule after warmup'),
  warmupSteps: z.number().int().min(0).default(0),
  totalSteps: z
    .number()
    .int()
    .positive()
    .nullable()
    .default(null)
    .describe('optimizer steps of the run; needed by the linear and cosine schedules'),
};

/** zod field of every algorithm's micro-batch size (rows per forward/backward). */
export const microBatchSizeField = z
  .number()
  .int()
  .positive()
  .default(4)
  .describe('rows per forward/backward; gradients accumulate over micro-batches [4]');

/** zod refinement for schemas that spread `optimizerFields`: decaying schedules need totalSteps. */
export function requireTotalSteps(
  c: { schedule: OptimizerSettings['schedule']; totalSteps: number | null },
  ctx: z.RefinementCtx,
): void {
  if (c.schedule !== 'constant' && c.totalSteps === null) {
    ctx.addIssue({
      code: 'custom',
      path: ['totalSteps'],
      message: `the ${c.schedule} schedule needs totalSteps (the number of optimizer steps)`,
    });
  }
}

export interface OptimizerSettings {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  maxGradNorm: number | null;
  schedule: 'constant' | 'linear' | 'cosine';
  warmupSteps: number;
  totalSteps: number | null;
}

export interface UpdateResult {
  /** Applied updates so far. */
  step: number;
  /** Global gradient norm before clipping (NaN/Inf when the gradient was). */
  gradNorm: number;
  /** Learning rate of this update (after the schedule). */
  lr: number;
  skipped: boolean;
  skippedTotal: number;
  /** Sum of the micro-batch losses. */
  loss: number;
}

export class ParameterUpdater {
  private readonly optimizer: AdamW;
  private readonly accumulator = new GradientAccumulator('sum');

  /** `prefix` keys this updater's tensors in checkpoints ("actor", "critic"). */
  constructor(
    private readonly params: Map<string, tf.Variable>,
    private readonly settings: OptimizerSettings,
    private readonly prefix = 'adamw',
  ) {
    this.optimizer = new AdamW(params, {
      lr: settings.lr,
      betas: settings.betas,
      eps: settings.eps,
      weightDecay: settings.weightDecay,
    });
  }

  /**
   * Loss and gradients of one micro-batch, added to the step's sum. Returns the
   * loss. If it throws, the step's partial sum is discarded, so a failed step
   * never leaks into the next one.
   */
  addMicroBatch(lossFn: () => tf.Scalar): number {
    let result: { loss: number; grads: Map<string, tf.Tensor> };
    try {
      result = gradsByName(lossFn, this.params);
    } catch (e) {
      this.discard();
      throw e;
    }
    try {
      this.accumulator.add(result.grads, result.loss);
    } finally {
      for (const g of result.grads.values()) g.dispose();
    }
    return result.loss;
  }

  /** Drops the micro-batches accumulated since the last step. */
  discard(): void {
    this.accumulator.dispose();
  }

  /** Clip + AdamW with the accumulated gradients; skipped when anything is non-finite. */
  step(): UpdateResult {
    const s = this.settings;
    const lr =
      s.lr *
      lrMultiplier(s.schedule, this.optimizer.step, {
        warmupSteps: s.warmupSteps,
        totalSteps: s.totalSteps ?? 0,
      });
    const acc = this.accumulator.result();
    try {
      const r = optimizerStep(this.optimizer, acc.grads, {
        lr,
        maxGradNorm: s.maxGradNorm,
        lossFinite: acc.lossFinite,
      });
      return {
        step: r.step,
        gradNorm: r.gradNorm,
        lr,
        skipped: r.skipped,
        skippedTotal: r.skippedSteps,
        loss: acc.loss,
      };
    } finally {
      for (const g of acc.grads.values()) g.dispose();
    }
  }

  /**
   * Skips this step's update (e.g. every row of the batch was masked): the
   * accumulated gradients are dropped, weights and moments stay, the skip is
   * counted as the non-finite guard counts its own.
   */
  skip(): UpdateResult {
    this.discard();
    this.optimizer.recordSkip();
    return {
      step: this.optimizer.step,
      gradNorm: Number.NaN,
      lr: Number.NaN,
      skipped: true,
      skippedTotal: this.optimizer.skippedSteps,
      loss: Number.NaN,
    };
  }

  /** Optimizer moments as named tensors (copies the caller disposes) + counters. */
  getState(): AlgorithmState {
    const s = this.optimizer.state();
    const tensors = new Map<string, tf.Tensor>();
    const p = this.prefix;
    for (const [name, m] of s.moments) {
      tensors.set(`${p}.exp_avg.${name}`, tensorOf(m.expAvg, m.shape));
      tensors.set(`${p}.exp_avg_sq.${name}`, tensorOf(m.expAvgSq, m.shape));
    }
    return { json: { [`${p}.step`]: s.step, [`${p}.skippedSteps`]: s.skippedSteps }, tensors };
  }

  setState(state: AlgorithmState): void {
    const p = this.prefix;
    const step = state.json[`${p}.step`];
    const skippedSteps = state.json[`${p}.skippedSteps`];
    if (typeof step !== 'number' || typeof skippedSteps !== 'number') {
      throw new RemaxError('E_STATE', 'algorithm state lacks the optimizer step counters', {
        field: `${p}.step / ${p}.skippedSteps`,
        value: { step, skippedSteps },
        expected: 'numbers written by getState()',
      });
    }
    const moments = new Map<
      string,
      { shape: number[]; expAvg: Float32Array; expAvgSq: Float32Array }
    >();
    const head = `${p}.exp_avg.`;
    for (const [key, t] of state.tensors) {
      if (!key.startsWith(head)) continue;
      const name = key.slice(head.length);
      const sq = state.tensors.get(`${p}.exp_avg_sq.${name}`);
      if (!sq) {
        throw new RemaxError('E_STATE', 'exp_avg without exp_avg_sq in algorithm state', {
          field: key,
        });
      }
      moments.set(name, {
        shape: [...t.shape],
        expAvg: Float32Array.from(t.dataSync() as Float32Array),
        expAvgSq: Float32Array.from(sq.dataSync() as Float32Array),
      });
    }
    this.optimizer.loadState({ step, skippedSteps, moments });
  }

  dispose(): void {
    this.accumulator.dispose();
    this.optimizer.dispose();
  }
}

// AdamW keeps moments as plain arrays in its state; checkpoints carry tensors.
function tensorOf(data: Float32Array, shape: number[]): tf.Tensor {
  return tf.tensor(data, shape, 'float32');
}
