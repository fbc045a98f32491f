import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ChatMessage, Tokenizer } from '../src/index.js';
import { expectRemaxError } from './expectRemaxError.js';
import { type ChatCase, FIXTURES, readJsonl } from './fixtures.js';

// Real templates (tokenizer_config.json `chat_template`) and what Python Jinja2,
// set up as transformers sets it up, renders from them (render_reference.py).
const TEMPLATES = `${FIXTURES}chat-templates/`;
const jinja = (name: string) => ({
  jinja: readFileSync(`${TEMPLATES}${name}.jinja`, 'utf8'),
  file: `${name}.jinja`,
});
interface ReferenceCase {
  template: string;
  messages: ChatMessage[];
  add_generation_prompt: boolean;
  text: string;
}
const reference = JSON.parse(readFileSync(`${TEMPLATES}reference.json`, 'utf8')) as {
  cases: ReferenceCase[];
};

/** A model directory: the Mistral tokenizer.model plus a tokenizer_config.json. */
function modelDir(config: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'remax-chat-'));
  copyFileSync(`${FIXTURES}mistral-v1.model`, join(dir, 'tokenizer.model'));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  return dir;
}

let mistral: Tokenizer;
beforeAll(async () => {
  mistral = await Tokenizer.fromFile(`${FIXTURES}mistral-v1.model`);
});

describe('Jinja chat templates', () => {
  it("Mistral-7B-Instruct-v0.2's template gives mistral-common's ids on every chat case", async () => {
    const dir = modelDir({ chat_template: jinja('mistral-7b-instruct-v0.2').jinja });
    const tok = await Tokenizer.fromDir(dir);
    expect(tok.chatTemplate).toBe(jinja('mistral-7b-instruct-v0.2').jinja);
    const cases = readJsonl<ChatCase>('mistral-v1-chat.jsonl');
    expect(cases.length).toBeGreaterThan(3);
    for (const c of cases) expect(tok.encodeChat(c.messages, 'auto')).toEqual(c.ids);
    // a leading system message: the template and mistral-common both prepend it
    const withSystem: ChatMessage[] = [
      { role: 'system', content: 'Answer briefly.' },
      { role: 'user', content: 'What is ReMax?' },
      { role: 'assistant', content: 'An RLHF method.' },
      { role: 'user', content: 'Why greedy?' },
    ];
    expect(tok.encodeChat(withSystem, 'auto')).toEqual(tok.encodeChat(withSystem, 'mistral-v1'));
  });

  it('renders what Python Jinja2 renders (Llama-2-chat, Zephyr, Mistral)', () => {
    expect(reference.cases.length).toBe(24);
    for (const c of reference.cases) {
      const text = mistral.renderChat(c.messages, jinja(c.template), {
        addGenerationPrompt: c.add_generation_prompt,
      });
      expect(text, `${c.template} ${JSON.stringify(c.messages)}`).toBe(c.text);
    }
  });

  it("keeps control-token text typed in messages plain, the template's own become ids", () => {
    const injection = reference.cases.filter(
      (c) => c.messages[0]!.content.startsWith('</s>') && !c.add_generation_prompt,
    );
    expect(injection.map((c) => c.template).sort()).toEqual([
      'llama-2-chat',
      'mistral-7b-instruct-v0.2',
      'zephyr-7b-beta',
    ]);
    // control ids in order, exactly those the template writes around 3 messages
    const expected: Record<string, number[]> = {
      'llama-2-chat': [1, 2, 1], // <s>[INST]..[/INST] ..</s><s>[INST]..[/INST]
      'zephyr-7b-beta': [2, 2, 2], // eos after every message
      'mistral-7b-instruct-v0.2': [1, 2], // <s> first, </s> after the assistant
    };
    for (const c of injection) {
      const ids = mistral.encodeChat(c.messages, jinja(c.template));
      expect(
        ids.filter((id) => mistral.isControl(id)),
        c.template,
      ).toEqual(expected[c.template]);
      // the typed "</s>", "<s>", "<unk>" are there as text: the render round-trips
      // (decode drops the space after BOS, as SentencePiece does with the dummy prefix)
      expect(mistral.decode(ids, { skipSpecialTokens: false })).toBe(
        c.text.replace(/^<s> /, '<s>'),
      );
      expect(ids).not.toContain(mistral.unkId);
    }
  });

  it('encodes the text between control tokens as one piece, the dummy prefix only at the start', () => {
    const zephyr = jinja('zephyr-7b-beta');
    const messages: ChatMessage[] = [{ role: 'user', content: 'Hi there' }];
    const ids = mistral.encodeChat(messages, zephyr, { addGenerationPrompt: true });
    const eos = ids.indexOf(mistral.eosId);
    expect(ids.slice(0, eos)).toEqual(mistral.encode('<|user|>\nHi there'));
    const rest: number[] = [];
    mistral.encodeInto('\n<|assistant|>\n', rest, false);
    expect(ids.slice(eos + 1)).toEqual(rest);
    expect(mistral.idToPiece(rest[0]!)).toBe('<0x0A>'); // no '▁' before the newline
  });

  it('reads a named template list and refuses what it cannot render', async () => {
    const named = await Tokenizer.fromDir(
      modelDir({
        chat_template: [
          { name: 'tool_use', template: 'tools' },
          { name: 'default', template: jinja('llama-2-chat').jinja },
        ],
      }),
    );
    expect(named.renderChat([{ role: 'user', content: ' x ' }])).toBe('<s>[INST] x [/INST]');

    const none = await Tokenizer.fromDir(modelDir({ bos_token: '<s>' }));
    expect(none.chatTemplate).toBeNull();
    expectRemaxError(
      () => none.encodeChat([{ role: 'user', content: 'x' }], 'auto'),
      'E_CONFIG',
      /no chat template/,
    );
    await expect(
      Tokenizer.fromDir(modelDir({ chat_template: [{ name: 'tool_use', template: 'x' }] })),
    ).rejects.toThrow(/default chat template/);
    await expect(Tokenizer.fromDir(modelDir({ chat_template: 42 }))).rejects.toThrow(
      /chat_template/,
    );

    // the template's raise_exception: a typed input error with its message
    expectRemaxError(
      () =>
        mistral.encodeChat(
          [
            { role: 'user', content: 'a' },
            { role: 'user', content: 'b' },
          ],
          jinja('mistral-7b-instruct-v0.2'),
        ),
      'E_INPUT',
      /roles must alternate/,
    );
    expectRemaxError(
      () => mistral.encodeChat([{ role: 'user', content: 'x' }], { jinja: '{% for %}' }),
      'E_FORMAT',
      /not valid Jinja/,
    );
    expectRemaxError(
      () => mistral.encodeChat([{ role: 'user', content: 'x' }], 'chatml' as never),
      'E_UNSUPPORTED',
    );
  });
});
