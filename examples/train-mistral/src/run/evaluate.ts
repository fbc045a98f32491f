import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, Rng } from '@remax/core';
import type { CausalLM } from '@remax/model-mistral';
import { loadRewardModel, makeRewardFn } from '@remax/reward-ultrarm';
import { generate } from '@remax/rollout';
import { Tokenizer } from '@remax/tokenizer';
import type { RunConfig } from '../config/schema.js';
import type { PreparedPrompt } from '../data/prepare.js';
import { loadPolicyDir } from './lora.js';
import { chatTemplateOf, promptBatch } from './prompts.js';

/** Wilson score interval of a proportion (95% by default). */
export function wilsonInterval(successes: number, n: number, z = 1.959964): [number, number] {
  if (n === 0) return [0, 1];
  const p = successes / n;
  const denom = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denom;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

export interface Generation {
  instruction: string;
  output: string;
  generator: string;
  reward: number;
  length: number;
}

/** Generates one response per prompt (the config's sampling, seeded) and scores it with the RM. */
async function generateAndScore(
  model: CausalLM,
  generator: string,
  tokenizer: Tokenizer,
  rewardFn: ReturnType<typeof makeRewardFn>,
  prompts: readonly PreparedPrompt[],
  config: RunConfig,
  seed: number,
  batchSize: number,
): Promise<Generation[]> {
  const out: Generation[] = [];
  for (let start = 0; start < prompts.length; start += batchSize) {
    const chunk = prompts.slice(start, start + batchSize);
    const batch = promptBatch(
      tokenizer,
      chunk.map((p) => p.prompt),
      chatTemplateOf(config),
    );
    try {
      const result = await generate(model, batch, {
        maxNewTokens: config.data.max_answer_seq,
        temperature: config.generation.temperature,
        topP: config.generation.top_p,
        topK: config.generation.top_k,
        eosTokenId: tokenizer.eosId,
        seed,
        // streams keyed by the prompt's index in the whole set: batch size does not change a row
        promptIndices: chunk.map((_, i) => start + i),
      });
      try {
        const rewards = await rewardFn({
          inputIds: result.sequences,
          attentionMask: result.attentionMask,
          promptLength: result.promptLength,
        });
        chunk.forEach((p, i) => {
          const ids = (result.responses[i] ?? []).filter((id) => id !== tokenizer.eosId);
          out.push({
            instruction: p.prompt,
            output: tokenizer.decode(ids),
            generator,
            reward: rewards[i] ?? Number.NaN,
            length: result.responseLengths[i] ?? 0,
          });
        });
      } finally {
        result.dispose();
      }
    } finally {
      batch.inputIds.dispose();
      batch.attentionMask.dispose();
    }
  }
  return out;
}

export interface EvalSummary {
  n: number;
  policy: string;
  baseline: string;
  wins: number;
  ties: number;
  losses: number;
  /** (wins + ties / 2) / n: the policy's win rate against the baseline, judged by the RM. */
  win_rate: number;
  ci95: [number, number];
  mean_length_policy: number;
  mean_length_baseline: number;
  mean_reward_policy: number;
  mean_reward_baseline: number;
}

/**
 * Pairwise evaluation: both models answer the same held-out prompts, the
 * reward model judges each pair (higher reward wins), and the outputs are
 * written in AlpacaEval's format so alpaca_eval can judge them too.
 */
export async function evaluatePair(options: {
  config: RunConfig;
  policyDir: string;
  baselineDir: string;
  prompts: readonly PreparedPrompt[];
  outDir: string;
  seed?: number;
}): Promise<EvalSummary> {
  const { config, prompts, outDir } = options;
  await initBackend(config.backend);
  mkdirSync(outDir, { recursive: true });
  const tokenizer = await Tokenizer.fromDir(config.policy.path);
  const rm = await loadRewardModel(config.reward.path, {
    microBatchSize: config.reward.batch_size,
  });
  const rewardFn = makeRewardFn(rm, tokenizer);
  const seed = options.seed ?? Rng.derive(config.seed, 0xe7a1).nextUint32();
  const run = async (dir: string, name: string) => {
    const model = await loadPolicyDir(dir, config);
    try {
      return await generateAndScore(
        model,
        name,
        tokenizer,
        rewardFn,
        prompts,
        config,
        seed,
        config.train.batch_size,
      );
    } finally {
      model.dispose();
    }
  };
  try {
    const a = await run(options.policyDir, 'policy');
    const b = await run(options.baselineDir, 'baseline');
    let wins = 0;
    let ties = 0;
    const judgements = a.map((ga, i) => {
      const gb = b[i] as Generation;
      const verdict = ga.reward > gb.reward ? 'policy' : ga.reward < gb.reward ? 'baseline' : 'tie';
      if (verdict === 'policy') wins++;
      if (verdict === 'tie') ties++;
      return {
        instruction: ga.instruction,
        reward_policy: ga.reward,
        reward_baseline: gb.reward,
        verdict,
      };
    });
    const n = a.length;
    const score = wins + ties / 2;
    const mean = (xs: number[]) =>
      xs.length === 0 ? 0 : xs.reduce((s, x) => s + x, 0) / xs.length;
    const summary: EvalSummary = {
      n,
      policy: options.policyDir,
      baseline: options.baselineDir,
      wins,
      ties,
      losses: n - wins - ties,
      win_rate: n === 0 ? 0 : score / n,
      ci95: wilsonInterval(score, n),
      mean_length_policy: mean(a.map((g) => g.length)),
      mean_length_baseline: mean(b.map((g) => g.length)),
      mean_reward_policy: mean(a.map((g) => g.reward)),
      mean_reward_baseline: mean(b.map((g) => g.reward)),
    };
    const alpaca = (gs: Generation[]) =>
      JSON.stringify(
        gs.map(({ instruction, output, generator }) => ({ instruction, output, generator })),
        null,
        2,
      );
    writeFileSync(join(outDir, 'policy.alpaca_eval.json'), alpaca(a));
    writeFileSync(join(outDir, 'baseline.alpaca_eval.json'), alpaca(b));
    writeFileSync(
      join(outDir, 'judgements.jsonl'),
      judgements.map((j) => JSON.stringify(j)).join('\n') + '\n',
    );
    writeFileSync(join(outDir, 'summary.json'), JSON.stringify(summary, null, 2));
    return summary;
  } finally {
    rm.dispose();
  }
}
