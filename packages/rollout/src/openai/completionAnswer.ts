// Reads a vLLM CompletionResponse strictly: every choice must be there once
// (index 0..n-1), carry its token ids (`return_token_ids`), one logprob per
// token, a finish reason that matches the tokens, and ids inside the
// vocabulary. Anything else is a typed E_ENGINE error; no row is dropped,
// padded or reordered silently.

import { malformedAnswer } from '@remax/core';
import { z } from 'zod';

const choiceSchema = z.looseObject({
  index: z.number().int().min(0),
  token_ids: z.array(z.number().int()).nullable().optional(),
  finish_reason: z.string().nullable().optional(),
  logprobs: z
    .looseObject({ token_logprobs: z.array(z.number().nullable()) })
    .nullable()
    .optional(),
});

const responseSchema = z.looseObject({
  object: z.literal('text_completion'),
  choices: z.array(choiceSchema),
});

/** One generated sequence read from an answer. */
export interface CompletionRow {
  /** Response ids, EOS included when the row stopped on it. */
  tokens: number[];
  /** The engine's logprob of each token. */
  logprobs: number[];
  finishReason: 'stop' | 'length';
}

export interface AnswerExpectation {
  n: number;
  maxTokens: number;
  eos: readonly number[];
  vocabSize?: number | undefined;
  /** The request, for error messages. */
  what: string;
}

export function readCompletion(json: unknown, expect: AnswerExpectation): CompletionRow[] {
  const fail = (message: string, field: string, value: unknown, expected: string) =>
    malformedAnswer(expect.what, message, field, value, expected);
  const parsed = responseSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw fail(
      issue?.message ?? 'not a CompletionResponse',
      issue?.path.join('.') || 'body',
      undefined,
      "a vLLM CompletionResponse ({object: 'text_completion', choices: [...]})",
    );
  }
  const choices = parsed.data.choices;
  if (choices.length !== expect.n) {
    throw fail(
      'wrong number of choices',
      'choices',
      choices.length,
      `${expect.n} (the request's n)`,
    );
  }
  const byIndex = new Array<CompletionRow | undefined>(expect.n);
  for (const c of choices) {
    const at = `choices[${c.index}]`;
    if (c.index >= expect.n || byIndex[c.index] !== undefined) {
      throw fail(
        'choice index out of range or repeated',
        `${at}.index`,
        c.index,
        `each of 0..${expect.n - 1} once`,
      );
    }
    const tokens = c.token_ids;
    if (!tokens) {
      throw fail(
        'no token ids',
        `${at}.token_ids`,
        tokens,
        'token ids (the engine must honour return_token_ids: true)',
      );
    }
    if (tokens.length === 0 || tokens.length > expect.maxTokens) {
      throw fail(
        'response length out of range',
        `${at}.token_ids`,
        tokens.length,
        `1..${expect.maxTokens} tokens`,
      );
    }
    const bad = tokens.findIndex(
      (id) => id < 0 || (expect.vocabSize !== undefined && id >= expect.vocabSize),
    );
    if (bad >= 0) {
      throw fail(
        'token id outside the vocabulary',
        `${at}.token_ids[${bad}]`,
        tokens[bad],
        `an id in [0, ${expect.vocabSize})`,
      );
    }
    const reason = c.finish_reason;
    if (reason !== 'stop' && reason !== 'length') {
      throw fail(
        'choice cut without a finish reason',
        `${at}.finish_reason`,
        reason,
        "'stop' or 'length'",
      );
    }
    const last = tokens[tokens.length - 1] as number;
    if (reason === 'stop' && !expect.eos.includes(last)) {
      throw fail(
        "finish_reason 'stop' but the last token is not a stop id",
        `${at}.token_ids`,
        last,
        `one of ${JSON.stringify(expect.eos)} (stop_token_ids)`,
      );
    }
    if (reason === 'length' && tokens.length !== expect.maxTokens) {
      throw fail(
        "finish_reason 'length' before max_tokens",
        `${at}.token_ids`,
        tokens.length,
        `${expect.maxTokens} tokens`,
      );
    }
    const lps = c.logprobs?.token_logprobs;
    if (
      !lps ||
      lps.length !== tokens.length ||
      lps.some((x) => x === null || !Number.isFinite(x))
    ) {
      throw fail(
        'logprobs missing or not one per token',
        `${at}.logprobs.token_logprobs`,
        lps?.length,
        `${tokens.length} finite logprobs (request logprobs: 0)`,
      );
    }
    byIndex[c.index] = { tokens, logprobs: lps as number[], finishReason: reason };
  }
  return byIndex as CompletionRow[];
}
