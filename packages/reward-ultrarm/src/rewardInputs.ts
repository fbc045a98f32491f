import { RemaxError } from '@remax/core';
import { type Conversation, parseConversation } from './conversation.js';
import type { TextTokenizer } from './textTokenizer.js';
import { ultraRMPromptText, ultraRMText } from './ultraTemplate.js';

/** Token rows for the reward model, built from conversations. */
export interface RewardInputs {
  /** One row of reward-model ids per conversation (BOS first, no padding). */
  inputIds: number[][];
  /** The UltraRM texts the rows were encoded from. */
  texts: string[];
  /** Indices of the rows whose prompt was cut from the left to fit maxLength. */
  truncatedRows: number[];
}

/**
 * Builds the UltraRM texts, encodes them with BOS, and truncates rows longer
 * than `maxLength` from the LEFT of the prompt: the row becomes
 * [BOS] + the last prompt tokens that fit + every completion token. The
 * completion is never cut; a completion that alone does not fit is an error.
 *
 * The whole text is encoded at once (the ids are exactly what UltraRM's own
 * tokenizer call gives); the prompt/completion boundary is the longest common
 * prefix of that encoding and the encoding of the prompt alone, so a token that
 * straddles the boundary counts as completion and is kept.
 */
export function buildRewardInputs(
  conversations: readonly Conversation[],
  tokenizer: TextTokenizer,
  options: { maxLength: number },
): RewardInputs {
  const { maxLength } = options;
  if (!Number.isInteger(maxLength) || maxLength < 2) {
    throw new RemaxError('E_CONFIG', 'reward maxLength must be an integer >= 2', {
      field: 'maxLength',
      value: maxLength,
    });
  }
  const out: RewardInputs = { inputIds: [], texts: [], truncatedRows: [] };
  conversations.forEach((raw, row) => {
    const conversation = parseConversation(raw, row);
    const text = ultraRMText(conversation);
    const full = tokenizer.encode(text, { addBos: true });
    out.texts.push(text);
    if (full.length <= maxLength) {
      out.inputIds.push(full);
      return;
    }
    const promptIds = tokenizer.encode(ultraRMPromptText(conversation.messages), { addBos: true });
    const boundary = commonPrefixLength(full, promptIds);
    const head = full[0] === tokenizer.bosId ? 1 : 0;
    const completionLength = full.length - boundary;
    const keep = maxLength - head - completionLength;
    if (keep < 0) {
      throw new RemaxError(
        'E_INPUT',
        'the completion alone is longer than the reward model allows',
        {
          field: `conversations[${row}].completion`,
          value: `${completionLength} tokens (+${head} BOS)`,
          expected: `at most ${maxLength - head} completion tokens (raise maxLength or cap the response length)`,
        },
      );
    }
    out.inputIds.push([...full.slice(0, head), ...full.slice(boundary - keep)]);
    out.truncatedRows.push(row);
  });
  return out;
}

function commonPrefixLength(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}
