import type { ChatMessage, Conversation } from './conversation.js';

/**
 * The UltraRM input format from the UltraRM-13b model card (and the
 * tiny-ultrarm golden texts): one human turn and the assistant's answer.
 */
export const ULTRARM_TEMPLATE = 'Human: {instruction}\nAssistant: {completion}';

const HUMAN = 'Human: ';
const ASSISTANT = 'Assistant: ';
/** Joins a system message to the first user instruction (how mistral-style prompts fold it in). */
const SYSTEM_JOIN = '\n\n';

/**
 * The UltraRM text before the completion, ending with "Assistant:" (no space:
 * the space belongs to the completion's first token, as SentencePiece splits it).
 *
 * Multi-turn join: every earlier turn is written in the same template and the
 * turns are joined with "\n", i.e.
 * `Human: u1\nAssistant: a1\nHuman: u2\nAssistant: {completion}`.
 * A leading system message is prepended to the first user instruction, separated
 * by a blank line ("\n\n"). Contents are used verbatim (not stripped).
 */
export function ultraRMPromptText(messages: readonly ChatMessage[]): string {
  const hasSystem = messages[0]?.role === 'system';
  const system = hasSystem ? (messages[0]?.content ?? '') : undefined;
  const turns = hasSystem ? messages.slice(1) : messages;
  let out = '';
  turns.forEach((m, i) => {
    if (m.role === 'user') {
      const instruction =
        i === 0 && system !== undefined ? system + SYSTEM_JOIN + m.content : m.content;
      out += (i === 0 ? '' : '\n') + HUMAN + instruction + '\n';
    } else {
      out += ASSISTANT + m.content;
    }
  });
  return out + ASSISTANT.trimEnd();
}

/** The full UltraRM text: prompt, then " " + completion. */
export function ultraRMText(conversation: Conversation): string {
  return `${ultraRMPromptText(conversation.messages)} ${conversation.completion}`;
}
