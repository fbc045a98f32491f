// Cross-checks between the run config and the models it names, before any
// weights load: a prompt plus its answer must fit the positions of the models
// that read them.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RemaxError } from '@remax/core';
import type { RunConfig } from './schema.js';

function maxPositions(modelDir: string): number | null {
  const file = join(modelDir, 'config.json');
  if (!existsSync(file)) return null; // a missing model is reported by assertInputsExist
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new RemaxError('E_FORMAT', 'model config is not valid JSON', { file, cause });
  }
  const n = (json as { max_position_embeddings?: unknown }).max_position_embeddings;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : null;
}

/** data.max_prompt_seq + data.max_answer_seq must fit the policy's and the reward model's positions. */
export function assertLengthsFit(config: RunConfig, configFile?: string): void {
  const need = config.data.max_prompt_seq + config.data.max_answer_seq;
  const models: [string, string][] = [
    ['policy', config.policy.path],
    ['reward', config.reward.path],
  ];
  for (const [name, dir] of models) {
    const limit = maxPositions(dir);
    if (limit !== null && need > limit) {
      throw new RemaxError(
        'E_CONFIG',
        `prompt + answer is longer than the ${name} model's positions`,
        {
          ...(configFile === undefined ? {} : { file: configFile }),
          field: 'data.max_prompt_seq + data.max_answer_seq',
          value: need,
          expected: `<= ${limit} (max_position_embeddings of ${join(dir, 'config.json')})`,
        },
      );
    }
  }
}
