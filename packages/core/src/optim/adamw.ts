// AdamW exactly as torch.optim.AdamW (amsgrad=False, maximize=False), per parameter:
//   p   <- p * (1 - lr * weight_decay)                  (decoupled weight decay, first)
//   m   <- m + (1 - beta1) * (g - m)                    (torch: exp_avg.lerp_(g, 1 - beta1))
//   v   <- beta2 * v + (1 - beta2) * g * g
//   t   <- t + 1
//   denom = sqrt(v) / sqrt(1 - beta2^t) + eps           (eps after the bias correction)
//   p   <- p - (lr / (1 - beta1^t)) * m / denom
// Moments are float32 like the parameters (what torch keeps for float32 params).
import { z } from 'zod';
import { RemaxError } from '../errors.js';
import { adamwHost, adamwOnHost, adamwOps } from '../kernels/adamw.js';
import { tf } from '../tf.js';
import { parseWith } from '../zod.js';

export const adamWConfigSchema = z.strictObject({
  lr: z.number().finite().nonnegative().describe('learning rate (before any schedule multiplier)'),
  betas: z
    .tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)])
    .default([0.9, 0.999])
    .describe('coefficients of the running averages of the gradient and its square [0.9, 0.999]'),
  eps: z
    .number()
    .positive()
    .default(1e-8)
    .describe('added to the denominator after bias correction [1e-8]'),
  weightDecay: z
    .number()
    .nonnegative()
    .default(0.01)
    .describe('decoupled weight decay, as torch [0.01]'),
});
export type AdamWConfig = z.input<typeof adamWConfigSchema>;
type ResolvedConfig = z.output<typeof adamWConfigSchema>;

/** One parameter's moments, exactly as stored. */
export interface AdamWMoments {
  shape: number[];
  expAvg: Float32Array;
  expAvgSq: Float32Array;
}

/** Everything needed to resume bit for bit (moments are copies). */
export interface AdamWState {
  /** Applied updates so far (torch's `step`; drives the bias correction). */
  step: number;
  /** Updates skipped by the non-finite guard (see `optimizerStep`). */
  skippedSteps: number;
  moments: Map<string, AdamWMoments>;
}

export interface AdamWOptions {
  /**
   * Which parameters get weight decay (default: all, as torch with one param
   * group). Hugging Face's Trainer exempts biases and norm weights: pass
   * `(name) => !/bias$|norm/.test(name)` for that.
   */
  decay?: (name: string) => boolean;
}

interface Slot {
  expAvg: tf.Variable;
  expAvgSq: tf.Variable;
}

export class AdamW {
  readonly config: Readonly<ResolvedConfig>;
  private readonly params: Map<string, tf.Variable>;
  private readonly decay: (name: string) => boolean;
  private readonly slots = new Map<string, Slot>();
  private stepCount = 0;
  private skipped = 0;

  /** `params` keyed by name (e.g. `policy.parameters()`); the optimizer updates them in place. */
  constructor(params: Map<string, tf.Variable>, config: AdamWConfig, options: AdamWOptions = {}) {
    this.config = parseWith(adamWConfigSchema, config, { what: 'AdamW config' });
    this.params = params;
    this.decay = options.decay ?? (() => true);
  }

  /** Applied updates so far. */
  get step(): number {
    return this.stepCount;
  }

  /** Updates skipped by the non-finite guard so far. */
  get skippedSteps(): number {
    return this.skipped;
  }

  /** Counts a skipped update (called by `optimizerStep`); the moments stay untouched. */
  recordSkip(): void {
    this.skipped += 1;
  }

