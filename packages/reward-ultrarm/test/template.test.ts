import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isRemaxError } from '@remax/core';
import { describe, expect, it } from 'vitest';
import { parseConversation } from '../src/conversation.js';
import { ULTRARM_TEMPLATE, ultraRMPromptText, ultraRMText } from '../src/ultraTemplate.js';

const golden = JSON.parse(
  readFileSync(
    fileURLToPath(new URL('../../../fixtures/models/tiny-ultrarm/golden.json', import.meta.url)),
    'utf8',
  ),
) as { template: string; texts: string[] };

/** Splits a golden text back into its instruction and completion (single turn). */
function splitGolden(text: string): { instruction: string; completion: string } {
  const m = /^Human: ([\s\S]*)\nAssistant: ([\s\S]*)$/.exec(text);
  if (!m) throw new Error(`golden text not in the template: ${text}`);
  return { instruction: m[1] ?? '', completion: m[2] ?? '' };
}

describe('UltraRM template', () => {
  it('is the template the golden file states', () => {
    expect(ULTRARM_TEMPLATE).toBe(golden.template);
  });

  it('reproduces every golden text from (instruction, completion)', () => {
    for (const text of golden.texts) {
      const { instruction, completion } = splitGolden(text);
      const built = ultraRMText({ messages: [{ role: 'user', content: instruction }], completion });
      expect(built).toBe(text);
      expect(built).toBe(
        golden.template.replace('{instruction}', instruction).replace('{completion}', completion),
      );
    }
  });

  it('joins multi-turn conversations with newlines in the same template', () => {
    const text = ultraRMText({
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello!' },
        { role: 'user', content: 'Recipe?' },
      ],
      completion: 'Sure.',
    });
    expect(text).toBe('Human: Hi\nAssistant: Hello!\nHuman: Recipe?\nAssistant: Sure.');
  });

  it('folds a system message into the first instruction with a blank line', () => {
    const prompt = ultraRMPromptText([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
    ]);
    expect(prompt).toBe('Human: Be brief.\n\nHi\nAssistant:');
  });

  it('keeps contents verbatim (no stripping)', () => {
    expect(ultraRMText({ messages: [{ role: 'user', content: ' a \n' }], completion: ' b ' })).toBe(
      'Human:  a \n\nAssistant:  b ',
    );
  });

  it('rejects role orders the policy format cannot produce, naming the field', () => {
    const bad = [
      { messages: [], completion: 'x' },
      { messages: [{ role: 'assistant', content: 'a' }], completion: 'x' },
      {
        messages: [
          { role: 'user', content: 'a' },
          { role: 'assistant', content: 'b' },
        ],
        completion: 'x',
      },
      { messages: [{ role: 'user', content: 'a' }] },
      { messages: [{ role: 'tool', content: 'a' }], completion: 'x' },
    ];
    bad.forEach((conversation, row) => {
      let caught: unknown;
      try {
        parseConversation(conversation, row);
      } catch (e) {
        caught = e;
      }
      expect(isRemaxError(caught, 'E_INPUT')).toBe(true);
      expect(String((caught as Error).message)).toContain(`conversation ${row}`);
    });
  });
});
