import { parseWith } from '@remax/core';
import { z } from 'zod';

/** One chat message as the policy sees it (the mistral-v1 roles). */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/**
 * What the reward model judges: the policy's prompt messages (ending with a
 * user turn) and the completion it generated, as text.
 */
export interface Conversation {
  messages: ChatMessage[];
  completion: string;
}

const chatMessageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string(),
});

const conversationSchema = z
  .object({
    messages: z.array(chatMessageSchema).min(1, 'needs at least one user message'),
    completion: z.string(),
  })
  .superRefine((conv, ctx) => {
    // Same role rules as the mistral-v1 chat encoding: an optional leading system
    // message, then user/assistant alternating, starting and ending with user.
    const turns = conv.messages[0]?.role === 'system' ? conv.messages.slice(1) : conv.messages;
    const offset = conv.messages.length - turns.length;
    if (turns.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['messages'],
        message: 'needs at least one user message',
      });
      return;
    }
    turns.forEach((m, i) => {
      const want = i % 2 === 0 ? 'user' : 'assistant';
      if (m.role !== want) {
        ctx.addIssue({
          code: 'custom',
          path: ['messages', i + offset, 'role'],
          message: `expected "${want}" (roles alternate user/assistant after an optional system message)`,
        });
      }
    });
    if (turns.length % 2 === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['messages', conv.messages.length - 1, 'role'],
        message: 'the last message must be a user turn (the completion answers it)',
      });
    }
  });

/** Validates one conversation; the error names the row and every problem. */
export function parseConversation(data: unknown, row: number): Conversation {
  return parseWith(conversationSchema, data, { what: `conversation ${row}`, code: 'E_INPUT' });
}
