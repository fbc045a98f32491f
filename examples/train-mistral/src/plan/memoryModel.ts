import type { Architecture } from './architecture.js';

export const F32 = 4;

/** Which process holds a component: the trainer, or a serving engine (vLLM) at 7B. */
export type PlanProcess = 'trainer' | 'rollout engine (vLLM)' | 'reward engine (vLLM)';

/** One component of a plan, the phase it is alive in and the process holding it. */
export interface PlanRow {
  component: string;
  params: number | null;
  bytes: number;
  note: string;
  /** resident: the whole run; generation / training: only during that phase of a step. */
  phase: 'resident' | 'generation' | 'training';
  /** Default 'trainer'. */
  process?: PlanProcess;
}

/** A row alive for the whole run. */
export function resident(
  component: string,
  params: number | null,
  bytes: number,
  note: string,
): PlanRow {
  return { component, params, bytes, note, phase: 'resident' };
}

/** What an algorithm's memory model is computed from (float32 everywhere). */
export interface MemoryInputs {
  critic: Architecture;
  criticParams: number;
  /** Critic parameters with gradients and AdamW moments when not all of them (LoRA); null = all. */
  criticTrainableParams: number | null;
  /** Prompt + response tokens of one sequence. */
  seqLen: number;
  /** Sequences per forward/backward (train.micro_batch_size). */
  microBatch: number;
}

/**
 * The memory an algorithm holds beyond what every algorithm here holds (the
 * trained policy with its gradients and AdamW moments, the frozen reference
 * and reward model, the generation KV cache sized by its generation shape,
 * the policy's training activations).
 */
export type MemoryModel = (m: MemoryInputs) => PlanRow[];

/**
 * Activation floats kept for the backward pass of one decoder layer, per
 * sequence: the inputs of every linear and norm (10 x hidden), the four MLP
 * intermediates (4 x intermediate) and the attention scores and probabilities.
 */
export function layerActivationFloats(a: Architecture, seqLen: number): number {
  return (
    seqLen * (10 * a.hidden_size + 4 * a.intermediate_size) +
    2 * a.num_attention_heads * seqLen * seqLen
  );
}

/** Critic-free algorithms (ReMax, GRPO, RLOO, REINFORCE++): nothing beyond the common rows. */
export const policyOnlyMemory: MemoryModel = () => [];

/**
 * A trained value model (PPO's critic): weights, gradients, AdamW moments, and
 * its activations in training. With LoRA on the critic the backbone is frozen
 * and only the adapters and the regression head have gradients and moments.
 */
export const trainedCriticMemory: MemoryModel = (m) => {
  const trainable = m.criticTrainableParams ?? m.criticParams;
  const lora = m.criticTrainableParams !== null;
  return [
    resident(
      'critic weights',
      m.criticParams,
      m.criticParams * F32,
      lora ? 'frozen backbone' : 'trainable value model',
    ),
    ...(lora
      ? [resident('critic LoRA adapters + head', trainable, trainable * F32, 'trainable')]
      : []),
    resident('critic gradients', null, trainable * F32, lora ? 'adapters + head' : ''),
    resident('critic optimizer state', null, 2 * trainable * F32, 'AdamW'),
    {
      component: 'critic activations (training)',
      params: null,
      bytes:
        m.microBatch * m.critic.num_hidden_layers * layerActivationFloats(m.critic, m.seqLen) * F32,
      note: `micro-batch ${m.microBatch} x ${m.seqLen} tokens`,
      phase: 'training',
    },
  ];
};
