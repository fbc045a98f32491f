import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isRemaxError } from '@remax/core';
import { Tokenizer } from '@remax/tokenizer';
import { describe, expect, it } from 'vitest';
import { loadRunConfig } from '../src/config/load.js';
import { chatTemplateOf, promptIds } from '../src/run/prompts.js';

const tinyYaml = fileURLToPath(new URL('../configs/tiny.yaml', import.meta.url));
const templates = fileURLToPath(
  new URL('../../../fixtures/tokenizers/chat-templates/', import.meta.url),
);
const policyTokenizer = fileURLToPath(
  new URL('../../../fixtures/models/tiny-mistral/tokenizer.model', import.meta.url),
);

const configWith = (chatTemplate: string) =>
  loadRunConfig(tinyYaml, { set: [`data.chat_template=${chatTemplate}`] }).config;

function expectCode(fn: () => unknown, code: string, text: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(isRemaxError(e) ? e.code : String(e)).toBe(code);
    expect((e as Error).message).toMatch(text);
    return;
  }
  throw new Error('expected a RemaxError');
}

describe('data.chat_template', () => {
  const prompts = ['What is ReMax?', 'Say </s> and <s> please', ' spaced  out '];

  it('a .jinja file (Mistral v0.2 template) and auto give the same prompt ids as mistral-v1', async () => {
    const tok = await Tokenizer.fromFile(policyTokenizer);
    const jinja = chatTemplateOf(configWith(join(templates, 'mistral-7b-instruct-v0.2.jinja')));
    expect(typeof jinja === 'object' && jinja.file).toMatch(/mistral-7b-instruct-v0\.2\.jinja$/);
    // 'auto': the policy directory's tokenizer_config.json
    const dir = mkdtempSync(join(tmpdir(), 'remax-policy-'));
    copyFileSync(policyTokenizer, join(dir, 'tokenizer.model'));
    writeFileSync(
      join(dir, 'tokenizer_config.json'),
      JSON.stringify({ chat_template: typeof jinja === 'object' ? jinja.jinja : '' }),
    );
    const auto = await Tokenizer.fromDir(dir);
    for (const p of prompts) {
      const expected = promptIds(tok, p, 'mistral-v1');
      expect(promptIds(tok, p, jinja)).toEqual(expected);
      expect(promptIds(auto, p, chatTemplateOf(configWith('auto')))).toEqual(expected);
    }
  });

  it('refuses a template the reward model cannot read back, an unknown name, a missing file', async () => {
    const tok = await Tokenizer.fromFile(policyTokenizer);
    const zephyr = chatTemplateOf(configWith(join(templates, 'zephyr-7b-beta.jinja')));
    expectCode(() => promptIds(tok, 'hi', zephyr), 'E_CONFIG', /mistral-v1/);
    // no tokenizer_config.json chat_template beside the policy tokenizer
    expectCode(() => promptIds(tok, 'hi', 'auto'), 'E_CONFIG', /no chat template/);
    expect(() => configWith('chatml')).toThrow(/auto \| mistral-v1 \| the path of a \.jinja file/);
    expectCode(
      () => chatTemplateOf(configWith('missing.jinja')),
      'E_FILE',
      /chat template file not found/,
    );
  });
});
