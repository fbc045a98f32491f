// Where rollouts and rewards come from: in the trainer (tfjs), or from engines
// over HTTP (vLLM's OpenAI-compatible server, or `serve`). See docs/scaling-out.md.

import { type EngineEndpoint, type GenerateFn, RemaxError, type RewardFn } from '@remax/core';
import { type ConversationScores, makeRewardFn, remoteRewardFn } from '@remax/reward-ultrarm';
import { openAIRolloutGenerator } from '@remax/rollout';
import type { RunConfig } from '../config/schema.js';
import { type AdapterSync, adapterSync, syncsAdapters } from './adapterSync.js';
import { type GenerateStats, makeGenerateFn, rolloutSettings, timed } from './generateFn.js';
import type { RunModels } from './models.js';

type EngineSection = Pick<
  RunConfig['rollout'],
  'base_url' | 'model' | 'api_key_env' | 'max_concurrency' | 'timeout_s' | 'max_retries'
>;

/** The endpoint of a config section; the key is read from the named environment variable. */
export function endpointOf(section: EngineSection, field: string): EngineEndpoint {
  let apiKey: string | undefined;
  if (section.api_key_env !== null) {
    apiKey = process.env[section.api_key_env];
    if (apiKey === undefined || apiKey === '') {
      throw new RemaxError('E_CONFIG', 'the API key environment variable is not set', {
        field: `${field}.api_key_env`,
        value: section.api_key_env,
        expected: `export ${section.api_key_env}=<key> (the key is never read from YAML)`,
      });
    }
  }
  return {
    baseURL: section.base_url as string,
    model: section.model as string,
    ...(apiKey !== undefined ? { apiKey } : {}),
    timeoutMs: section.timeout_s * 1000,
    maxRetries: section.max_retries,
    maxConcurrency: section.max_concurrency,
  };
}

/**
 * A remote rollout engine keeps the weights it was started with; only LoRA
 * adapter sync (`sync`: load_lora_adapter after each save) keeps it on the
 * trained policy. Full fine-tuning with a remote engine would sample from the
 * starting policy: refuse unless the config says that is intended.
 */
export function checkEngineConfig(config: RunConfig): void {
  if (config.sync !== null && (config.lora === null || config.rollout.engine !== 'openai')) {
    throw new RemaxError('E_CONFIG', 'sync hot-swaps LoRA adapters into a remote rollout engine', {
      field: 'sync',
      value: config.sync,
      expected: `null, or a lora section with rollout.engine: openai (lora is ${config.lora === null ? 'null' : 'set'}, rollout.engine is ${config.rollout.engine})`,
    });
  }
  if (
    config.rollout.engine === 'openai' &&
    !syncsAdapters(config) &&
    !config.rollout.allow_stale_weights
  ) {
    throw new RemaxError('E_CONFIG', 'a remote rollout engine would serve stale weights', {
      field: 'rollout.allow_stale_weights',
      value: false,
      expected:
        'true to accept rollouts from the weights the engine was started with, or LoRA with sync: {every_steps} (full fine-tuning does not sync weights to the engine; see docs/scaling-out.md)',
    });
  }
}

/**
 * The rollout and reward functions of a run. With `sync`, `sync` hot-swaps the
 * adapter into the rollout engine and completions ask for its lora_name.
 */
export function makeEngines(
  config: RunConfig,
  models: RunModels,
  stats: GenerateStats,
  onScored: (scores: ConversationScores) => void,
  runDir: string,
): { generate: GenerateFn; reward: RewardFn; sync: AdapterSync | null } {
  checkEngineConfig(config);
  const eos = models.tokenizer.eosId;
  const sync =
    config.sync !== null && syncsAdapters(config)
      ? adapterSync(models.policy, runDir, endpointOf(config.rollout, 'rollout'), config.sync)
      : null;
  const generate =
    config.rollout.engine === 'openai'
      ? timed(
          openAIRolloutGenerator(
            {
              ...endpointOf(config.rollout, 'rollout'),
              ...(sync ? { model: sync.loraName } : {}),
              vocabSize: models.policy.vocabSize,
            },
            rolloutSettings(config, eos),
          ),
          stats,
        )
      : makeGenerateFn(models.policy, config, eos, stats);
  const reward =
    models.reward !== null
      ? makeRewardFn(models.reward, models.tokenizer, onScored)
      : remoteRewardFn(
          { ...endpointOf(config.reward, 'reward'), maxLength: models.rewardMaxLength },
          models.tokenizer,
          models.rewardTokenizer,
          onScored,
        );
  return { generate, reward, sync };
}

/** The error a run ends with when an engine fails: what failed, where the checkpoint is, how to go on. */
export function engineStopped(cause: RemaxError, runDir: string, step: number): RemaxError {
  return new RemaxError(
    'E_ENGINE',
    `${cause.message}\ncheckpoint saved after step ${step}; once the engine is back, continue with: remax-train-mistral train --resume ${runDir}`,
    { cause },
  );
}
