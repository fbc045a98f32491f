// The one interface every RL algorithm implements (ReMax, PPO, and later RLOO /
// GRPO). Algorithms see only these types: generation and rewards come in as
// injected functions, so an algorithm package never imports @remax/rollout or
// @remax/reward-ultrarm, and the example swaps algorithms with one config field.
import type { z } from 'zod';
import type { Rng } from './rng.js';
import type { tf } from './tf.js';
import type { Policy, TokenBatch } from './types.js';

/** Prompt + response ids as training sees them (int32 [N, P + R], prompts left-padded). */
export interface SequenceBatch extends TokenBatch {
  /** Width P of the left-padded prompt block: response tokens start at column P. */
  promptLength: number;
}

/** What an algorithm asks the generator for in one rollout. */
export interface RolloutRequest {
  /** Sampled responses per prompt: 1 for ReMax and PPO, k for RLOO / GRPO. */
  samplesPerPrompt: number;
  /** Also decode one greedy response per prompt (ReMax's baseline), in the same batched pass. */
  greedy: boolean;
  /** Seed of this rollout; per-row streams derive from (seed, row). */
  seed: number;
}

/** Generated sequences: prompt block [N, P] followed by the right-padded responses [N, R]. */
export interface RolloutSequences extends SequenceBatch {
  /** Response tokens per row, EOS included (length N). */
  responseLengths: readonly number[];
  /**
   * Behaviour-policy log-probability of each response token, float32 [N, R]
   * (column j is the token at column P + j), when the generator reports it;
   * used only for the rollout-vs-train mismatch metric.
   */
  logprobs?: tf.Tensor2D;
}

/** One rollout. Row `i * samplesPerPrompt + j` of `sampled` is sample j of prompt i. */
export interface Rollout {
  sampled: RolloutSequences;
  /** One greedy response per prompt (row i = prompt i), present when requested. */
  greedy?: RolloutSequences;
}

/**
 * Generation, injected (the example wires @remax/rollout's `generate`). Takes
 * left-padded prompts [B, P]; the caller owns (and disposes) the returned tensors.
 */
export type GenerateFn = (prompts: TokenBatch, request: RolloutRequest) => Promise<Rollout>;

/**
 * Scalar reward per sequence, injected (the example wires UltraRM through
 * @remax/reward-ultrarm: decode, re-template, score). Returns [N] rewards.
 */
export type RewardFn = (batch: SequenceBatch) => Promise<Float32Array>;

/** A per-token value model (PPO's critic); trainable. */
export interface ValueModel {
  /** Values [B, T], one per position. */
  values(batch: TokenBatch): tf.Tensor2D;
  parameters(): Map<string, tf.Variable>;
}

/** Everything an algorithm works with, owned by the caller (who disposes the models). */
export interface AlgorithmContext {
  /** The trained policy. */
  policy: Policy;
  /** The frozen reference policy of the KL penalty. */
  reference: Policy;
  generate: GenerateFn;
  reward: RewardFn;
  /** Caller-owned RNG: every random draw of the algorithm (rollout seeds) comes from it. */
  rng: Rng;
  /** Needed only by algorithms whose factory says `needsCritic` (PPO). */
  critic?: ValueModel;
}

/** Per-step numbers, flat and JSON-ready (one line of metrics.jsonl). */
export type StepMetrics = Record<string, number>;

/** An algorithm's typed experience batch; each algorithm extends it with its own tensors. */
export interface Experience {
  /** Sequences trained on (sampled rows). */
  readonly numSequences: number;
  /** Metrics measured while making the experience (rollout and scoring), merged into the step's. */
  readonly metrics: StepMetrics;
  /** Frees the experience's tensors; trainStep does not dispose its argument. */
  dispose(): void;
}

/** Resumable state (optimizer moments, step counter, adaptive KL coefficient, ...). */
export interface AlgorithmState {
  json: Record<string, unknown>;
  tensors: Map<string, tf.Tensor>;
}

/** A running algorithm bound to its context. */
export interface Algorithm<E extends Experience = Experience> {
  readonly name: string;
  /** Rollout + rewards + everything the loss needs that has no gradient. */
  makeExperience(prompts: TokenBatch): Promise<E>;
  /** Loss, gradients, clipping and one optimizer update (or several, e.g. PPO epochs). */
  trainStep(experience: E): Promise<StepMetrics>;
  /** Snapshot for checkpoints; tensors are copies the caller disposes. */
  getState(): AlgorithmState;
  /** Restores a snapshot from getState (copies the tensors). */
  setState(state: AlgorithmState): void;
  /** Frees the algorithm's own tensors (optimizer state), not the context's models. */
  dispose(): void;
}

/** How the example finds an algorithm by name: `algorithms[config.algo].create(...)`. */
export interface AlgorithmFactory<
  S extends z.ZodType = z.ZodType,
  E extends Experience = Experience,
> {
  readonly name: string;
  /** zod schema of the algorithm's config, with defaults. */
  readonly configSchema: S;
  /** Whether `context.critic` must be given. */
  readonly needsCritic: boolean;
  /** Validates `config` (typed error naming each bad key) and binds the algorithm to `context`. */
  create(config: z.input<S>, context: AlgorithmContext): Algorithm<E>;
}
