import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseWith, RemaxError } from '@remax/core';
import { openCheckpoint } from '@remax/safetensors';
import { z } from 'zod';

/** UltraRM's scalar head: nn.Linear(hidden_size, 1, bias=False), stored [1, hidden]. */
export const REGRESSION_HEAD = 'regression_head.weight';
/** The same head in HF's LlamaForSequenceClassification (num_labels 1), as vLLM serves it. */
export const SCORE_HEAD = 'score.weight';

/** Tokenizer files a reward-model directory may carry, in the order they are looked for. */
export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer.model'] as const;
/** Files copied along with the tokenizer when a model is saved. */
export const TOKENIZER_SIDE_FILES = [
  'tokenizer.json',
  'tokenizer.model',
  'tokenizer_config.json',
  'special_tokens_map.json',
] as const;

const rewardConfigSchema = z.looseObject({
  hidden_size: z.number().int().positive(),
  vocab_size: z.number().int().positive(),
  max_position_embeddings: z.number().int().positive().optional(),
  pad_token_id: z.number().int().nonnegative().nullable().optional(),
});

/** The config keys this package reads, with the raw config.json kept verbatim. */
export interface RewardCheckpointInfo {
  /** config.json as written, every key kept (saved back with only `architectures` / `torch_dtype` changed). */
  rawConfig: Record<string, unknown>;
  hiddenSize: number;
  vocabSize: number;
  maxPositionEmbeddings: number | undefined;
  padTokenId: number | undefined;
  /** The head's tensor name: REGRESSION_HEAD (UltraRM) or SCORE_HEAD (converted for vLLM). */
  headName: string;
}

/**
 * Checks a reward-model directory before the backbone loads, so a wrong
 * directory fails fast with one clear error: config.json readable, a tokenizer
 * file present, and a `regression_head.weight` of shape [1, hidden_size].
 */
export async function inspectRewardCheckpoint(
  dir: string,
  options: { needTokenizer: boolean },
): Promise<RewardCheckpointInfo> {
  const configPath = join(dir, 'config.json');
  let text: string;
  try {
    text = await readFile(configPath, 'utf8');
  } catch (cause) {
    throw new RemaxError('E_FILE', 'cannot read the model config', {
      file: configPath,
      expected: 'a Hugging Face model directory with config.json',
      cause,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new RemaxError('E_FORMAT', 'config.json is not valid JSON', { file: configPath, cause });
  }
  const config = parseWith(rewardConfigSchema, json, {
    file: configPath,
    what: 'reward model config',
  });
  if (options.needTokenizer && !TOKENIZER_FILES.some((f) => existsSync(join(dir, f)))) {
    throw new RemaxError('E_FILE', 'the reward model directory has no tokenizer', {
      file: dir,
      expected: `one of ${TOKENIZER_FILES.join(', ')} next to config.json (UltraRM ships the Llama tokenizer.model)`,
    });
  }
  const checkpoint = await openCheckpoint(dir);
  let headName = '';
  try {
    headName = [REGRESSION_HEAD, SCORE_HEAD].find((n) => checkpoint.names().includes(n)) ?? '';
    if (headName === '') {
      throw new RemaxError('E_CHECKPOINT', 'the checkpoint has no regression head', {
        file: checkpoint.path,
        field: REGRESSION_HEAD,
        expected: `a reward model checkpoint (LlamaRewardModel) with ${REGRESSION_HEAD} [1, ${config.hidden_size}] (or ${SCORE_HEAD}, converted for vLLM)`,
      });
    }
    const { shape } = checkpoint.info(headName);
    if (shape.length !== 2 || shape[0] !== 1 || shape[1] !== config.hidden_size) {
      throw new RemaxError('E_SHAPE', 'the regression head has the wrong shape', {
        file: checkpoint.path,
        field: headName,
        value: shape,
        expected: `[1, ${config.hidden_size}] (hidden_size from config.json)`,
      });
    }
  } finally {
    await checkpoint.close();
  }
  return {
    rawConfig: json as Record<string, unknown>,
    hiddenSize: config.hidden_size,
    vocabSize: config.vocab_size,
    maxPositionEmbeddings: config.max_position_embeddings,
    padTokenId: config.pad_token_id ?? undefined,
    headName,
  };
}
