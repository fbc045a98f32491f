import { parseWith } from '@remax/core';
import { z } from 'zod';

/** What `onToken` receives after every decoding step. */
export interface TokenEvent {
  /** 0-based index of the new token (the response column). */
  readonly step: number;
  /** The token chosen for every row at this step (the pad id for rows already finished). */
  readonly tokens: readonly number[];
  /** Whether row i produced tokens[i] at this step (false: it had finished before). */
  readonly active: readonly boolean[];
  /** Whether row i is finished after this step (EOS now or earlier, or the last step). */
  readonly finished: readonly boolean[];
}

const tokenId = z.number().int().min(0);

const eosTokenIds = z
  .union([tokenId, z.array(tokenId)])
  .transform((v) => (Array.isArray(v) ? v : [v]));

/** Options of `generate`, validated with zod (defaults in brackets). */
export const GenerateOptionsSchema = z
  .object({
    maxNewTokens: z.number().int().min(1).describe('tokens to generate at most per row'),
    temperature: z
      .number()
      .positive()
      .refine(Number.isFinite, 'must be finite')
      .default(1)
      .describe('logits are divided by it first [1]'),
    topK: z.number().int().min(0).default(0).describe('keep the k most likely tokens; 0 = off [0]'),
    topP: z
      .number()
      .gt(0)
      .max(1)
      .default(1)
      .describe('keep the smallest set whose probability reaches topP; 1 = off [1]'),
    greedy: z
      .boolean()
      .default(false)
      .describe('every row greedy (argmax, lowest id on ties) [false]'),
    pairs: z
      .boolean()
      .default(false)
      .describe('2B rows in one pass: [0, B) sampled, [B, 2B) greedy, one shared prefill [false]'),
    eosTokenId: eosTokenIds.describe('end-of-sequence id, or several ([] = never stop early)'),
    padTokenId: tokenId.optional().describe('id written after a row finished [first EOS id]'),
    seed: z.number().int().refine(Number.isSafeInteger, 'must be a safe integer').optional(),
    promptIndices: z
      .array(z.number().int().min(0).refine(Number.isSafeInteger, 'must be a safe integer'))
      .optional()
      .describe('key of each prompt row for its RNG stream [0..B-1]'),
    returnLogprobs: z
      .union([z.boolean(), z.literal('sampled')])
      .default(false)
      .describe(
        "each token's log-probability; 'sampled': sampled rows only (greedy rows 0, no exp pass) [false]",
      ),
    onToken: z
      .custom<(event: TokenEvent) => void | Promise<void>>((v) => typeof v === 'function', {
        message: 'must be a function (event) => void',
      })
      .optional(),
  })
  .strict();

/**
 * Which row blocks carry log-probabilities for a `returnLogprobs` setting:
 * `true` both, `'sampled'` the sampled rows only, `false` / unset none. The
 * in-process and the remote rollout generators follow the same rule.
 */
export function logprobRows(returnLogprobs: boolean | 'sampled' | undefined): {
  sampled: boolean;
  greedy: boolean;
} {
  return {
    sampled: returnLogprobs === true || returnLogprobs === 'sampled',
    greedy: returnLogprobs === true,
  };
}

/** What callers pass to `generate` (defaults applied later). */
export type GenerateOptions = z.input<typeof GenerateOptionsSchema>;
/** Validated options with defaults. */
export type ResolvedGenerateOptions = z.output<typeof GenerateOptionsSchema>;

export function resolveGenerateOptions(options: unknown): ResolvedGenerateOptions {
  return parseWith(GenerateOptionsSchema, options, { what: 'generate options', code: 'E_INPUT' });
}
