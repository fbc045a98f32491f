// POST /v1/completions: a validated CompletionRequest -> one DecodeJob -> the
// CompletionResponse vLLM would write (serving_completion.py:
// request_output_to_completion_response and _create_completion_logprobs).

import { randomUUID } from 'node:crypto';
import type { DecodedRow, DecodeJob } from './batcher.js';
import {
  type CompletionChoice,
  type CompletionLogProbs,
  type CompletionRequest,
  type CompletionResponse,
  HttpError,
  SERVE_LIMITS,
} from './protocol.js';

/** What `serve` needs from a tokenizer (structural: @remax/tokenizer's Tokenizer fits). */
export interface ServeTokenizer {
  encode(text: string, options?: { addBos?: boolean }): number[];
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string;
}

/** One servable causal LM. */
export interface ServedModel {
  /** The name clients send as `model` (`--served-model-name`, default the directory). */
  name: string;
  /** Where it was loaded from (ModelCard.root). */
  root: string;
  tokenizer: ServeTokenizer;
  vocabSize: number;
  /** The model's EOS ids (generation_config / tokenizer). */
  eosTokenIds: number[];
  /** max_position_embeddings: prompt + max_tokens must fit. */
  maxModelLen: number;
}

// vLLM's defaults (CompletionRequest): max_tokens 16, temperature 1, top_p 1, top_k 0 (off).
const DEFAULT_MAX_TOKENS = 16;
/** vLLM clamps logprobs and logit_bias to these. */
const MIN_LOGPROB = -9999.0;
const LOGIT_BIAS_LIMIT = 100;
const SAMPLING_EPS = 1e-5;

/** vLLM's request validation (SamplingParams._verify_args), as 400 BadRequestError. */
export function toDecodeJob(
  request: CompletionRequest,
  served: ServedModel,
  serverSeed: () => number,
): { job: DecodeJob; prompts: number[][] } {
  const bad = (message: string, param: string) =>
    new HttpError(400, message, 'BadRequestError', param);
  const n = request.n;
  if (n < 1) throw bad(`n must be at least 1, got ${n}.`, 'n');
  if (n > SERVE_LIMITS.maxN) throw bad(`n must be at most ${SERVE_LIMITS.maxN}, got ${n}.`, 'n');
  const temperature = request.temperature ?? 1;
  if (temperature < 0)
    throw bad(`temperature must be non-negative, got ${temperature}.`, 'temperature');
  const greedy = temperature < SAMPLING_EPS;
  const topP = request.top_p ?? 1;
  if (!(topP > 0 && topP <= 1)) throw bad(`top_p must be in (0, 1], got ${topP}.`, 'top_p');
  const topK = request.top_k ?? 0;
  if (topK < -1) throw bad(`top_k must be 0 (disable), or at least 1, got ${topK}.`, 'top_k');
  const maxTokens = request.max_tokens ?? DEFAULT_MAX_TOKENS;
  if (maxTokens < 1) throw bad(`max_tokens must be at least 1, got ${maxTokens}.`, 'max_tokens');
  if (maxTokens > SERVE_LIMITS.maxTokens) {
    throw bad(
      `max_tokens must be at most ${SERVE_LIMITS.maxTokens}, got ${maxTokens}.`,
      'max_tokens',
    );
  }
  if (greedy && n > 1) throw bad(`n must be 1 when using greedy sampling, got ${n}.`, 'n');
  const logprobs = request.logprobs ?? null;
  if (logprobs !== null && (logprobs < 0 || logprobs > SERVE_LIMITS.maxLogprobs)) {
    throw bad(
      `Requested sample logprobs of ${logprobs}, which is greater than max allowed: ${SERVE_LIMITS.maxLogprobs}`,
      'logprobs',
    );
  }
  const prompts = readPrompts(request, served);
  const stopIds = request.stop_token_ids ?? [];
  for (const id of stopIds) {
    if (id >= served.vocabSize) {
      throw bad(`stop_token_ids contain out-of-vocab token id ${id}.`, 'stop_token_ids');
    }
  }
  const logitBias: [number, number][] = [];
  for (const [key, value] of Object.entries(request.logit_bias ?? {})) {
    const id = Number(key);
    if (!Number.isInteger(id) || id < 0 || id >= served.vocabSize) {
      throw bad(`token_id(s) [${key}] in logit_bias contain out-of-vocab token ids.`, 'logit_bias');
    }
    logitBias.push([id, Math.min(LOGIT_BIAS_LIMIT, Math.max(-LOGIT_BIAS_LIMIT, value))]);
  }
  logitBias.sort((a, b) => a[0] - b[0]);
  for (const p of prompts) {
    if (p.length + maxTokens > served.maxModelLen) {
      throw bad(
        `'max_tokens' or 'max_completion_tokens' is too large: ${maxTokens}. This model's maximum context length is ${served.maxModelLen} tokens and your request has ${p.length} input tokens (${maxTokens} > ${served.maxModelLen} - ${p.length}).`,
        'max_tokens',
      );
    }
  }
  // vLLM: every prompt of a request has the request's seed; sample j gets seed + j.
  const seed = greedy ? null : (request.seed ?? serverSeed());
  return {
    prompts,
    job: {
      prompts,
      n,
      seeds: seed === null ? null : prompts.map(() => seed),
      temperature: greedy ? 1 : temperature,
      topP: greedy ? 1 : topP,
      topK: greedy || topK === -1 ? 0 : topK,
      maxTokens,
      stopIds: [...new Set([...(request.ignore_eos ? [] : served.eosTokenIds), ...stopIds])],
      logitBias,
      topLogprobs: logprobs ?? 0,
    },
  };
}

