// Rollouts from an OpenAI-compatible engine (vLLM, or `serve`): one
// POST /v1/completions per prompt with the prompt as token ids (the trainer's
// tokenizer is the source of truth, never text), `n` = samples per prompt and
// `seed` = promptSeed(rollout seed, prompt index), so sample j draws from the
// stream vLLM gives seed + j, exactly as in-process generation does; ReMax's
// greedy rows are `temperature: 0` requests in the same round. The engine must
// run with `--logprobs-mode processed_logprobs` so its logprobs are taken after
// temperature / top-k / top-p, as ours are (docs/scaling-out.md).

import {
  type EngineEndpoint,
  type GenerateFn,
  mapLimited,
  postEngineJson,
  type Rollout,
  type RolloutSequences,
  type TokenBatch,
  tf,
} from '@remax/core';
import { logprobRows } from '../options.js';
import type { RolloutSettings } from '../rolloutGenerator.js';
import { promptSeed } from '../seeds.js';
import { type CompletionRow, readCompletion } from './completionAnswer.js';

/** An engine endpoint, plus the policy's vocabulary size to check returned ids against. */
export interface OpenAIEndpoint extends EngineEndpoint {
  vocabSize?: number;
}

const DEFAULT_CONCURRENCY = 64;

export function openAIRolloutGenerator(
  endpoint: OpenAIEndpoint,
  settings: RolloutSettings,
): GenerateFn {
  const eos = Array.isArray(settings.eosTokenId) ? settings.eosTokenId : [settings.eosTokenId];
  const pad = settings.padTokenId ?? eos[0] ?? 0;
  const maxTokens = settings.maxNewTokens;
  return async (prompts: TokenBatch, request): Promise<Rollout> => {
    const promptRows = unpadded(prompts);
    const k = request.samplesPerPrompt;
    const jobs: { prompt: number; greedy: boolean }[] = promptRows.map((_, i) => ({
      prompt: i,
      greedy: false,
    }));
    if (request.greedy) {
      for (let i = 0; i < promptRows.length; i++) jobs.push({ prompt: i, greedy: true });
    }
    const answers = await mapLimited(
      jobs,
      endpoint.maxConcurrency ?? DEFAULT_CONCURRENCY,
      async ({ prompt, greedy }) => {
        const n = greedy ? 1 : k;
        const body = completionBody(endpoint.model, promptRows[prompt] as number[], {
          n,
          maxTokens,
          eos,
          ...(greedy
            ? { temperature: 0 }
            : {
                temperature: settings.temperature ?? 1,
                topP: settings.topP ?? 1,
                topK: settings.topK ?? 0,
                seed: promptSeed(request.seed, prompt),
              }),
        });
        const what = `${greedy ? 'greedy' : `sampled n=${n}`} completion of prompt ${prompt} (${(promptRows[prompt] as number[]).length} tokens, max_tokens ${maxTokens})`;
        const json = await postEngineJson(endpoint, 'completions', body, what);
        return readCompletion(json, { n, maxTokens, eos, vocabSize: endpoint.vocabSize, what });
      },
    );
    const sampledRows = answers.slice(0, promptRows.length).flat();
    const greedyRows = answers.slice(promptRows.length).flat();
    // In-process decoding runs until every row (sampled and greedy) finished: one width R for both blocks.
    const R = Math.max(1, ...[...sampledRows, ...greedyRows].map((r) => r.tokens.length));
    const withLogprobs = logprobRows(settings.returnLogprobs); // the in-process rule
    const sampledPrompts = promptRows.flatMap((_, i) => new Array<number>(k).fill(i));
    const sampled = toSequences(prompts, sampledPrompts, sampledRows, R, pad, withLogprobs.sampled);
    if (!request.greedy) return { sampled };
    const greedy = toSequences(
      prompts,
      promptRows.map((_, i) => i),
      greedyRows,
      R,
      pad,
      withLogprobs.greedy,
    );
    return { sampled, greedy };
  };
}

interface CompletionOptions {
  n: number;
  maxTokens: number;
  eos: number[];
  temperature: number;
  topP?: number;
  topK?: number;
  seed?: number;
}

/** A vLLM CompletionRequest for one token-id prompt (vLLM's field names). */
export function completionBody(model: string, prompt: number[], o: CompletionOptions) {
  return {
    model,
    prompt,
    n: o.n,
    max_tokens: o.maxTokens,
    temperature: o.temperature,
    ...(o.topP !== undefined && o.topP < 1 ? { top_p: o.topP } : {}),
    ...(o.topK !== undefined && o.topK > 0 ? { top_k: o.topK } : {}),
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
    stop_token_ids: o.eos,
    logprobs: 0,
    return_token_ids: true,
    return_tokens_as_token_ids: true,
    skip_special_tokens: false,
    include_stop_str_in_output: true,
  };
}

/** Each prompt row without its left padding. */
function unpadded(prompts: TokenBatch): number[][] {
  const ids = prompts.inputIds.arraySync() as number[][];
  const mask = prompts.attentionMask.arraySync() as number[][];
  return ids.map((row, b) => row.filter((_, t) => mask[b]?.[t] === 1));
}

/** Rows as RolloutSequences: the caller's prompt block, then responses right-padded to R. */
function toSequences(
  prompts: TokenBatch,
  rowPrompts: number[],
  rows: CompletionRow[],
  R: number,
  pad: number,
  withLogprobs: boolean,
): RolloutSequences {
  const P = prompts.inputIds.shape[1] as number;
  const N = rows.length;
  const promptIds = prompts.inputIds.arraySync() as number[][];
  const promptMask = prompts.attentionMask.arraySync() as number[][];
  const ids = new Int32Array(N * (P + R));
  const mask = new Int32Array(N * (P + R));
  const lp = new Float32Array(N * R);
  rows.forEach((row, r) => {
    const b = rowPrompts[r] as number;
    ids.set(promptIds[b] as number[], r * (P + R));
    mask.set(promptMask[b] as number[], r * (P + R));
    for (let j = 0; j < R; j++) {
      const has = j < row.tokens.length;
      ids[r * (P + R) + P + j] = has ? (row.tokens[j] as number) : pad;
      mask[r * (P + R) + P + j] = has ? 1 : 0;
      if (has) lp[r * R + j] = row.logprobs[j] as number;
    }
  });
  return {
    inputIds: tf.tensor2d(ids, [N, P + R], 'int32'),
    attentionMask: tf.tensor2d(mask, [N, P + R], 'int32'),
    promptLength: P,
    responseLengths: rows.map((r) => r.tokens.length),
    ...(withLogprobs ? { logprobs: tf.tensor2d(lp, [N, R], 'float32') } : {}),
  };
}
