import type { ValueModel } from '@remax/core';
import { type CausalLM, loadCausalLM } from '@remax/model-mistral';
import {
  loadRewardModel,
  loadValueModel,
  tokenAlignedCritic,
  type UltraRewardModel,
} from '@remax/reward-ultrarm';
import { Tokenizer } from '@remax/tokenizer';
import type { RunConfig } from '../config/schema.js';

export interface RunModels {
  policy: CausalLM;
  reference: CausalLM;
  tokenizer: Tokenizer;
  reward: UltraRewardModel;
  critic?: ValueModel & { dispose(): void };
  dispose(): void;
}

/**
 * Loads what a run needs. The reference is a second, frozen load of the
 * policy's starting weights (or `reference.path`); `policyFrom` overrides the
 * policy weights (a checkpoint when resuming).
 */
export async function loadRunModels(
  config: RunConfig,
  options: { withCritic: boolean; policyFrom?: string; withReference?: boolean },
): Promise<RunModels> {
  const policyDir = options.policyFrom ?? config.policy.path;
  const tokenizer = await Tokenizer.fromDir(config.policy.path);
  const policy = await loadCausalLM(policyDir);
  const reference = await loadCausalLM(config.reference.path ?? config.policy.path);
  const reward = await loadRewardModel(config.reward.path, {
    microBatchSize: config.reward.batch_size,
  });
  // PPO's critic is UltraRM (Llama tokenizer) reading the policy's (Mistral)
  // batches: token-aligned through the text, never fed the policy's ids
  const criticModel = options.withCritic
    ? await loadValueModel(config.critic.path ?? config.reward.path)
    : undefined;
  const critic = criticModel
    ? {
        ...tokenAlignedCritic(
          criticModel,
          { policy: tokenizer, critic: reward.tokenizer },
          { maxLength: reward.maxLength },
        ),
        dispose: () => criticModel.dispose(),
      }
    : undefined;
  return {
    policy,
    reference,
    tokenizer,
    reward,
    ...(critic ? { critic } : {}),
    dispose() {
      policy.dispose();
      reference.dispose();
      reward.dispose();
      critic?.dispose();
    },
  };
}
