// serve --enable-lora: /v1/load_lora_adapter attaches a PEFT adapter to a copy
// of the base; requests naming the adapter decode with it, as in-process does.

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAdapter, loadCausalLM } from '@remax/model-mistral';
import { generate } from '@remax/rollout';
import { describe, expect, it } from 'vitest';
import { serveModels } from '../src/serve/serve.js';

const fixtures = fileURLToPath(new URL('../../../fixtures/', import.meta.url));
const BASE = join(fixtures, 'models/tiny-mistral');
const ADAPTER = join(fixtures, 'lora/tiny-mistral-lora');
const PROMPT = [1, 733, 16289, 28793, 22557, 733, 28748, 16289, 28793];

describe('serve --enable-lora', () => {
  it('load, greedy through the adapter = in-process with loadAdapter, unload', async () => {
    const server = await serveModels({
      model: BASE,
      servedModelName: 'base',
      host: '127.0.0.1',
      port: 0,
      enableLora: true,
    });
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, text: await res.text() };
    };
    const ask = (model: string) =>
      post('/v1/completions', {
        model,
        prompt: PROMPT,
        temperature: 0,
        max_tokens: 6,
        ignore_eos: true,
        return_token_ids: true,
      });
    try {
      const loaded = await post('/v1/load_lora_adapter', { lora_name: 'a', lora_path: ADAPTER });
      expect(loaded).toEqual({
        status: 200,
        text: "Success: LoRA adapter 'a' added successfully.",
      });
      const withAdapter = JSON.parse((await ask('a')).text) as {
        choices: { token_ids: number[] }[];
      };
      const base = JSON.parse((await ask('base')).text) as { choices: { token_ids: number[] }[] };
      const local = await loadCausalLM(BASE);
      try {
        await loadAdapter(local, ADAPTER);
        const r = await generate(
          local,
          { inputIds: [PROMPT], attentionMask: [PROMPT.map(() => 1)] },
          { maxNewTokens: 6, greedy: true, eosTokenId: [] },
        );
        expect(withAdapter.choices[0]?.token_ids).toEqual(r.responses[0]);
        r.dispose();
      } finally {
        local.dispose();
      }
      expect(base.choices[0]?.token_ids).toHaveLength(6);
      const models = JSON.parse(await (await fetch(`${server.url}/v1/models`)).text()) as {
        data: { id: string; parent: string | null }[];
      };
      expect(models.data.map((m) => [m.id, m.parent])).toEqual([
        ['base', null],
        ['a', 'base'],
      ]);
      expect((await post('/v1/unload_lora_adapter', { lora_name: 'a' })).status).toBe(200);
      expect((await ask('a')).status).toBe(404);
    } finally {
      await server.close();
    }
  }, 300_000);
});
