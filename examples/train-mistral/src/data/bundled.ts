import { createHash } from 'node:crypto';
import { type LmsysModeration, type LmsysRow, MODERATION_CATEGORIES } from './lmsysSchema.js';

/** A moderation entry with nothing flagged (what lmsys stores for a benign message). */
export function cleanModeration(): LmsysModeration {
  return {
    categories: Object.fromEntries(MODERATION_CATEGORIES.map((c) => [c, false])),
    category_scores: Object.fromEntries(MODERATION_CATEGORIES.map((c) => [c, 0])),
    flagged: false,
  };
}

/** A stable 32-hex-digit id from the text, shaped like lmsys' conversation ids. */
export function conversationIdOf(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

/**
 * lmsys-chat-1m rows holding one user turn each: how the prompts written for
 * this project are stored, so the demo runs the same loader as the 7B run.
 */
export function singleTurnRows(
  prompts: readonly string[],
  options: { model: string; language?: string },
): LmsysRow[] {
  return prompts.map((content) => ({
    conversation_id: conversationIdOf(content),
    model: options.model,
    conversation: [{ content, role: 'user' }],
    turn: 1,
    language: options.language ?? 'English',
    openai_moderation: [cleanModeration()],
    redacted: false,
  }));
}
