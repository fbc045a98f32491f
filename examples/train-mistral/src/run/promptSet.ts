import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Tokenizer } from '@remax/tokenizer';
import type { RunConfig } from '../config/schema.js';
import {
  type PreparedPrompt,
  readPromptSource,
  type SelectionStats,
  selectPrompts,
  toJsonl,
} from '../data/prepare.js';
import { chatTemplateOf, promptIds } from './prompts.js';

export interface RunPrompts {
  train: PreparedPrompt[];
  eval: PreparedPrompt[];
}

/**
 * The run's prompts: the source through the configured filters and the
 * templated-length cut, shuffled with the seed; the first num_prompts train,
 * the next eval_prompts are held out for `eval`. Both lists (with provenance)
 * are written into the run directory when one is given.
 */
export async function loadRunPrompts(
  config: RunConfig,
  tokenizer: Tokenizer,
  runDir?: string,
): Promise<{ prompts: RunPrompts; stats: SelectionStats }> {
  const template = chatTemplateOf(config);
  const candidates = await readPromptSource(config.data.source);
  const { prompts, stats } = selectPrompts(candidates, {
    filters: config.data.filters,
    promptLength: (p) => promptIds(tokenizer, p, template).length,
    maxPromptSeq: config.data.max_prompt_seq,
    seed: config.seed,
    count: config.data.num_prompts + config.data.eval_prompts,
  });
  const split: RunPrompts = {
    train: prompts.slice(0, config.data.num_prompts),
    eval: prompts.slice(config.data.num_prompts),
  };
  if (runDir !== undefined) {
    writeFileSync(join(runDir, 'prompts.train.jsonl'), toJsonl(split.train));
    writeFileSync(join(runDir, 'prompts.eval.jsonl'), toJsonl(split.eval));
    writeFileSync(join(runDir, 'prompts.stats.json'), JSON.stringify(stats, null, 2));
  }
  return { prompts: split, stats };
}
