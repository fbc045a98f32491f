import { grpoAlgorithm } from '@remax/algo-grpo';
import { ppoAlgorithm } from '@remax/algo-ppo-baseline';
import { reinforcePPAlgorithm } from '@remax/algo-reinforce-pp';
import { remaxAlgorithm } from '@remax/algo-remax';
import { rlooAlgorithm } from '@remax/algo-rloo';
import { policyOnlyMemory, trainedCriticMemory } from './plan/memoryModel.js';
import { defineAlgorithm, type SharedSettings } from './registry/defineAlgorithm.js';

/** The policy's optimizer and micro-batch size, for factories that take them at the top level. */
const policyOptimizer = (run: SharedSettings) => ({
  ...run.optimizer,
  microBatchSize: run.microBatchSize,
});

/**
 * The algorithms the example can run: `algo:` in the config, `--algo`,
 * `ablate --algos`, `plan` and the YAML sections all come from this list.
 * Adding an algorithm is one entry here (and the package in package.json);
 * see docs/adding-an-algorithm.md.
 */
export const algorithms = [
  defineAlgorithm({
    name: 'remax',
    factory: remaxAlgorithm,
    summary: 'ReMax: REINFORCE with the greedy response reward as baseline (Li et al. 2023)',
    shared: policyOptimizer,
    generation: () => ({ samplesPerPrompt: 1, greedy: true }),
    memory: policyOnlyMemory,
  }),
  defineAlgorithm({
    name: 'ppo',
    factory: ppoAlgorithm,
    summary: 'PPO with a critic and GAE, DeepSpeed-Chat semantics (the paper baseline)',
    // the critic shares the actor's schedule and clipping, with its own lr and weight decay
    shared: (run) => {
      const { lr: _lr, weightDecay: _wd, ...schedule } = run.optimizer;
      return { microBatchSize: run.microBatchSize, actor: run.optimizer, critic: schedule };
    },
    generation: () => ({ samplesPerPrompt: 1, greedy: false }),
    memory: trainedCriticMemory,
  }),
  defineAlgorithm({
    name: 'grpo',
    factory: grpoAlgorithm,
    summary:
      'GRPO: group-normalised advantages, clipped ratio, k3 KL in the loss (Shao et al. 2024)',
    // the dr_grpo normaliser is the generator's most new tokens
    shared: (run) => ({ ...policyOptimizer(run), maxCompletionLength: run.maxNewTokens }),
    generation: (c) => ({ samplesPerPrompt: c.numGenerations, greedy: false }),
    memory: policyOnlyMemory,
  }),
  defineAlgorithm({
    name: 'rloo',
    factory: rlooAlgorithm,
    summary:
      'RLOO: REINFORCE with the leave-one-out mean of the k samples as baseline (Ahmadian et al. 2024)',
    shared: policyOptimizer,
    generation: (c) => ({ samplesPerPrompt: c.samplesPerPrompt, greedy: false }),
    memory: policyOnlyMemory,
  }),
  defineAlgorithm({
    name: 'reinforce_pp',
    factory: reinforcePPAlgorithm,
    summary:
      'REINFORCE++: per-token KL in the reward, returns whitened over the batch, clipped loss (Hu 2025)',
    shared: policyOptimizer,
    generation: (c) => ({ samplesPerPrompt: c.samplesPerPrompt, greedy: false }),
    memory: policyOnlyMemory,
  }),
] as const;