  /**
   * One update with `grads` keyed like the parameters. A parameter without a
   * gradient is left alone (no decay either), as torch does for `grad is None`.
   * `lr` overrides the configured rate for this step (schedules pass base * multiplier).
   * `gradScale` multiplies every gradient first (clip_grad_norm_'s coefficient,
   * fused into the update instead of a scaled copy). The caller keeps ownership of `grads`.
   */
  apply(grads: ReadonlyMap<string, tf.Tensor>, lr: number = this.config.lr, gradScale = 1): void {
    if (!Number.isFinite(lr) || lr < 0) {
      throw new RemaxError('E_INPUT', 'learning rate must be finite and >= 0', {
        field: 'lr',
        value: lr,
      });
    }
    if (!Number.isFinite(gradScale) || gradScale < 0) {
      throw new RemaxError('E_INPUT', 'gradient scale must be finite and >= 0', {
        field: 'gradScale',
        value: gradScale,
      });
    }
    for (const name of grads.keys()) {
      if (!this.params.has(name)) {
        throw new RemaxError('E_INPUT', 'gradient for an unknown parameter', {
          field: name,
          expected: `one of the optimizer's ${this.params.size} parameter names`,
        });
      }
    }
    const [beta1, beta2] = this.config.betas;
    const t = this.stepCount + 1;
    const stepSize = lr / (1 - beta1 ** t);
    const bias2Sqrt = Math.sqrt(1 - beta2 ** t);
    const { eps, weightDecay } = this.config;
    for (const [name, p] of this.params) {
      const g = grads.get(name);
      if (g === undefined) continue;
      if (!tf.util.arraysEqual(g.shape, p.shape)) {
        throw new RemaxError('E_SHAPE', 'gradient shape differs from its parameter', {
          field: name,
          value: g.shape,
          expected: `[${p.shape.join(', ')}]`,
        });
      }
      const slot = { param: p, ...this.slotOf(name, p) };
      const scalars = {
        decayFactor: this.decay(name) ? 1 - lr * weightDecay : 1,
        beta1,
        beta2,
        stepSize,
        bias2Sqrt,
        eps,
        gradScale,
      };
      // one fused loop where the storage is host memory, else tensor ops (same float32 result)
      if (adamwOnHost(slot, g)) adamwHost(slot, g, scalars);
      else adamwOps(slot, g, scalars);
    }
    this.stepCount = t;
  }

  /** A copy of the state for checkpoints. */
  state(): AdamWState {
    const moments = new Map<string, AdamWMoments>();
    for (const [name, slot] of this.slots) {
      moments.set(name, {
        shape: [...slot.expAvg.shape],
        expAvg: Float32Array.from(slot.expAvg.dataSync() as Float32Array),
        expAvgSq: Float32Array.from(slot.expAvgSq.dataSync() as Float32Array),
      });
    }
    return { step: this.stepCount, skippedSteps: this.skipped, moments };
  }

  /** Restores `state()` exactly; checks every name and size first, so a bad state changes nothing. */
  loadState(state: AdamWState): void {
    const problems: string[] = [];
    if (!Number.isInteger(state.step) || state.step < 0)
      problems.push(`step ${state.step} is not an integer >= 0`);
    if (!Number.isInteger(state.skippedSteps) || state.skippedSteps < 0) {
      problems.push(`skippedSteps ${state.skippedSteps} is not an integer >= 0`);
    }
    for (const [name, m] of state.moments) {
      const p = this.params.get(name);
      if (p === undefined) {
        problems.push(`${name}: not a parameter of this optimizer`);
        continue;
      }
      if (!tf.util.arraysEqual(m.shape, p.shape)) {
        problems.push(
          `${name}: shape [${m.shape.join(', ')}] != parameter [${p.shape.join(', ')}]`,
        );
      }
      for (const key of ['expAvg', 'expAvgSq'] as const) {
        if (!(m[key] instanceof Float32Array) || m[key].length !== p.size) {
          problems.push(`${name}.${key}: expected a Float32Array of ${p.size} values`);
        }
      }
    }
    if (state.step > 0 && state.moments.size === 0 && this.params.size > 0) {
      problems.push(`step ${state.step} > 0 but no moments`);
    }
    if (problems.length > 0) {
      throw new RemaxError(
        'E_STATE',
        `AdamW state does not fit these parameters:\n  - ${problems.join('\n  - ')}`,
        {
          field: 'AdamWState',
        },
      );
    }
    this.disposeSlots();
    for (const [name, m] of state.moments) {
      this.slots.set(name, {
        expAvg: momentVariable(tf.tensor(m.expAvg, m.shape, 'float32')),
        expAvgSq: momentVariable(tf.tensor(m.expAvgSq, m.shape, 'float32')),
      });
    }
    this.stepCount = state.step;
    this.skipped = state.skippedSteps;
  }

  /** Frees the moments (not the parameters). */
  dispose(): void {
    this.disposeSlots();
  }

  private slotOf(name: string, p: tf.Variable): Slot {
    let slot = this.slots.get(name);
    if (slot === undefined) {
      slot = {
        expAvg: momentVariable(tf.zeros(p.shape, 'float32')),
        expAvgSq: momentVariable(tf.zeros(p.shape, 'float32')),
      };
      this.slots.set(name, slot);
    }
    return slot;
  }

  private disposeSlots(): void {
    for (const slot of this.slots.values()) {
      slot.expAvg.dispose();
      slot.expAvgSq.dispose();
    }
    this.slots.clear();
  }
}

/** A non-trainable variable holding `init`'s values; `init` is disposed. */
function momentVariable(init: tf.Tensor): tf.Variable {
  const v = tf.variable(init, false);
  init.dispose();
  return v;
}