function readPrompts(request: CompletionRequest, served: ServedModel): number[][] {
  const p = request.prompt;
  const list: (string | number[])[] =
    typeof p === 'string' ? [p] : typeof p[0] === 'number' ? [p as number[]] : (p as string[]);
  return list.map((item, i) => {
    const ids =
      typeof item === 'string'
        ? served.tokenizer.encode(item, { addBos: request.add_special_tokens })
        : item;
    const bad = ids.findIndex((id) => id >= served.vocabSize);
    if (bad >= 0) {
      throw new HttpError(
        400,
        `Token id ${ids[bad]} is out of vocabulary (prompt ${i}, position ${bad}; vocab size ${served.vocabSize}).`,
        'BadRequestError',
        'prompt',
      );
    }
    if (ids.length === 0)
      throw new HttpError(400, 'The prompt is empty.', 'BadRequestError', 'prompt');
    return ids;
  });
}

/** The CompletionResponse for a job's rows [prompt][sample]. */
export function completionResponse(
  request: CompletionRequest,
  served: ServedModel,
  modelName: string,
  prompts: number[][],
  rows: DecodedRow[][],
  job: DecodeJob,
): CompletionResponse {
  const choices: CompletionChoice[] = [];
  let completionTokens = 0;
  rows.forEach((samples, p) => {
    for (const row of samples) {
      choices.push(choice(request, served, prompts[p] as number[], row, job, choices.length));
      completionTokens += row.tokens.length;
    }
  });
  const promptTokens = prompts.reduce((s, p) => s + p.length, 0);
  return {
    id: `cmpl-${request.request_id ?? randomUUID().replaceAll('-', '')}`,
    object: 'text_completion',
    created: Math.floor(Date.now() / 1000),
    model: modelName,
    choices,
    service_tier: null,
    system_fingerprint: null,
    usage: {
      prompt_tokens: promptTokens,
      total_tokens: promptTokens + completionTokens,
      completion_tokens: completionTokens,
      prompt_tokens_details: null,
    },
    kv_transfer_params: null,
  };
}

function choice(
  request: CompletionRequest,
  served: ServedModel,
  promptIds: number[],
  row: DecodedRow,
  job: DecodeJob,
  index: number,
): CompletionChoice {
  const last = row.tokens[row.tokens.length - 1];
  const stopped = row.finished === 'stop' && last !== undefined;
  // vLLM: stop_reason is the stop token id, or null for the model's own EOS.
  const stopReason =
    stopped && !(served.eosTokenIds.includes(last) && !request.ignore_eos) ? last : null;
  const textIds =
    stopped && !request.include_stop_str_in_output ? row.tokens.slice(0, -1) : row.tokens;
  const text = served.tokenizer.decode(textIds, {
    skipSpecialTokens: request.skip_special_tokens,
  });
  const returnIds = request.return_token_ids === true;
  return {
    index,
    text,
    logprobs:
      request.logprobs !== null && request.logprobs !== undefined
        ? logprobsOf(row, served, request.return_tokens_as_token_ids === true, job.topLogprobs)
        : null,
    finish_reason: row.finished,
    stop_reason: stopReason,
    token_ids: returnIds ? row.tokens : null,
    prompt_logprobs: null,
    prompt_token_ids: returnIds ? promptIds : null,
  };
}

/** CompletionLogProbs: the chosen token first in each top_logprobs dict, then the top N. */
function logprobsOf(
  row: DecodedRow,
  served: ServedModel,
  asIds: boolean,
  topN: number,
): CompletionLogProbs {
  const name = (id: number) => (asIds ? `token_id:${id}` : served.tokenizer.decode([id]));
  const out: CompletionLogProbs = {
    text_offset: [],
    token_logprobs: [],
    tokens: [],
    top_logprobs: [],
  };
  let offset = 0;
  row.tokens.forEach((id, i) => {
    const token = name(id);
    const lp = Math.max(row.logprobs[i] as number, MIN_LOGPROB);
    out.tokens.push(token);
    out.token_logprobs.push(lp);
    const top: Record<string, number> = { [token]: lp };
    for (const [alt, altLp] of (row.top[i] ?? []).slice(0, topN)) {
      const key = name(alt);
      if (!(key in top)) top[key] = Math.max(altLp, MIN_LOGPROB);
    }
    out.top_logprobs.push(top);
    out.text_offset.push(offset);
    offset += token.length;
  });
  return out;
}
