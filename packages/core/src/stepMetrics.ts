// Small, pure helpers behind the per-step metrics every algorithm reports.
import type { StepMetrics } from './algorithm.js';
import { tf } from './tf.js';
import type { UpdateResult } from './updater.js';

/** Rows of per-position numbers [B, T-1] (column t scores token t+1). */
type Rows = readonly (readonly number[])[];

export function mean(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i] as number;
  return xs.length > 0 ? s / xs.length : Number.NaN;
}

/** Population standard deviation (numpy's default). */
export function std(xs: ArrayLike<number>): number {
  const m = mean(xs);
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += ((xs[i] as number) - m) ** 2;
  return xs.length > 0 ? Math.sqrt(s / xs.length) : Number.NaN;
}

/** Per-row sums of `values` over the response positions [start, ...) where the mask is 1. */
export function responseSums(values: Rows, actionMask: Rows, start: number): number[] {
  return actionMask.map((row, b) => {
    let s = 0;
    for (let t = start; t < row.length; t++) if (row[t] === 1) s += values[b]?.[t] as number;
    return s;
  });
}

/** Mean over every response token of `values`. */
export function responseTokenMean(values: Rows, actionMask: Rows, start: number): number {
  let s = 0;
  let n = 0;
  actionMask.forEach((row, b) => {
    for (let t = start; t < row.length; t++) {
      if (row[t] === 1) {
        s += values[b]?.[t] as number;
        n++;
      }
    }
  });
  return n > 0 ? s / n : Number.NaN;
}

/**
 * Mean |rollout logprob - train logprob| over response tokens: the generator's
 * number for token j of row b (response column j) against training's at t = start + j.
 */
export function logprobMismatch(
  rolloutLogprobs: Rows,
  trainLogprobs: Rows,
  responseLengths: readonly number[],
  start: number,
): number {
  return logprobAbsDiff(rolloutLogprobs, trainLogprobs, responseLengths, start).mean;
}

/**
 * Mean and max of |rollout logprob - train logprob| over response tokens (the
 * trainer-vs-engine mismatch verl and TRL users watch: a remote engine's
 * numerics, a stale or wrongly synced policy, or a sampler mismatch show here).
 */
export function logprobAbsDiff(
  rolloutLogprobs: Rows,
  trainLogprobs: Rows,
  responseLengths: readonly number[],
  start: number,
): { mean: number; max: number } {
  let s = 0;
  let n = 0;
  let max = 0;
  responseLengths.forEach((len, b) => {
    for (let j = 0; j < len; j++) {
      const d = Math.abs(
        (rolloutLogprobs[b]?.[j] as number) - (trainLogprobs[b]?.[start + j] as number),
      );
      s += d;
      max = Math.max(max, d);
      n++;
    }
  });
  return n > 0 ? { mean: s / n, max } : { mean: Number.NaN, max: Number.NaN };
}

/** Tracks the largest tf.memory().numBytes seen at the points where it is sampled. */
export class TensorBytesWatermark {
  peak = 0;
  sample(): void {
    this.peak = Math.max(this.peak, tf.memory().numBytes);
  }
}

/** Seconds spent per named phase. */
export class PhaseClock {
  readonly seconds: Record<string, number> = {};
  async time<T>(phase: string, f: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      this.add(phase, t0);
    }
  }
  timeSync<T>(phase: string, f: () => T): T {
    const t0 = performance.now();
    try {
      return f();
    } finally {
      this.add(phase, t0);
    }
  }
  private add(phase: string, t0: number): void {
    this.seconds[phase] = (this.seconds[phase] ?? 0) + (performance.now() - t0) / 1000;
  }
}

/**
 * The metrics every trainStep ends with: seconds in its 'train' and 'update'
 * phases, training tokens per second over both, and the step's peak tensor
 * bytes (the larger of training's and the experience's watermark) and RSS.
 */
export function trainPhaseMetrics(
  clock: PhaseClock,
  memory: TensorBytesWatermark,
  experienceMetrics: StepMetrics,
  trainedTokens: number,
): StepMetrics {
  const train = clock.seconds['train'] ?? 0;
  const update = clock.seconds['update'] ?? 0;
  return {
    'time/train_s': train,
    'time/update_s': update,
    'throughput/train_tokens_per_s': trainedTokens / (train + update),
    'memory/peak_tensor_bytes': Math.max(
      memory.peak,
      experienceMetrics['memory/experience_peak_tensor_bytes'] ?? 0,
    ),
    'memory/max_rss_bytes': process.resourceUsage().maxRSS * 1024,
  };
}

/** The metrics of one optimizer update every trainStep reports. */
export function updateMetrics(update: UpdateResult): StepMetrics {
  return {
    'optim/grad_norm': update.gradNorm,
    'optim/lr': update.lr,
    'optim/skipped': update.skipped ? 1 : 0,
    'optim/skipped_total': update.skippedTotal,
  };
}
