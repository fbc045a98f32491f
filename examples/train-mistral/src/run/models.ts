import type { Policy, ValueModel } from '@remax/core';
import { type CausalLM, loadCausalLM } from '@remax/model-mistral';
import {
  loadRewardModel,
  loadRewardTokenizer,
  loadValueModel,
  type TextTokenizer,
  tokenAlignedCritic,
  type UltraRewardModel,
} from '@remax/reward-ultrarm';
import { Tokenizer } from '@remax/tokenizer';
import type { RunConfig } from '../config/schema.js';
import { addRunAdapters, loraPolicies } from './lora.js';

export interface RunModels {
  /** The model: generation, saving. */
  policy: CausalLM;
  /** What the algorithm trains (the policy itself, or with LoRA its adapters). */
  trainPolicy: Policy;
  /** The frozen reference: a second load, or with LoRA the policy with adapters off. */
  reference: Policy;
  tokenizer: Tokenizer;
  /** null when rewards come from a served reward model (reward.engine: remote). */
  reward: UltraRewardModel | null;
  /** The reward model's tokenizer and input limit (loaded either way). */
  rewardTokenizer: TextTokenizer;
  rewardMaxLength: number;
  critic?: ValueModel & { dispose(): void };
  dispose(): void;
}

/**
 * Loads what a run needs. The reference is a second, frozen load of the
 * policy's starting weights (or `reference.path`); `policyFrom` overrides the
 * policy weights (a checkpoint when resuming). With `lora` the policy is the base
 * model plus adapters (`policyFrom` is then an adapter folder) and nothing else loads.
 */
export async function loadRunModels(
  config: RunConfig,
  options: {
    withCritic: boolean;
    policyFrom?: string;
    withReference?: boolean;
    /** The policy's tokenizer when the caller already loaded it. */
    tokenizer?: Tokenizer;
  },
): Promise<RunModels> {
  const lora = config.lora !== null;
  const tokenizer = options.tokenizer ?? (await Tokenizer.fromDir(config.policy.path));
  const policy = await loadCausalLM(
    lora ? config.policy.path : (options.policyFrom ?? config.policy.path),
  );
  const referenceModel = lora
    ? null
    : await loadCausalLM(config.reference.path ?? config.policy.path);
  const { train: trainPolicy, reference } = referenceModel
    ? { train: policy, reference: referenceModel }
    : await loraPolicies(policy, config, options.policyFrom);
  const reward =
    config.reward.engine === 'local'
      ? await loadRewardModel(config.reward.path, { microBatchSize: config.reward.batch_size })
      : null;
  const rewardInfo = reward ?? (await loadRewardTokenizer(config.reward.path));
  // PPO's critic is UltraRM (Llama tokenizer) reading the policy's (Mistral)
  // batches: token-aligned through the text, never fed the policy's ids
  const criticModel = options.withCritic
    ? await loadValueModel(config.critic.path ?? config.reward.path)
    : undefined;
  // LoRA on the critic too: adapters + head train (critic.safetensors holds them)
  if (criticModel && config.lora?.critic) addRunAdapters(criticModel.backbone, config, 1);
  const critic = criticModel
    ? {
        ...tokenAlignedCritic(
          {
            values: (b) => criticModel.values(b),
            parameters: () => criticModel.trainableParameters(),
          },
          { policy: tokenizer, critic: rewardInfo.tokenizer },
          { maxLength: rewardInfo.maxLength },
        ),
        dispose: () => criticModel.dispose(),
      }
    : undefined;
  return {
    policy,
    trainPolicy,
    reference,
    tokenizer,
    reward,
    rewardTokenizer: rewardInfo.tokenizer,
    rewardMaxLength: rewardInfo.maxLength,
    ...(critic ? { critic } : {}),
    dispose() {
      policy.dispose();
      referenceModel?.dispose();
      reward?.dispose();
      critic?.dispose();
    },
  };
}
