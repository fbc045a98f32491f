// The subset of vLLM's OpenAI-compatible protocol that `serve` speaks, with
// vLLM's field names and defaults (vllm/entrypoints/openai/completion/protocol.py:
// CompletionRequest / CompletionResponse / CompletionLogProbs; engine/protocol.py:
// ErrorResponse {error: {message, type, param, code}}, ModelList / ModelCard;
// pooling classify: ClassificationResponse). Requests are validated with zod:
// an unknown field is a 400 here (vLLM only logs a warning for one), and a
// vLLM field `serve` does not implement is a 400 unless it has its default.

import { z } from 'zod';

const tokenId = z.number().int().min(0);
const INT64 = 2 ** 63;

/** Limits that bound one request's work (vLLM's --max-logprobs default is 20). */
export const SERVE_LIMITS = {
  maxN: 64,
  maxTokens: 4096,
  maxPrompts: 256,
  maxLogprobs: 20,
  maxBodyBytes: 8 * 1024 * 1024,
} as const;

/** Fields vLLM accepts that `serve` does not implement: allowed only at vLLM's default. */
const unsupportedAtDefault = {
  echo: z.literal(false).nullable().optional(),
  stream: z.literal(false).nullable().optional(),
  stream_options: z.null().optional(),
  suffix: z.null().optional(),
  frequency_penalty: z.literal(0).nullable().optional(),
  presence_penalty: z.literal(0).nullable().optional(),
  repetition_penalty: z.literal(1).nullable().optional(),
  min_p: z.literal(0).nullable().optional(),
  use_beam_search: z.literal(false).optional(),
  min_tokens: z.literal(0).optional(),
  prompt_logprobs: z.null().optional(),
  stop: z
    .union([z.null(), z.array(z.string()).length(0)])
    .optional()
    .describe('stop strings are not supported; use stop_token_ids'),
};

export const CompletionRequestSchema = z
  .object({
    model: z.string().nullable().optional(),
    prompt: z.union([
      z.array(tokenId).min(1),
      z.array(z.array(tokenId).min(1)).min(1).max(SERVE_LIMITS.maxPrompts),
      z.string().min(1),
      z.array(z.string().min(1)).min(1).max(SERVE_LIMITS.maxPrompts),
    ]),
    logit_bias: z.record(z.string(), z.number()).nullable().optional(),
    logprobs: z.number().int().nullable().optional(),
    max_tokens: z.number().int().nullable().optional(),
    n: z.number().int().default(1),
    seed: z
      .number()
      .int()
      .min(-INT64)
      .max(INT64 - 1)
      .nullable()
      .optional(),
    temperature: z.number().nullable().optional(),
    top_p: z.number().nullable().optional(),
    top_k: z.number().int().nullable().optional(),
    user: z.string().nullable().optional(),
    stop_token_ids: z.array(tokenId).nullable().optional(),
    include_stop_str_in_output: z.boolean().default(false),
    ignore_eos: z.boolean().default(false),
    skip_special_tokens: z.boolean().default(true),
    spaces_between_special_tokens: z.boolean().default(true),
    add_special_tokens: z.boolean().default(true),
    return_tokens_as_token_ids: z.boolean().nullable().optional(),
    return_token_ids: z.boolean().nullable().optional(),
    request_id: z.string().optional(),
    ...unsupportedAtDefault,
  })
  .strict();

export type CompletionRequest = z.output<typeof CompletionRequestSchema>;

/** CompletionLogProbs. */
export interface CompletionLogProbs {
  text_offset: number[];
  token_logprobs: (number | null)[];
  tokens: string[];
  top_logprobs: (Record<string, number> | null)[];
}

/** CompletionResponseChoice (fields in vLLM's order). */
export interface CompletionChoice {
  index: number;
  text: string;
  logprobs: CompletionLogProbs | null;
  finish_reason: 'stop' | 'length' | null;
  stop_reason: number | string | null;
  token_ids: number[] | null;
  prompt_logprobs: null;
  prompt_token_ids: number[] | null;
}

export interface UsageInfo {
  prompt_tokens: number;
  total_tokens: number;
  completion_tokens: number;
  prompt_tokens_details: null;
}

export interface CompletionResponse {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: CompletionChoice[];
  service_tier: null;
  system_fingerprint: null;
  usage: UsageInfo;
  kv_transfer_params: null;
}

/** ClassificationCompletionRequest (POST /classify). */
export const ClassificationRequestSchema = z
  .object({
    model: z.string().nullable().optional(),
    input: z.union([
      z.array(tokenId).min(1),
      z.array(z.array(tokenId).min(1)).min(1).max(4096),
      z.string().min(1),
      z.array(z.string().min(1)).min(1).max(4096),
    ]),
    use_activation: z.boolean().nullable().optional(),
    add_special_tokens: z.boolean().default(true),
    user: z.string().nullable().optional(),
    request_id: z.string().optional(),
    truncate_prompt_tokens: z.null().optional(),
    priority: z.literal(0).optional(),
  })
  .strict();

export type ClassificationRequest = z.output<typeof ClassificationRequestSchema>;

/** LoadLoRAAdapterRequest / UnloadLoRAAdapterRequest (vllm/entrypoints/serve/lora/protocol.py). */
export const LoadLoRAAdapterRequestSchema = z
  .object({
    lora_name: z.string(),
    lora_path: z.string(),
    load_inplace: z.boolean().default(false),
  })
  .strict();

export const UnloadLoRAAdapterRequestSchema = z
  .object({
    lora_name: z.string(),
    lora_int_id: z.number().int().nullable().optional(),
  })
  .strict();

/** ErrorResponse with ErrorInfo {message, type, param, code} (code = the HTTP status). */
export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: number };
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = 'BadRequestError',
    readonly param: string | null = null,
  ) {
    super(message);
  }

  body(): ErrorBody {
    return {
      error: { message: this.message, type: this.type, param: this.param, code: this.status },
    };
  }
}

/** A zod failure as vLLM's 400: the first issue's path is the param. */
export function validationError(error: z.ZodError): HttpError {
  const issue = error.issues[0];
  const param = issue && issue.path.length > 0 ? issue.path.join('.') : null;
  const message = error.issues
    .map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`)
    .join('; ');
  return new HttpError(400, message, 'BadRequestError', param);
}
